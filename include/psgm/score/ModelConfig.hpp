// What a score model is, independent of the backend that evaluates it:
// the FiLM-CNN architecture (spec sgm.md §4), the data normalisation (§1),
// the SDE (§2), the named weights, and the training record. This is the
// content of a psgm model file (docs/design.md, "Model file"); both score
// backends load and produce it.
#pragma once

#include <psgm/model/Whitening.hpp>
#include <psgm/sde/Sde.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace psgm {
namespace score {

/// The conditional 1-D conv ResNet with FiLM. Defaults are the reference.
struct FilmCnnConfig {
  int channels = 2;          ///< field channels: 0 = c, 1 = φ
  int num_points = 100;      ///< N, grid points (the network is convolutional; N is checked on load)
  int width = 64;            ///< hidden channels
  int num_blocks = 10;       ///< residual blocks, each with its own FiLM generator
  int kernel_size = 7;       ///< odd; replicate padding of (k-1)/2 on each side
  int num_frequencies = 16;  ///< time embedding: sin/cos(2π 2^k t), k = 0..num_frequencies-1
  int cond_dim = 3;          ///< conditions (l, U0, F_right), normalised to [0, 1]
  int film_hidden = 128;     ///< hidden width of each FiLM MLP
  int film_layers = 4;       ///< linear layers per FiLM MLP (SiLU between), last outputs 2*width

  int embedding_dim() const { return 2 * num_frequencies; }
  /// Length of z = [cond, time embedding], the input of the FiLM MLPs and the output affine.
  int z_dim() const { return cond_dim + embedding_dim(); }
  /// Throws InvalidArgument naming the offending field.
  void validate() const;
  bool operator==(FilmCnnConfig const& o) const;
  bool operator!=(FilmCnnConfig const& o) const { return !(*this == o); }
};

/// One named weight tensor: its canonical name (the PyTorch state_dict key of
/// the reference Python module, python/psgm/network.py) and its shape.
struct ParameterShape {
  std::string name;
  std::vector<std::int64_t> shape;
  std::int64_t size() const;
};

/// Every weight of the architecture, in the canonical order (the order of the
/// PyTorch state_dict). With the reference config the sizes sum to 1 116 626.
std::vector<ParameterShape> parameter_shapes(FilmCnnConfig const& config);
/// Total number of scalar weights.
std::int64_t parameter_count(FilmCnnConfig const& config);

/// Weights on the host, in canonical order, stored in double (exact for
/// float32 weights). `values[i]` holds `shapes[i].size()` numbers, row-major
/// in the PyTorch layout (Conv1d: [out, in, k]; Linear: [out, in]).
struct ParameterSet {
  std::vector<ParameterShape> shapes;
  std::vector<std::vector<double>> values;
  /// "float32" or "float64": the precision the weights were produced in; the
  /// model file stores them in it.
  std::string dtype = "float32";

  /// Zero weights for `config` (all shapes allocated).
  static ParameterSet zeros(FilmCnnConfig const& config);
  /// Index of a weight by name; throws InvalidArgument if absent.
  std::size_t index_of(std::string const& name) const;
  std::vector<double>& operator[](std::string const& name) { return values[index_of(name)]; }
  std::vector<double> const& operator[](std::string const& name) const { return values[index_of(name)]; }
  /// Throws InvalidArgument unless names, order and shapes equal those of `config`.
  void check_matches(FilmCnnConfig const& config) const;
};

/// The normalisation of spec sgm.md §1, saved with the model and applied on
/// load, never recomputed from other data.
struct Normalization {
  std::array<double, 2> field_mean{0.0, 0.0};  ///< global scalar mean of c and of φ
  std::array<double, 2> field_std{1.0, 1.0};   ///< global scalar std of c and of φ
  std::array<double, 3> cond_min{0.0, 0.0, 0.0};  ///< min over the training set (of log l for l)
  std::array<double, 3> cond_max{1.0, 1.0, 1.0};
  std::array<bool, 3> cond_log{true, false, false};  ///< log-transform before min-max (l)

  /// Physical condition (l, U0, F_right) -> [0, 1]^3 (values outside the
  /// training range map outside [0, 1]; see is_in_training_range).
  std::array<double, 3> normalise_condition(std::array<double, 3> const& physical) const;
  bool is_in_training_range(std::array<double, 3> const& physical, double tolerance = 1e-9) const;
  void validate() const;
};

/// What training recorded (empty for untrained or converted models).
struct TrainingRecord {
  std::string dataset_path;
  std::string dataset_sha256;
  std::string backend;         ///< "libtorch", "native", "pytorch" (converted)
  std::int64_t steps = 0;
  std::int64_t epochs = 0;
  std::uint64_t seed = 0;
  double best_validation_loss = 0.0;
  std::int64_t best_step = 0;
  bool ema_weights = false;    ///< the stored weights are the EMA weights
  std::vector<double> train_loss;       ///< one value per logged step
  std::vector<double> validation_loss;  ///< one value per validation
  std::vector<std::int64_t> validation_step;
  std::vector<double> learning_rate;    ///< per logged step
  std::string config_toml;     ///< the full training configuration used
};

/// What a model file holds a model of (docs/design.md §8).
enum class ModelKind {
  score_network,      ///< a score network (FiLM-CNN) with an SDE: sampled by the samplers
  gaussian_emulator,  ///< the conditional Gaussian emulator: no network, sampled exactly
};
char const* to_string(ModelKind kind);
ModelKind model_kind_from_string(std::string const& name);

/// Everything a model file holds.
///
/// A score network sees either the reference normalisation (spec sgm.md §1:
/// `normalization`, fields of `architecture.channels` x `num_points`) or,
/// when `whitening` is set, the whitened coordinates of model/Whitening.hpp:
/// then the network's input is (r, 1) (r = whitening->components latent
/// coordinates as channels on one point, so the FiLM-CNN with kernel_size 1
/// is a residual MLP), its conditions are whitening->features(), and the
/// physical fields are whitening->channels x whitening->num_points.
struct ModelDescription {
  ModelKind kind = ModelKind::score_network;
  FilmCnnConfig architecture;
  Normalization normalization;
  sde::SdeConfig sde;
  ParameterSet weights;
  TrainingRecord training;
  std::optional<model::Whitening> whitening;

  /// Channels and grid points of the physical fields the model generates.
  int field_channels() const { return whitening ? whitening->channels : architecture.channels; }
  int field_points() const { return whitening ? whitening->num_points : architecture.num_points; }
  /// Condition columns the model takes.
  int condition_columns() const { return whitening ? whitening->num_conditions() : 3; }
  /// What the condition columns are: the whitening's schema (from the
  /// training data), else the porous electrode's (l, U0, F_right).
  model::ConditionSchema condition_schema() const {
    return whitening ? whitening->schema : model::ConditionSchema::porous_electrode();
  }
  /// Names of the generated channels: the whitening's (from the training
  /// data); psgm's (c, phi) for the reference model and older files of two
  /// channels; "channel_k" otherwise.
  std::vector<std::string> field_channel_names() const;

  /// Architecture, normalisation, SDE, weight shapes and whitening consistent
  /// (for a Gaussian emulator: the whitening alone, with every coordinate).
  void validate() const;
};

}  // namespace score
}  // namespace psgm

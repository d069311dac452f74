// The FiLM-CNN score network's architecture (spec sgm.md §4) and its named
// weights, as data: what a model file stores of the network (docs/design.md,
// "Model file"). Both score backends build their network from it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace psgm {
namespace model {

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

}  // namespace model
}  // namespace psgm

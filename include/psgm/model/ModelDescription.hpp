// What a model is, independent of the backend that evaluates it: its kind,
// the FiLM-CNN architecture (spec sgm.md §4, FilmCnnConfig.hpp), the data
// normalisation (§1, Normalization.hpp) or whitening (Whitening.hpp), the SDE
// (§2, Sde.hpp), the named weights, and the training record
// (TrainingRecord.hpp). This is the content of a psgm model file
// (docs/design.md, "Model file"); both score backends and the Gaussian
// emulator load and produce it.
#pragma once

#include <psgm/model/ConditionSchema.hpp>
#include <psgm/model/FilmCnnConfig.hpp>
#include <psgm/model/Normalization.hpp>
#include <psgm/model/Sde.hpp>
#include <psgm/model/TrainingRecord.hpp>
#include <psgm/model/Whitening.hpp>

#include <optional>
#include <string>
#include <vector>

namespace psgm {
namespace model {

/// What a model file holds a model of (docs/design.md §10).
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
  SdeConfig sde;
  ParameterSet weights;
  TrainingRecord training;
  std::optional<Whitening> whitening;

  /// Channels and grid points of the physical fields the model generates.
  int field_channels() const { return whitening ? whitening->channels : architecture.channels; }
  int field_points() const { return whitening ? whitening->num_points : architecture.num_points; }
  /// Condition columns the model takes.
  int condition_columns() const { return whitening ? whitening->num_conditions() : 3; }
  /// What the condition columns are: the whitening's schema (from the
  /// training data), else the porous electrode's (l, U0, F_right).
  ConditionSchema condition_schema() const {
    return whitening ? whitening->schema : ConditionSchema::porous_electrode();
  }
  /// Names of the generated channels: the whitening's (from the training
  /// data); psgm's (c, phi) for the reference model and older files of two
  /// channels; "channel_k" otherwise.
  std::vector<std::string> field_channel_names() const;

  /// Architecture, normalisation, SDE, weight shapes and whitening consistent
  /// (for a Gaussian emulator: the whitening alone, with every coordinate).
  void validate() const;
};

}  // namespace model
}  // namespace psgm

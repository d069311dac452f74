// psgm model files (docs/design.md §5): one backend-neutral HDF5 file per
// model, readable with h5py (python/psgm/convert.py) and by every score
// backend. The HDF5 C API stays inside src/io/model_file.cpp.
//
//   psgm::io::write_model(path, description);            // atomic: temp file + rename
//   auto description = psgm::io::read_model(path);        // validated on load
//   psgm::io::check_model_matches_data(description, channels, num_points, data_path);
//
// Checkpoints for resuming training are model files with an extra
// /checkpoint group (raw weights, EMA weights, Adam moments, the position in
// the training schedule); see ModelCheckpoint.
#pragma once

#include <psgm/model/ModelDescription.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace psgm {
namespace io {

/// The format tag and version written into every model file.
inline constexpr char const* model_format_name = "psgm-model";
/// Version 2 added the model kind and /whitening (docs/design.md §5); files
/// without them are still written as version 1.
inline constexpr int model_format_version = 2;

/// Everything needed to resume training exactly where it stopped (the
/// /checkpoint group). Parameter sets use the canonical names and order of
/// psgm::model::parameter_shapes; an unused set (e.g. no EMA) has no shapes.
struct ModelCheckpoint {
  model::ParameterSet weights;      ///< raw weights (the model's /weights may hold the EMA copy)
  model::ParameterSet ema_weights;  ///< EMA of the weights; empty when EMA is off
  model::ParameterSet adam_m;       ///< Adam first moments
  model::ParameterSet adam_v;       ///< Adam second moments
  std::int64_t step = 0;            ///< optimiser steps done
  std::int64_t epoch = 0;           ///< epoch the next step belongs to (0-based)
  std::int64_t batch_in_epoch = 0;  ///< batches of that epoch already done (position in its shuffled order)
  std::int64_t steps_per_epoch = 0; ///< as planned when the run started (refused if the data changed)
  std::int64_t total_steps = 0;     ///< planned length of the run (the cosine schedule depends on it)
  std::uint64_t seed = 0;           ///< the run's seed; with `step` this is the whole RNG state (counter-based
                                    ///< generators, psgm/core/Random.hpp)
  std::int64_t best_step = -1;      ///< step of the best validation so far (-1: none yet)
  double best_validation_loss = 0;  ///< its loss
};

/// Extra per-step or per-validation curves stored under /training beside the
/// TrainingRecord's (e.g. "gradient_norm", "validation_loss_raw").
using TrainingSeries = std::map<std::string, std::vector<double>>;

/// Writes a model file atomically: the file is written under a temporary name
/// in the same directory and renamed over `path` only when complete, so a
/// crash never leaves a truncated model behind. Weights are stored in
/// `model.weights.dtype` ("float32" or "float64"). Throws IoError if the
/// directory is not writable, InvalidArgument if `model` is inconsistent.
void write_model(std::string const& path, model::ModelDescription const& model,
                 ModelCheckpoint const* checkpoint = nullptr, TrainingSeries const& series = {});

/// Reads and validates a model file. Throws IoError when the file is not an
/// HDF5 file (or truncated), not a psgm model, of an unknown format version,
/// misses a weight or holds one of the wrong shape (the message names the
/// weight, the shape found and the shape expected), and InvalidArgument (with
/// the file named) when the SDE or normalisation it stores is unusable, e.g. a
/// VP schedule that leaves more than 1e-2 of the signal at t = 1.
model::ModelDescription read_model(std::string const& path);

/// Whether the model file holds a /checkpoint group.
bool has_checkpoint(std::string const& path);

/// Reads the /checkpoint group, checking every set against `architecture`
/// and every field with check_checkpoint.
ModelCheckpoint read_checkpoint(std::string const& path, model::FilmCnnConfig const& architecture);

/// A checkpoint is untrusted input: throws IoError naming the field unless
/// 1 <= steps_per_epoch, 1 <= total_steps, 0 <= step <= total_steps,
/// 0 <= batch_in_epoch < steps_per_epoch, (epoch, batch_in_epoch) is the
/// position of `step`, -1 <= best_step <= step with a finite loss, and every
/// stored weight and Adam moment is finite (second moments >= 0).
void check_checkpoint(ModelCheckpoint const& checkpoint, std::string const& path);
/// Throws IoError naming the weight and index of the first value that is not
/// finite (or negative, when `non_negative`); `where` names the file and group.
void check_parameters_finite(model::ParameterSet const& set, std::string const& where, bool non_negative);

/// The extra curves under /training (every 1-D data set there that is not
/// part of TrainingRecord).
TrainingSeries read_training_series(std::string const& path);

/// Throws InvalidArgument unless a model made for `model.architecture` can be
/// applied to fields with `channels` channels on `num_points` points; `what`
/// names the data (a file or "the sampler's input") in the message.
void check_model_matches_data(model::ModelDescription const& model, int channels, int num_points,
                              std::string const& what);

}  // namespace io
}  // namespace psgm

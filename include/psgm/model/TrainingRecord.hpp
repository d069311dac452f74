// What training recorded in a model file (docs/training.md): the data set,
// the run's length and seed, and its loss curves.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace psgm {
namespace model {

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

}  // namespace model
}  // namespace psgm

// psgm::io::check_checkpoint and check_parameters_finite (psgm/io/ModelFile.hpp):
// a checkpoint or model file is untrusted input (docs/reliability.md). Every
// field of the schedule position is range- and consistency-checked and every
// stored number must be finite before a run resumes from it, so that a crafted
// or damaged file is refused with the field named instead of crashing
// (an out-of-range batch position read past the shuffled order) or being
// blamed on the options (NaN Adam moments reported as a diverging learning rate).
#include <psgm/core/Error.hpp>
#include <psgm/io/ModelFile.hpp>

#include <cmath>
#include <string>

namespace psgm::io {

void check_parameters_finite(model::ParameterSet const& set, std::string const& where, bool non_negative) {
  for (std::size_t k = 0; k < set.values.size(); ++k)
    for (std::size_t i = 0; i < set.values[k].size(); ++i) {
      double const v = set.values[k][i];
      std::string const name = k < set.shapes.size() ? set.shapes[k].name : std::to_string(k);
      require<IoError>(std::isfinite(v), where, " '", name, "' holds ", v, " at flat index ", i,
                       "; every stored value must be finite (the file is damaged or was not written by psgm)");
      require<IoError>(!non_negative || v >= 0, where, " '", name, "' holds ", v, " at flat index ", i,
                       "; Adam's second moments are >= 0");
    }
}

void check_checkpoint(ModelCheckpoint const& c, std::string const& path) {
  std::string const where = "checkpoint '" + path + "', /checkpoint";
  auto in_range = [&](char const* name, std::int64_t v, std::int64_t lo, std::int64_t hi, char const* rule) {
    require<IoError>(v >= lo && v <= hi, where, " ", name, " = ", v, " is out of range: expected ", rule);
  };
  constexpr std::int64_t big = std::int64_t{1} << 53;  // counts a double still holds exactly
  in_range("steps_per_epoch", c.steps_per_epoch, 1, big, "1 <= steps_per_epoch");
  in_range("total_steps", c.total_steps, 1, big, "1 <= total_steps");
  in_range("step", c.step, 0, c.total_steps, ("0 <= step <= total_steps = " + std::to_string(c.total_steps)).c_str());
  in_range("batch_in_epoch", c.batch_in_epoch, 0, c.steps_per_epoch - 1,
           ("0 <= batch_in_epoch < steps_per_epoch = " + std::to_string(c.steps_per_epoch)).c_str());
  in_range("epoch", c.epoch, 0, big, "epoch >= 0");
  require<IoError>(c.epoch == c.step / c.steps_per_epoch && c.batch_in_epoch == c.step % c.steps_per_epoch, where,
                   ": epoch = ", c.epoch, " and batch_in_epoch = ", c.batch_in_epoch, " disagree with step = ",
                   c.step, " at ", c.steps_per_epoch, " steps per epoch (expected epoch = ", c.step / c.steps_per_epoch,
                   ", batch_in_epoch = ", c.step % c.steps_per_epoch, ")");
  in_range("best_step", c.best_step, -1, c.step, ("-1 <= best_step <= step = " + std::to_string(c.step)).c_str());
  require<IoError>(c.best_step < 0 || std::isfinite(c.best_validation_loss), where, " best_validation_loss = ",
                   c.best_validation_loss, " is not finite");
  check_parameters_finite(c.weights, where + "/weights", false);
  check_parameters_finite(c.adam_m, where + "/adam_m", false);
  check_parameters_finite(c.adam_v, where + "/adam_v", true);
  if (!c.ema_weights.shapes.empty()) check_parameters_finite(c.ema_weights, where + "/ema", false);
}

}  // namespace psgm::io

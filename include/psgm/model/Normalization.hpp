// The reference normalisation (spec sgm.md §1): one global mean and std per
// field channel and min-max scaled conditions, saved with a model and applied
// on load.
#pragma once

#include <array>

namespace psgm {
namespace model {

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

}  // namespace model
}  // namespace psgm

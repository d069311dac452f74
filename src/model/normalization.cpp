#include <psgm/core/Error.hpp>
#include <psgm/model/Normalization.hpp>

#include <cmath>

namespace psgm {
namespace model {

std::array<double, 3> Normalization::normalise_condition(std::array<double, 3> const& physical) const {
  std::array<double, 3> out{};
  for (int k = 0; k < 3; ++k) {
    double v = physical[k];
    if (cond_log[k]) {
      require(v > 0, "condition ", k, " = ", v, " must be > 0 (it is log-transformed)");
      v = std::log(v);
    }
    double const span = cond_max[k] - cond_min[k];
    out[k] = span > 0 ? (v - cond_min[k]) / span : 0.5;
  }
  return out;
}

bool Normalization::is_in_training_range(std::array<double, 3> const& physical, double tolerance) const {
  auto const n = normalise_condition(physical);
  for (double v : n)
    if (v < -tolerance || v > 1 + tolerance) return false;
  return true;
}

void Normalization::validate() const {
  for (int f = 0; f < 2; ++f)
    require(std::isfinite(field_mean[f]) && std::isfinite(field_std[f]) && field_std[f] > 0,
            "normalisation: field ", f, " has mean ", field_mean[f], " and std ", field_std[f],
            " (need finite values and std > 0)");
  for (int k = 0; k < 3; ++k)
    require(std::isfinite(cond_min[k]) && std::isfinite(cond_max[k]) && cond_max[k] >= cond_min[k],
            "normalisation: condition ", k, " has range [", cond_min[k], ", ", cond_max[k], "]");
}

}  // namespace model
}  // namespace psgm

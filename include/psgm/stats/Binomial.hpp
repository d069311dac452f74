// Binomial proportions with confidence intervals (docs/metrics.md, definition
// M7): the quantity of interest P(min_x c < c_crit) is estimated by counting
// ensemble members, and reported with a Wilson score interval. Host-only.
#pragma once

#include <cstdint>

namespace psgm::stats {

/// A proportion k/n with its two-sided confidence interval.
struct Proportion {
  std::int64_t successes = 0;  ///< k
  std::int64_t trials = 0;     ///< n
  double estimate = 0.0;       ///< k / n
  double lower = 0.0;          ///< lower end of the interval
  double upper = 1.0;          ///< upper end of the interval
  double confidence = 0.95;    ///< nominal coverage of [lower, upper]
};

/// Φ⁻¹(p), the standard normal quantile, for p in (0, 1) to full double
/// precision (Acklam's rational approximation refined by one Halley step on
/// erfc). psgm::InvalidArgument for p outside (0, 1).
double normal_quantile(double p);

/// The Wilson score interval (Wilson 1927) for k successes in n trials:
///   centre = (p̂ + z²/(2n)) / (1 + z²/n),
///   half   = z / (1 + z²/n) · sqrt(p̂(1 - p̂)/n + z²/(4n²)),
/// with p̂ = k/n and z = Φ⁻¹((1 + confidence)/2). Unlike the Wald interval it
/// stays inside [0, 1] and does not collapse to a point at k = 0 or k = n,
/// which matters for tail probabilities estimated from a few hundred fields.
/// psgm::InvalidArgument for n < 1, k outside [0, n], confidence outside (0, 1).
Proportion wilson_interval(std::int64_t successes, std::int64_t trials, double confidence = 0.95);

}  // namespace psgm::stats

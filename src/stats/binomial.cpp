#include <psgm/core/Error.hpp>
#include <psgm/stats/Binomial.hpp>

#include <algorithm>
#include <cmath>

namespace psgm::stats {

double normal_quantile(double p) {
  require(p > 0.0 && p < 1.0, "normal_quantile: p = ", p, " must lie in (0, 1)");
  // Acklam's rational approximations (relative error < 1.15e-9) on the
  // central region and the two tails.
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                 1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01,  -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00};
  double constexpr p_low = 0.02425;
  double x;
  if (p < p_low) {
    double const q = std::sqrt(-2.0 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  } else if (p <= 1.0 - p_low) {
    double const q = p - 0.5;
    double const r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  } else {
    double const q = std::sqrt(-2.0 * std::log1p(-p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  }
  // One Halley step on f(x) = Φ(x) - p brings it to full double precision.
  double const e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  double const u = e * std::sqrt(2.0 * M_PI) * std::exp(0.5 * x * x);
  return x - u / (1.0 + 0.5 * x * u);
}

Proportion wilson_interval(std::int64_t successes, std::int64_t trials, double confidence) {
  require(trials >= 1, "wilson_interval: trials = ", trials, " must be >= 1");
  require(successes >= 0 && successes <= trials, "wilson_interval: successes = ", successes, " must lie in [0, ",
          trials, "]");
  require(confidence > 0.0 && confidence < 1.0, "wilson_interval: confidence = ", confidence,
          " must lie in (0, 1), e.g. 0.95");
  double const n = static_cast<double>(trials);
  double const p = successes / n;
  double const z = normal_quantile(0.5 * (1.0 + confidence));
  double const z2 = z * z;
  double const denom = 1.0 + z2 / n;
  double const centre = (p + z2 / (2.0 * n)) / denom;
  double const half = z / denom * std::sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n));
  Proportion out;
  out.successes = successes;
  out.trials = trials;
  out.estimate = p;
  // At k = 0 (k = n) the lower (upper) end is exactly 0 (1); clamp the round-off.
  out.lower = successes == 0 ? 0.0 : std::max(0.0, centre - half);
  out.upper = successes == trials ? 1.0 : std::min(1.0, centre + half);
  out.confidence = confidence;
  return out;
}

}  // namespace psgm::stats

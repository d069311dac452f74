// Host parts of psgm::stats::EnsembleComparator (docs/metrics.md).
#include <psgm/core/Error.hpp>
#include <psgm/stats/impl/Metrics_Impl.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace psgm::stats {

char const* to_string(Metric metric) {
  switch (metric) {
    case Metric::mean_error: return "mean_error";
    case Metric::spread_error: return "spread_error";
    case Metric::coverage: return "coverage";
    case Metric::wasserstein: return "wasserstein";
    case Metric::energy_distance: return "energy_distance";
    case Metric::energy_p_value: return "energy_p_value";
  }
  return "unknown";
}

void MetricsOptions::validate() const {
  require(band_level > 0.0 && band_level < 1.0, "metrics: band_level = ", band_level,
          " must lie in (0, 1), e.g. 0.95");
  require(permutations >= 0, "metrics: permutations = ", permutations, " must be >= 0 (0: no p-value)");
  require(evaluation_index < (std::uint64_t(1) << 30), "metrics: evaluation_index = ", evaluation_index,
          " must be < 2^30");
  require(pinned_tolerance >= 0.0 && pinned_tolerance < 1.0, "metrics: pinned_tolerance = ", pinned_tolerance,
          " must lie in [0, 1)");
  require(!c_crit || std::isfinite(*c_crit), "metrics: c_crit = ", c_crit.value_or(0.0), " must be finite");
  require(c_crit_quantile > 0.0 && c_crit_quantile < 1.0, "metrics: c_crit_quantile = ", c_crit_quantile,
          " must lie in (0, 1), e.g. 0.1");
  require(confidence > 0.0 && confidence < 1.0, "metrics: confidence = ", confidence,
          " must lie in (0, 1), e.g. 0.95");
}

double FieldMetrics::get(Metric metric) const {
  switch (metric) {
    case Metric::mean_error: return mean_error;
    case Metric::spread_error: return spread_error;
    case Metric::coverage: return coverage;
    case Metric::wasserstein: return wasserstein;
    case Metric::energy_distance: return energy_distance;
    case Metric::energy_p_value: return energy_p_value;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

double QuantityOfInterest::error() const { return std::fabs(model.estimate - pde.estimate); }
double QuantityOfInterest::floor_error() const { return std::fabs(floor.estimate - pde.estimate); }

int EnsembleComparison::num_pinned(int field) const {
  require(field >= 0 && field < num_channels(), "EnsembleComparison::num_pinned: field ", field,
          " does not exist (", num_channels(), " channels)");
  int count = 0;
  for (int i = 0; i < num_points; ++i) count += pinned[std::size_t(field) * num_points + i] ? 1 : 0;
  return count;
}

namespace Impl {

double host_quantile(std::vector<double> values, double p) {
  require(!values.empty(), "quantile of no values");
  std::sort(values.begin(), values.end());
  double const h = p * double(values.size() - 1);
  std::size_t const lo = std::min(values.size() - 1, std::size_t(std::floor(h)));
  std::size_t const hi = std::min(values.size() - 1, lo + 1);
  return values[lo] + (h - double(lo)) * (values[hi] - values[lo]);
}

void moment_errors(EnsembleProfile const& candidate, EnsembleProfile const& reference, int field, int num_points,
                   FieldMetrics& out) {
  double dm = 0.0, ds = 0.0, s = 0.0;
  for (int i = 0; i < num_points; ++i) {
    std::size_t const k = std::size_t(field) * num_points + i;
    double const a = candidate.mean[k] - reference.mean[k];
    double const b = candidate.stddev[k] - reference.stddev[k];
    dm += a * a;
    ds += b * b;
    s += reference.stddev[k] * reference.stddev[k];
  }
  out.mean_error = std::sqrt(dm / s);
  out.spread_error = std::sqrt(ds / s);
}

double free_average(std::vector<double> const& v, std::vector<std::uint8_t> const& pinned, int field,
                    int num_points) {
  double sum = 0.0;
  int count = 0;
  for (int i = 0; i < num_points; ++i) {
    std::size_t const k = std::size_t(field) * num_points + i;
    if (pinned[k]) continue;
    sum += v[k];
    ++count;
  }
  return sum / count;  // count > 0: pinned_points() throws otherwise
}

std::vector<std::uint8_t> pinned_points(EnsembleProfile const& pde, int num_channels, int num_points, double tolerance,
                                        std::vector<std::string> const& names) {
  std::vector<std::uint8_t> pinned(std::size_t(num_channels) * num_points, 0);
  for (int f = 0; f < num_channels; ++f) {
    double scale = 0.0;
    for (int i = 0; i < num_points; ++i) scale = std::max(scale, pde.stddev[std::size_t(f) * num_points + i]);
    require(scale > 0.0, "psgm::stats::compare: the PDE ensemble has zero spread in field ", names[f],
            " at every grid point; the metrics are measured in units of that spread");
    for (int i = 0; i < num_points; ++i) {
      std::size_t const k = std::size_t(f) * num_points + i;
      pinned[k] = pde.stddev[k] <= tolerance * scale ? 1 : 0;
    }
  }
  return pinned;
}

}  // namespace Impl
}  // namespace psgm::stats

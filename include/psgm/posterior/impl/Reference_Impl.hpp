// Kernels of psgm/posterior/Reference.hpp (docs/posterior.md §4). Included by
// src/posterior/reference_eti.cpp for the enabled execution spaces; include
// it yourself for another space.
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/core/Random.hpp>
#include <psgm/posterior/Reference.hpp>
#include <psgm/stats/Pointwise.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace psgm::posterior {

template <class ExecSpace>
ImportanceWeights<ExecSpace> importance_weights(ExecSpace const& space, stats::const_fields_view<ExecSpace> ensemble,
                                                ObservationOperator const& H) {
  using Mem = typename ExecSpace::memory_space;
  std::int64_t const R = static_cast<std::int64_t>(ensemble.extent(0));
  require(R > 0, "importance_weights: an empty ensemble");
  require(int(ensemble.extent(1)) == H.channels() && int(ensemble.extent(2)) == H.num_points(),
          "importance_weights: the ensemble's fields are (", ensemble.extent(1), ", ", ensemble.extent(2),
          ") but the observations are of (", H.channels(), ", ", H.num_points(), ") fields");
  int const m = H.size();
  // H's rows, y and 1/s on the device.
  Kokkos::View<std::int64_t* [2], Mem> index(Kokkos::view_alloc(space, "psgm::posterior::H_index"), m);
  Kokkos::View<double* [4], Mem> row(Kokkos::view_alloc(space, "psgm::posterior::H_rows"), m);  // w0, w1, y, 1/s
  auto h_index = Kokkos::create_mirror_view(Kokkos::HostSpace{}, index);
  auto h_row = Kokkos::create_mirror_view(Kokkos::HostSpace{}, row);
  for (int j = 0; j < m; ++j) {
    h_index(j, 0) = H.index(j, 0);
    h_index(j, 1) = H.index(j, 1);
    h_row(j, 0) = H.weight(j, 0);
    h_row(j, 1) = H.weight(j, 1);
    h_row(j, 2) = H.observations()[std::size_t(j)].value;
    h_row(j, 3) = 1.0 / H.observations()[std::size_t(j)].noise_std;
  }
  Kokkos::deep_copy(space, index, h_index);
  Kokkos::deep_copy(space, row, h_row);
  int const N = H.num_points();
  ImportanceWeights<ExecSpace> out;
  out.weights = stats::vector_view<ExecSpace>(Kokkos::view_alloc(space, "psgm::posterior::importance_weights"), R);
  auto const w = out.weights;
  Kokkos::RangePolicy<ExecSpace> const policy(space, 0, R);
  Kokkos::parallel_for(
      "psgm::posterior::log_likelihood", policy, KOKKOS_LAMBDA(std::int64_t i) {
        double s = 0;
        for (int j = 0; j < m; ++j) {
          std::int64_t const a = index(j, 0), b = index(j, 1);
          double const hx = row(j, 0) * ensemble(i, a / N, a % N) + row(j, 1) * ensemble(i, b / N, b % N);
          double const r = (row(j, 2) - hx) * row(j, 3);
          s += r * r;
        }
        w(i) = -0.5 * s;
      });
  double top = 0;
  Kokkos::parallel_reduce(
      "psgm::posterior::max_log_weight", policy,
      KOKKOS_LAMBDA(std::int64_t i, double& mx) { mx = w(i) > mx ? w(i) : mx; }, Kokkos::Max<double>(top));
  require<NumericalError>(std::isfinite(top), "importance_weights: the largest log-likelihood is ", top,
                          " (non-finite fields in the ensemble?)");
  double sum = 0;
  Kokkos::parallel_reduce(
      "psgm::posterior::exp_weights", policy,
      KOKKOS_LAMBDA(std::int64_t i, double& acc) {
        w(i) = math::exp(w(i) - top);
        acc += w(i);
      },
      sum);
  double sum2 = 0;
  Kokkos::parallel_reduce(
      "psgm::posterior::normalise_weights", policy,
      KOKKOS_LAMBDA(std::int64_t i, double& acc) {
        w(i) /= sum;
        acc += w(i) * w(i);
      },
      sum2);
  out.ess = 1.0 / sum2;
  out.max_log_weight = top;
  return out;
}

namespace Impl {

/// The weighted reference by column k = c·N + x: its values sorted
/// ascending with their weights' running sums, its weighted mean and spread.
/// Built once per reference; each ensemble judged then costs two binary
/// searches per column for its coverage.
template <class MemorySpace>
struct WeightedColumns {
  Kokkos::View<double**, MemorySpace> values;      ///< (C·N, R), sorted along R
  Kokkos::View<double**, MemorySpace> cumulative;  ///< (C·N, R), Σ of the weights up to and including j
  Kokkos::View<double* [2], MemorySpace> moments;  ///< (C·N): m_A, s_A
  int num_channels = 0, num_points = 0;
};

/// Restores the max-heap below `root` in row k of (v, w), heap [0, end), by v.
template <class View>
KOKKOS_INLINE_FUNCTION void sift_down_pairs(View const& v, View const& w, int k, std::int64_t root, std::int64_t end) {
  double const x = v(k, root), y = w(k, root);
  for (;;) {
    std::int64_t child = 2 * root + 1;
    if (child >= end) break;
    if (child + 1 < end && v(k, child) < v(k, child + 1)) ++child;
    if (!(x < v(k, child))) break;
    v(k, root) = v(k, child);
    w(k, root) = w(k, child);
    root = child;
  }
  v(k, root) = x;
  w(k, root) = y;
}

template <class ExecSpace>
WeightedColumns<typename ExecSpace::memory_space> weighted_columns(ExecSpace const& space,
                                                                   stats::const_fields_view<ExecSpace> reference,
                                                                   stats::const_vector_view<ExecSpace> weights) {
  using Mem = typename ExecSpace::memory_space;
  int const C = int(reference.extent(1)), N = int(reference.extent(2)), K = C * N;
  std::int64_t const R = static_cast<std::int64_t>(reference.extent(0));
  WeightedColumns<Mem> out;
  out.num_channels = C;
  out.num_points = N;
  out.values = Kokkos::View<double**, Mem>(Kokkos::view_alloc(space, "psgm::posterior::reference_columns"), K, R);
  out.cumulative = Kokkos::View<double**, Mem>(Kokkos::view_alloc(space, "psgm::posterior::reference_weights"), K, R);
  out.moments = Kokkos::View<double* [2], Mem>(Kokkos::view_alloc(space, "psgm::posterior::reference_moments"), K);
  auto const v = out.values, w = out.cumulative;
  auto const moments = out.moments;
  // One thread per column (docs/metrics.md §2's layout): the weighted mean
  // and spread (two passes, so c ≈ 1000 ± 5 loses no digits), then a
  // heapsort of (value, weight) pairs and the running sum of the weights.
  Kokkos::parallel_for(
      "psgm::posterior::weighted_columns", Kokkos::RangePolicy<ExecSpace>(space, 0, K), KOKKOS_LAMBDA(int k) {
        int const c = k / N, x = k % N;
        double mean = 0;
        for (std::int64_t i = 0; i < R; ++i) mean += weights(i) * reference(i, c, x);
        double var = 0;
        for (std::int64_t i = 0; i < R; ++i) {
          double const d = reference(i, c, x) - mean;
          var += weights(i) * d * d;
          v(k, i) = reference(i, c, x);
          w(k, i) = weights(i);
        }
        moments(k, 0) = mean;
        moments(k, 1) = math::sqrt(var);
        for (std::int64_t start = R / 2 - 1; start >= 0; --start) sift_down_pairs(v, w, k, start, R);
        for (std::int64_t end = R - 1; end > 0; --end) {
          double const tv = v(k, 0), tw = w(k, 0);
          v(k, 0) = v(k, end);
          w(k, 0) = w(k, end);
          v(k, end) = tv;
          w(k, end) = tw;
          sift_down_pairs(v, w, k, 0, end);
        }
        double acc = 0;
        for (std::int64_t j = 0; j < R; ++j) {
          acc += w(k, j);
          w(k, j) = acc;
        }
      });
  return out;
}

/// The three metrics of `samples` against the weighted reference `ref`.
/// Fences `space`.
template <class ExecSpace>
std::vector<PosteriorMetrics> metrics_against(ExecSpace const& space, stats::const_fields_view<ExecSpace> samples,
                                              WeightedColumns<typename ExecSpace::memory_space> const& ref,
                                              double band_level) {
  int const C = ref.num_channels, N = ref.num_points, K = C * N;
  std::int64_t const R = static_cast<std::int64_t>(ref.values.extent(1));
  require(samples.extent(0) >= 2, "posterior_metrics: ", samples.extent(0), " samples; at least 2 are needed");
  require(int(samples.extent(1)) == C && int(samples.extent(2)) == N, "posterior_metrics: samples of (",
          samples.extent(1), ", ", samples.extent(2), ") fields against a reference of (", C, ", ", N, ")");
  require(band_level > 0 && band_level < 1, "posterior_metrics: band_level = ", band_level, " must be in (0, 1)");
  // The samples' columns: mean, sample standard deviation, the band.
  stats::SortedColumns<typename ExecSpace::memory_space> cols;
  stats::sort_columns(space, samples, cols);
  stats::vector_view<ExecSpace> lo(Kokkos::view_alloc(space, "psgm::posterior::band_lower"), K);
  stats::vector_view<ExecSpace> hi(Kokkos::view_alloc(space, "psgm::posterior::band_upper"), K);
  stats::column_quantiles(space, cols, 0.5 * (1 - band_level), lo);
  stats::column_quantiles(space, cols, 0.5 * (1 + band_level), hi);
  // The reference's weight inside the band [lo, hi]: W(v <= hi) - W(v < lo).
  stats::vector_view<ExecSpace> inside(Kokkos::view_alloc(space, "psgm::posterior::band_weight"), K);
  auto const v = ref.values, cw = ref.cumulative;
  Kokkos::parallel_for(
      "psgm::posterior::band_weight", Kokkos::RangePolicy<ExecSpace>(space, 0, K), KOKKOS_LAMBDA(int k) {
        std::int64_t a = 0, b = R;  // first j with v >= lo
        while (a < b) {
          std::int64_t const mid = a + (b - a) / 2;
          if (v(k, mid) < lo(k))
            a = mid + 1;
          else
            b = mid;
        }
        std::int64_t const first = a;
        b = R;  // first j with v > hi
        while (a < b) {
          std::int64_t const mid = a + (b - a) / 2;
          if (v(k, mid) <= hi(k))
            a = mid + 1;
          else
            b = mid;
        }
        inside(k) = (a > 0 ? cw(k, a - 1) : 0.0) - (first > 0 ? cw(k, first - 1) : 0.0);
      });
  auto const h_ref = Kokkos::create_mirror_view(Kokkos::HostSpace{}, ref.moments);
  auto const h_inside = Kokkos::create_mirror_view(Kokkos::HostSpace{}, inside);
  auto const h_mean = Kokkos::create_mirror_view(Kokkos::HostSpace{}, cols.mean);
  auto const h_sd = Kokkos::create_mirror_view(Kokkos::HostSpace{}, cols.stddev);
  Kokkos::deep_copy(space, h_ref, ref.moments);
  Kokkos::deep_copy(space, h_inside, inside);
  Kokkos::deep_copy(space, h_mean, cols.mean);
  Kokkos::deep_copy(space, h_sd, cols.stddev);
  space.fence();  // the per-channel means below read the host copies
  // Per channel, over the points with spread (posterior_check.py's `free`).
  std::vector<PosteriorMetrics> out(static_cast<std::size_t>(C));
  for (int c = 0; c < C; ++c) {
    double scale = 1e-300;
    for (int x = 0; x < N; ++x) scale = std::max(scale, std::abs(h_ref(c * N + x, 0)));
    PosteriorMetrics& r = out[std::size_t(c)];
    for (int x = 0; x < N; ++x) {
      int const k = c * N + x;
      double const sA = h_ref(k, 1);
      if (!(sA > 1e-12 * scale)) continue;
      r.mean_error += std::abs(h_mean(k) - h_ref(k, 0)) / sA;
      r.spread_error += std::abs(h_sd(k) - sA) / sA;
      r.coverage += h_inside(k);
      ++r.points;
    }
    require<NumericalError>(r.points > 0, "posterior_metrics: channel ", c,
                            " has no point with spread in the weighted reference");
    r.mean_error /= r.points;
    r.spread_error /= r.points;
    r.coverage /= r.points;
  }
  return out;
}

}  // namespace Impl

template <class ExecSpace>
std::vector<PosteriorMetrics> posterior_metrics(ExecSpace const& space, stats::const_fields_view<ExecSpace> samples,
                                                stats::const_fields_view<ExecSpace> reference,
                                                stats::const_vector_view<ExecSpace> weights, double band_level) {
  require(reference.extent(0) > 0 && std::int64_t(weights.extent(0)) == std::int64_t(reference.extent(0)),
          "posterior_metrics: ", weights.extent(0), " weights for ", reference.extent(0), " reference fields");
  return Impl::metrics_against(space, samples, Impl::weighted_columns(space, reference, weights), band_level);
}

template <class ExecSpace>
PosteriorComparison compare_posterior(ExecSpace const& space, stats::const_fields_view<ExecSpace> samples,
                                      stats::const_fields_view<ExecSpace> ensemble, ObservationOperator const& H,
                                      PosteriorReferenceOptions const& options) {
  ScopedRegion region("psgm::posterior::compare_posterior");
  options.validate();
  using Mem = typename ExecSpace::memory_space;
  std::int64_t const R = static_cast<std::int64_t>(ensemble.extent(0));
  std::int64_t const n = static_cast<std::int64_t>(samples.extent(0));
  require(R >= 2, "compare_posterior: a reference of ", R, " fields; at least 2 are needed (two halves)");
  PosteriorComparison out;
  out.reference_fields = R;
  out.samples = n;
  std::int64_t const half = R / 2;
  auto const A = Kokkos::subview(ensemble, Kokkos::make_pair(std::int64_t(0), half), Kokkos::ALL, Kokkos::ALL);
  auto const B = Kokkos::subview(ensemble, Kokkos::make_pair(half, R), Kokkos::ALL, Kokkos::ALL);
  auto const wA = importance_weights<ExecSpace>(space, A, H);
  auto const wB = importance_weights<ExecSpace>(space, B, H);
  out.ess_reference = wA.ess;
  out.ess_floor = wB.ess;
  if (std::min(wA.ess, wB.ess) < options.min_ess) {
    std::ostringstream os;
    os.precision(6);
    os << "the importance-sampled reference is too poor to judge against: ESS " << wA.ess << " (half A, the reference) and "
       << wB.ess << " (half B, the floor) of " << R << " PDE fields, below the threshold min_ess = " << options.min_ess
       << " (more PDE fields, or less informative probes)";
    out.message = os.str();
    return out;
  }
  out.judged = true;
  auto const columns = Impl::weighted_columns<ExecSpace>(space, A, wA.weights);
  out.metrics = Impl::metrics_against(space, samples, columns, options.band_level);
  // The floor: n fields drawn from B by their weights (inverse CDF of the
  // cumulative weights), judged like the samples.
  std::int64_t const RB = R - half;
  stats::vector_view<ExecSpace> cdf(Kokkos::view_alloc(space, "psgm::posterior::floor_cdf"), RB);
  auto const w = wB.weights;
  Kokkos::parallel_scan(
      "psgm::posterior::floor_cdf", Kokkos::RangePolicy<ExecSpace>(space, 0, RB),
      KOKKOS_LAMBDA(std::int64_t i, double& acc, bool final) {
        acc += w(i);
        if (final) cdf(i) = acc;
      });
  int const C = int(ensemble.extent(1)), N = int(ensemble.extent(2));
  Kokkos::View<double***, Kokkos::LayoutRight, Mem> draw(Kokkos::view_alloc(space, "psgm::posterior::floor_draw"), n,
                                                          C, N);
  out.floor.assign(std::size_t(C), PosteriorMetrics{});
  std::uint64_t const seed = options.seed;
  for (int d = 0; d < options.floor_draws; ++d) {
    Kokkos::parallel_for(
        "psgm::posterior::resample_floor", Kokkos::RangePolicy<ExecSpace>(space, 0, n), KOKKOS_LAMBDA(std::int64_t k) {
          auto g = random::make_generator<ExecSpace>(seed, random::evaluation, std::uint64_t(d) * n + k);
          double const u = g.drand() * cdf(RB - 1);
          std::int64_t a = 0, b = RB - 1;  // the first i with cdf(i) > u
          while (a < b) {
            std::int64_t const mid = a + (b - a) / 2;
            if (cdf(mid) > u)
              b = mid;
            else
              a = mid + 1;
          }
          for (int c = 0; c < C; ++c)
            for (int x = 0; x < N; ++x) draw(k, c, x) = B(a, c, x);
        });
    auto const m = Impl::metrics_against<ExecSpace>(space, draw, columns, options.band_level);
    for (int c = 0; c < C; ++c) {
      auto& f = out.floor[std::size_t(c)];
      f.mean_error += m[std::size_t(c)].mean_error / options.floor_draws;
      f.spread_error += m[std::size_t(c)].spread_error / options.floor_draws;
      f.coverage += m[std::size_t(c)].coverage / options.floor_draws;
      f.points = m[std::size_t(c)].points;
    }
  }
  return out;
}

}  // namespace psgm::posterior

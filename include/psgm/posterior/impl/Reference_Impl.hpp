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

template <class ExecSpace>
std::vector<PosteriorMetrics> posterior_metrics(ExecSpace const& space, stats::const_fields_view<ExecSpace> samples,
                                                stats::const_fields_view<ExecSpace> reference,
                                                stats::const_vector_view<ExecSpace> weights, double band_level) {
  int const C = int(samples.extent(1)), N = int(samples.extent(2));
  std::int64_t const R = static_cast<std::int64_t>(reference.extent(0));
  require(samples.extent(0) >= 2, "posterior_metrics: ", samples.extent(0), " samples; at least 2 are needed");
  require(int(reference.extent(1)) == C && int(reference.extent(2)) == N, "posterior_metrics: samples of (", C,
          ", ", N, ") fields against a reference of (", reference.extent(1), ", ", reference.extent(2), ")");
  require(std::int64_t(weights.extent(0)) == R, "posterior_metrics: ", weights.extent(0), " weights for ", R,
          " reference fields");
  require(band_level > 0 && band_level < 1, "posterior_metrics: band_level = ", band_level, " must be in (0, 1)");
  // The samples' columns: mean, sample standard deviation, the band.
  stats::SortedColumns<typename ExecSpace::memory_space> cols;
  stats::sort_columns(space, samples, cols);
  int const K = C * N;
  stats::vector_view<ExecSpace> lo(Kokkos::view_alloc(space, "psgm::posterior::band_lower"), K);
  stats::vector_view<ExecSpace> hi(Kokkos::view_alloc(space, "psgm::posterior::band_upper"), K);
  stats::column_quantiles(space, cols, 0.5 * (1 - band_level), lo);
  stats::column_quantiles(space, cols, 0.5 * (1 + band_level), hi);
  // The weighted reference's mean and spread, and its weight inside the band.
  Kokkos::View<double* [3], typename ExecSpace::memory_space> ref(
      Kokkos::view_alloc(space, "psgm::posterior::weighted_reference"), K);  // m_A, s_A, coverage
  Kokkos::parallel_for(
      "psgm::posterior::weighted_columns", Kokkos::RangePolicy<ExecSpace>(space, 0, K), KOKKOS_LAMBDA(int k) {
        int const c = k / N, x = k % N;
        double mean = 0;
        for (std::int64_t i = 0; i < R; ++i) mean += weights(i) * reference(i, c, x);
        double var = 0, inside = 0;
        for (std::int64_t i = 0; i < R; ++i) {
          double const v = reference(i, c, x);
          var += weights(i) * (v - mean) * (v - mean);
          if (v >= lo(k) && v <= hi(k)) inside += weights(i);
        }
        ref(k, 0) = mean;
        ref(k, 1) = math::sqrt(var);
        ref(k, 2) = inside;
      });
  auto const h_ref = Kokkos::create_mirror_view(Kokkos::HostSpace{}, ref);
  auto const h_mean = Kokkos::create_mirror_view(Kokkos::HostSpace{}, cols.mean);
  auto const h_sd = Kokkos::create_mirror_view(Kokkos::HostSpace{}, cols.stddev);
  Kokkos::deep_copy(space, h_ref, ref);
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
      r.coverage += h_ref(k, 2);
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
  out.metrics = posterior_metrics<ExecSpace>(space, samples, A, wA.weights, options.band_level);
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
    auto const m = posterior_metrics<ExecSpace>(space, draw, A, wA.weights, options.band_level);
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

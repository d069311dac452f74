// Kernels of psgm/stats/EnergyDistance.hpp (docs/metrics.md, definition M5).
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/core/Random.hpp>
#include <psgm/stats/EnergyDistance.hpp>
#include <psgm/stats/impl/Workspace.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace psgm::stats {

template <class ExecSpace>
EnergyTestResult EnergyDistanceTest<ExecSpace>::run(ExecSpace const& space, samples_view x, samples_view y,
                                                    weights_view weights, EnergyTestOptions const& options) {
  ScopedRegion region("psgm::stats::EnergyDistanceTest::run");
  std::int64_t const n = x.extent(0);
  std::int64_t const m = y.extent(0);
  int const d = x.extent(1);
  require(n >= 2 && m >= 2, "psgm::stats::EnergyDistanceTest: the ensembles have ", n, " and ", m,
          " samples; the energy distance needs at least 2 in each");
  require(y.extent(1) == static_cast<std::size_t>(d) && weights.extent(0) == static_cast<std::size_t>(d),
          "psgm::stats::EnergyDistanceTest: dimensions differ: x has ", d, ", y has ", y.extent(1),
          ", weights has ", weights.extent(0), " entries");
  require(d >= 1, "psgm::stats::EnergyDistanceTest: the samples have no coordinates");
  require(options.permutations >= 0, "psgm::stats::EnergyDistanceTest: permutations = ", options.permutations,
          " must be >= 0");
  std::int64_t const M = n + m;
  require(M <= max_pooled_samples, "psgm::stats::EnergyDistanceTest: ", M,
          " pooled samples need a ", M, " x ", M, " distance matrix; at most ", max_pooled_samples,
          " are accepted (subsample the ensembles)");
  {
    // Weights must be finite and >= 0: they are 1/σ of the reference, with 0
    // for excluded coordinates.
    int bad = 0;
    Kokkos::parallel_reduce(
        "psgm::stats::energy_check_weights", Kokkos::RangePolicy<ExecSpace>(space, 0, d),
        KOKKOS_LAMBDA(int k, int& b) { b += (math::isfinite(weights(k)) && weights(k) >= 0.0) ? 0 : 1; }, bad);
    require(bad == 0, "psgm::stats::EnergyDistanceTest: ", bad,
            " weights are negative or not finite; expected 1/sigma >= 0 (0 drops a coordinate)");
  }

  // ---- pooled, weighted samples and their distance matrix
  Impl::ensure_extents(pooled_, space, "psgm::stats::energy_pooled", M, d);
  Impl::ensure_extents(distances_, space, "psgm::stats::energy_distances", M, M);
  Impl::ensure_extents(row_sums_, space, "psgm::stats::energy_row_sums", M);
  Impl::ensure_extents(scalars_, space, "psgm::stats::energy_scalars", 1);
  auto const Z = pooled_;
  auto const D = distances_;
  auto const r = row_sums_;
  auto const scalars = scalars_;
  using md_policy = Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>, Kokkos::IndexType<std::int64_t>>;
  Kokkos::parallel_for(
      "psgm::stats::energy_pool", md_policy(space, {0, 0}, {M, std::int64_t(d)}),
      KOKKOS_LAMBDA(std::int64_t i, std::int64_t k) {
        Z(i, k) = weights(k) * (i < n ? x(i, k) : y(i - n, k));
      });
  Kokkos::parallel_for(
      "psgm::stats::energy_distance_matrix",
      md_policy(space, {0, 0}, {M, M}),
      KOKKOS_LAMBDA(std::int64_t i, std::int64_t j) {
        // Computed in full (not by symmetry): (a-b)² == (b-a)² in IEEE
        // arithmetic, so D is exactly symmetric anyway.
        double s = 0.0;
        for (int k = 0; k < d; ++k) {
          double const t = Z(i, k) - Z(j, k);
          s += t * t;
        }
        D(i, j) = math::sqrt(s);
      });
  Kokkos::parallel_for(
      "psgm::stats::energy_row_sums", Kokkos::RangePolicy<ExecSpace>(space, 0, M), KOKKOS_LAMBDA(std::int64_t i) {
        double s = 0.0;
        for (std::int64_t j = 0; j < M; ++j) s += D(i, j);
        r(i) = s;
      });
  Kokkos::parallel_for(
      "psgm::stats::energy_total", Kokkos::RangePolicy<ExecSpace>(space, 0, 1), KOKKOS_LAMBDA(int) {
        double s = 0.0;
        for (std::int64_t i = 0; i < M; ++i) s += r(i);
        scalars(0) = s;
      });

  // ---- the observed labelling (item 0) and P relabellings, in batches
  // Group A is the smaller one: S_AA costs |A|² per relabelling.
  bool const a_is_x = n <= m;
  std::int64_t const na = a_is_x ? n : m;
  std::int64_t const nb = M - na;
  std::int64_t const a_offset = a_is_x ? 0 : n;
  int const P = options.permutations;
  std::int64_t const total = std::int64_t(P) + 1;
  // Index lists of at most 2^22 ints (16 MiB) at a time, and about 2^24
  // steps of work (a generator's set-up, counted as 64, M to draw A, |A|²
  // for S_AA: a few hundredths of a second on one core at -O3), so that
  // options.between_batches comes often enough to stop a long test promptly.
  // Every relabelling has its own generator: the batching does not change
  // the result.
  std::int64_t const work = 64 + M + na * na;
  std::int64_t const batch = std::max<std::int64_t>(
      1, std::min({total, (std::int64_t(1) << 22) / na, (std::int64_t(1) << 24) / work}));
  Impl::ensure_extents(subsets_, space, "psgm::stats::energy_subsets", batch, na);
  Impl::ensure_extents(statistics_, space, "psgm::stats::energy_statistics", total);
  auto const subsets = subsets_;
  auto const stats = statistics_;
  std::uint64_t const seed = options.seed;
  std::uint64_t const first_item = options.first_item;
  double const inv_aa = 1.0 / (double(na) * double(na));
  double const inv_bb = 1.0 / (double(nb) * double(nb));
  double const inv_ab = 1.0 / (double(na) * double(nb));
  using team_policy = Kokkos::TeamPolicy<ExecSpace>;
  using member_type = typename team_policy::member_type;
  for (std::int64_t start = 0; start < total; start += batch) {
    std::int64_t const count = std::min(batch, total - start);
    Kokkos::parallel_for(
        "psgm::stats::energy_relabel", Kokkos::RangePolicy<ExecSpace>(space, 0, count), KOKKOS_LAMBDA(std::int64_t b) {
          std::int64_t const g = start + b;
          if (g == 0) {
            for (std::int64_t i = 0; i < na; ++i) subsets(b, i) = static_cast<int>(a_offset + i);
            return;
          }
          // Knuth's Algorithm S: index q joins A with probability
          // (still needed) / (still available); A comes out uniform and ascending.
          auto gen = random::make_generator<ExecSpace>(seed, random::evaluation, first_item + std::uint64_t(g));
          std::int64_t chosen = 0;
          for (std::int64_t q = 0; q < M && chosen < na; ++q) {
            if (double(M - q) * gen.drand() < double(na - chosen)) subsets(b, chosen++) = static_cast<int>(q);
          }
        });
    Kokkos::parallel_for(
        "psgm::stats::energy_statistic", team_policy(space, count, Kokkos::AUTO, Kokkos::AUTO),
        KOKKOS_LAMBDA(member_type const& team) {
          std::int64_t const b = team.league_rank();
          double s_aa = 0.0;
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(team, na),
              [&](std::int64_t i, double& acc) {
                int const row = subsets(b, i);
                double part = 0.0;
                Kokkos::parallel_reduce(
                    Kokkos::ThreadVectorRange(team, na),
                    [&](std::int64_t j, double& inner) { inner += D(row, subsets(b, j)); }, part);
                acc += part;
              },
              s_aa);
          double r_a = 0.0;
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(team, na), [&](std::int64_t i, double& acc) { acc += r(subsets(b, i)); }, r_a);
          Kokkos::single(Kokkos::PerTeam(team), [&]() {
            double const T = scalars(0);
            double const s_ab = r_a - s_aa;
            double const s_bb = T - 2.0 * r_a + s_aa;
            stats(start + b) = 2.0 * s_ab * inv_ab - s_aa * inv_aa - s_bb * inv_bb;
          });
        });
    if (options.between_batches) {
      space.fence();  // the host hears of an interrupt only after what it launched ran
      options.between_batches();
    }
  }

  EnergyTestResult result;
  result.permutations = P;
  std::int64_t exceed = 0;
  // Reducing into a host scalar fences `space`: the count goes to the host.
  Kokkos::parallel_reduce(
      "psgm::stats::energy_exceedances", Kokkos::RangePolicy<ExecSpace>(space, 1, total),
      KOKKOS_LAMBDA(std::int64_t g, std::int64_t & e) { e += stats(g) >= stats(0) ? 1 : 0; }, exceed);
  Kokkos::View<double, Kokkos::HostSpace> h_observed("psgm::stats::energy_observed_host");
  Kokkos::deep_copy(space, h_observed, Kokkos::subview(stats, 0));
  space.fence();  // the observed statistic is read on the host below
  result.statistic = h_observed();
  result.exceedances = exceed;
  result.p_value = P > 0 ? (1.0 + double(exceed)) / (1.0 + double(P)) : std::numeric_limits<double>::quiet_NaN();
  return result;
}

}  // namespace psgm::stats

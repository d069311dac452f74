// The ensemble comparison on synthetic ensembles with known answers
// (Synthetic.hpp): identical distributions sit at the noise floor, a shifted
// mean, a narrow band and a wide band are detected, pinned points are
// excluded, the QoI matches direct counting, and the profiles match host sums.
#include <psgm/core/Error.hpp>
#include <psgm/stats/Metrics.hpp>

#include <ProfilingRecorder.hpp>
#include <psgm_test.hpp>

#include "Synthetic.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace {

using psgm::stats::Metric;

template <class ExecSpace>
psgm::stats::EnsembleComparison compare(psgm::stats::EnsembleComparator<ExecSpace>& comparator,
                                        psgm_test::HostFields const& model, psgm_test::HostFields const& pde,
                                        psgm_test::HostFields const& floor) {
  ExecSpace space;
  auto const m = psgm_test::to_space(space, model);
  auto const p = psgm_test::to_space(space, pde);
  auto const f = psgm_test::to_space(space, floor);
  return comparator.compare(space, m, p, f);
}

psgm::stats::MetricsOptions small_options() {
  psgm::stats::MetricsOptions o;
  o.permutations = 199;
  o.seed = 3;
  return o;
}

}  // namespace

PSGM_BACKEND_TEST_CASE("identical distributions: every metric sits at its noise floor", "[stats][metrics]") {
  using ExecSpace = TestType;
  // Model and floor ensembles are exchangeable draws from the PDE's
  // distribution, so model metric - floor metric has mean zero. Over R
  // independent repetitions its average must be within a few standard errors.
  int const n = 120, N = 12, R = 12;
  psgm::stats::EnsembleComparator<ExecSpace> comparator(small_options());
  std::vector<std::vector<double>> diff(2 * psgm::stats::num_metrics);
  std::vector<double> floor_mean(2 * psgm::stats::num_metrics, 0.0);
  for (int rep = 0; rep < R; ++rep) {
    auto const model = psgm_test::synthetic_ensemble(n, N, 1000 + rep);
    auto const pde = psgm_test::synthetic_ensemble(n, N, 2000 + rep);
    auto const floor = psgm_test::synthetic_ensemble(n, N, 3000 + rep);
    psgm::stats::MetricsOptions o = small_options();
    o.permutations = 99;  // p-values are compared in distribution here, not against 0.01
    o.evaluation_index = rep;
    comparator.set_options(o);
    auto const c = compare(comparator, model, pde, floor);
    for (int f = 0; f < 2; ++f)
      for (int k = 0; k < psgm::stats::num_metrics; ++k) {
        Metric const metric = psgm::stats::all_metrics[k];
        diff[f * psgm::stats::num_metrics + k].push_back(c.model[f].get(metric) - c.floor[f].get(metric));
        floor_mean[f * psgm::stats::num_metrics + k] += c.floor[f].get(metric) / R;
      }
  }
  for (int f = 0; f < 2; ++f)
    for (int k = 0; k < psgm::stats::num_metrics; ++k) {
      auto const& d = diff[f * psgm::stats::num_metrics + k];
      double mean = 0, var = 0;
      for (double v : d) mean += v / R;
      for (double v : d) var += (v - mean) * (v - mean) / (R - 1);
      double const se = std::sqrt(var / R);
      INFO(psgm::stats::field_names[f] << " " << to_string(psgm::stats::all_metrics[k]) << ": mean(model - floor) = "
                                       << mean << " ± " << se << ", floor mean " << floor_mean[f * 6 + k]);
      CHECK(std::fabs(mean) <= 4.0 * se + 1e-12);
    }
  // The floors themselves have the sizes theory gives for n = 120: mean error
  // ~ sqrt(2/n) ≈ 0.13, coverage near 0.95 (finite-n quantiles cover a bit less).
  CHECK(floor_mean[0] > 0.03);
  CHECK(floor_mean[0] < 0.3);
  CHECK(floor_mean[2] > 0.9);
  CHECK(floor_mean[2] < 0.97);
}

PSGM_BACKEND_TEST_CASE("a shifted mean is detected far above the floor", "[stats][metrics]") {
  using ExecSpace = TestType;
  int const n = 200, N = 12;
  psgm::stats::EnsembleComparator<ExecSpace> comparator(small_options());
  psgm_test::SyntheticSpec shifted;
  shifted.shift = 0.5;  // half a standard deviation at every free point
  auto const c = compare(comparator, psgm_test::synthetic_ensemble(n, N, 1, shifted),
                         psgm_test::synthetic_ensemble(n, N, 2), psgm_test::synthetic_ensemble(n, N, 3));
  for (int f = 0; f < 2; ++f) {
    INFO("field " << psgm::stats::field_names[f]);
    auto const& m = c.model[f];
    auto const& fl = c.floor[f];
    // ‖0.5 s‖ / ‖s‖ = 0.5 up to sampling noise; the fields are smooth (four
    // random modes), so the ensemble-mean noise is coherent and its standard
    // deviation is about 0.1 at n = 200 (numpy simulation of Synthetic.hpp).
    CHECK(m.mean_error == Approx(0.5).margin(0.3));
    CHECK(m.mean_error > 3 * fl.mean_error);
    CHECK(m.energy_p_value < 0.01);
    CHECK(fl.energy_p_value > 0.01);
    CHECK(m.energy_distance > 3 * fl.energy_distance);
    CHECK(m.wasserstein > 2 * fl.wasserstein);
    CHECK(m.spread_error < 0.2);  // the spread is right
  }
}

PSGM_BACKEND_TEST_CASE("a too-narrow band covers too little, a too-wide band too much", "[stats][metrics]") {
  using ExecSpace = TestType;
  int const n = 300, N = 10;
  psgm::stats::EnsembleComparator<ExecSpace> comparator(small_options());
  auto const pde = psgm_test::synthetic_ensemble(n, N, 12);
  auto const floor = psgm_test::synthetic_ensemble(n, N, 13);
  psgm_test::SyntheticSpec narrow, wide;
  narrow.scale = 0.5;
  wide.scale = 2.0;
  auto const cn = compare(comparator, psgm_test::synthetic_ensemble(n, N, 11, narrow), pde, floor);
  auto const cw = compare(comparator, psgm_test::synthetic_ensemble(n, N, 14, wide), pde, floor);
  for (int f = 0; f < 2; ++f) {
    INFO("field " << psgm::stats::field_names[f] << ": floor coverage " << cn.floor[f].coverage << ", narrow "
                  << cn.model[f].coverage << ", wide " << cw.model[f].coverage);
    // 2Φ(1.96 · 0.5) - 1 = 0.67 and 2Φ(1.96 · 2) - 1 = 0.9999.
    CHECK(cn.model[f].coverage == Approx(0.67).margin(0.06));
    CHECK(cw.model[f].coverage > 0.99);
    CHECK(cn.floor[f].coverage > 0.91);
    CHECK(cn.floor[f].coverage < 0.98);
    CHECK(cn.model[f].spread_error == Approx(0.5).margin(0.08));
    CHECK(cw.model[f].spread_error == Approx(1.0).margin(0.15));
    CHECK(cn.model[f].energy_p_value < 0.01);
    CHECK(cw.model[f].energy_p_value < 0.01);
  }
}

PSGM_BACKEND_TEST_CASE("pinned points are found and excluded from coverage, W1 and energy", "[stats][metrics]") {
  using ExecSpace = TestType;
  int const n = 80, N = 9;
  psgm::stats::EnsembleComparator<ExecSpace> comparator(small_options());
  auto const model = psgm_test::synthetic_ensemble(n, N, 21);
  auto const pde = psgm_test::synthetic_ensemble(n, N, 22);
  auto const floor = psgm_test::synthetic_ensemble(n, N, 23);
  auto const a = compare(comparator, model, pde, floor);
  // Exactly c's Dirichlet cell and φ's first cell.
  for (int k = 0; k < 2 * N; ++k) CHECK(int(a.pinned[k]) == ((k == N - 1 || k == N) ? 1 : 0));
  CHECK(a.num_pinned(0) == 1);
  CHECK(a.num_pinned(1) == 1);
  // A model that misses the boundary values (noise around them): M3-M5 do
  // not change at all, M1 and M2 do.
  auto off = Kokkos::create_mirror(Kokkos::HostSpace{}, model);
  Kokkos::deep_copy(off, model);
  for (int s = 0; s < n; ++s) {
    off(s, 0, N - 1) = 1000.0 + 3.0 * std::sin(1.0 + s);
    off(s, 1, 0) = 2e-3 * std::cos(2.0 * s);
  }
  auto const b = compare(comparator, off, pde, floor);
  for (int f = 0; f < 2; ++f) {
    CHECK(b.model[f].coverage == a.model[f].coverage);
    CHECK(b.model[f].wasserstein == a.model[f].wasserstein);
    CHECK(b.model[f].energy_distance == Approx(a.model[f].energy_distance).epsilon(1e-12));
    CHECK(b.model[f].mean_error != a.model[f].mean_error);
    CHECK(b.model[f].spread_error > a.model[f].spread_error);
    CHECK(std::isfinite(b.model[f].energy_distance));
  }
  // ... while the pointwise arrays do see the boundary: W1 there is > 0.
  CHECK(b.wasserstein_model[N - 1] > 1.0);
  CHECK(a.wasserstein_model[N - 1] == 0.0);
}

PSGM_BACKEND_TEST_CASE("profiles and the QoI match direct host computations", "[stats][metrics]") {
  using ExecSpace = TestType;
  int const n = 101, N = 8;
  psgm::stats::MetricsOptions o = small_options();
  psgm::stats::EnsembleComparator<ExecSpace> comparator(o);
  psgm_test::SyntheticSpec low;
  low.shift = -0.3;
  auto const model = psgm_test::synthetic_ensemble(n, N, 31, low);
  auto const pde = psgm_test::synthetic_ensemble(n, N, 32);
  auto const floor = psgm_test::synthetic_ensemble(n + 20, N, 33);
  auto const c = compare(comparator, model, pde, floor);
  REQUIRE(c.num_points == N);
  REQUIRE(c.pde_profile.num_samples == n);
  REQUIRE(c.floor_profile.num_samples == n + 20);

  auto const minima = [&](psgm_test::HostFields const& h) {
    std::vector<double> m(h.extent(0));
    for (std::size_t s = 0; s < m.size(); ++s) {
      m[s] = h(s, 0, 0);
      for (int i = 1; i < N; ++i) m[s] = std::min(m[s], h(s, 0, i));
    }
    return m;
  };
  // Default c_crit: the 10 % quantile (type 7) of the PDE's min_x c.
  auto mp = minima(pde);
  std::sort(mp.begin(), mp.end());
  double const h = 0.1 * (n - 1);
  double const expected_crit = mp[int(h)] + (h - int(h)) * (mp[int(h) + 1] - mp[int(h)]);
  CHECK(c.qoi.c_crit_from_data);
  CHECK(c.qoi.c_crit == Approx(expected_crit).epsilon(1e-15));
  auto const count_below = [&](psgm_test::HostFields const& e) {
    auto const m = minima(e);
    return std::count_if(m.begin(), m.end(), [&](double v) { return v < c.qoi.c_crit; });
  };
  CHECK(c.qoi.pde.successes == count_below(pde));
  CHECK(c.qoi.model.successes == count_below(model));
  CHECK(c.qoi.floor.successes == count_below(floor));
  CHECK(c.qoi.model.trials == n);
  CHECK(c.qoi.floor.trials == n + 20);
  CHECK(c.qoi.pde.estimate == Approx(0.1).margin(0.011));
  CHECK(c.qoi.model.estimate > c.qoi.pde.estimate);  // a lower mean: more fields dip below
  auto const w = psgm::stats::wilson_interval(c.qoi.model.successes, n, 0.95);
  CHECK(c.qoi.model.lower == w.lower);
  CHECK(c.qoi.model.upper == w.upper);
  CHECK(c.qoi.error() == Approx(std::fabs(c.qoi.model.estimate - c.qoi.pde.estimate)));

  // A given c_crit is used as is.
  o.c_crit = 995.0;
  comparator.set_options(o);
  auto const c2 = compare(comparator, model, pde, floor);
  CHECK_FALSE(c2.qoi.c_crit_from_data);
  CHECK(c2.qoi.c_crit == 995.0);
  CHECK(c2.qoi.pde.successes == std::count_if(mp.begin(), mp.end(), [](double v) { return v < 995.0; }));

  // Profiles: mean and spread of every point (host two-pass sums), band ends bracketing 95 %.
  for (int ch = 0; ch < 2; ++ch)
    for (int i = 0; i < N; ++i) {
      int const k = ch * N + i;
      double mean = 0, ss = 0;
      for (int s = 0; s < n; ++s) mean += pde(s, ch, i) / n;
      for (int s = 0; s < n; ++s) ss += (pde(s, ch, i) - mean) * (pde(s, ch, i) - mean);
      CHECK(c.pde_profile.mean[k] == Approx(mean).epsilon(1e-13).margin(1e-300));
      // (the host sum of v/n leaves round-off in a pinned column's spread; the kernel's is exactly 0)
      CHECK(c.pde_profile.stddev[k] == Approx(std::sqrt(ss / (n - 1))).epsilon(1e-10).margin(1e-11));
      int inside = 0;
      for (int s = 0; s < n; ++s)
        inside += (c.pde_profile.lower[k] <= pde(s, ch, i) && pde(s, ch, i) <= c.pde_profile.upper[k]) ? 1 : 0;
      if (!c.pinned[k]) CHECK(inside == Approx(0.95 * n).margin(2));
    }
}

PSGM_BACKEND_TEST_CASE("compare() rejects ensembles it cannot judge and labels its work", "[stats][metrics]") {
  using ExecSpace = TestType;
  using Mem = typename ExecSpace::memory_space;
  ExecSpace space;
  int const n = 20, N = 6;
  psgm::stats::EnsembleComparator<ExecSpace> comparator(small_options());
  auto const good = psgm_test::to_space(space, psgm_test::synthetic_ensemble(n, N, 1));
  auto const other_grid = psgm_test::to_space(space, psgm_test::synthetic_ensemble(n, N + 1, 2));
  auto bad_host = psgm_test::synthetic_ensemble(n, N, 3);
  bad_host(4, 1, 2) = std::nan("");
  auto const bad = psgm_test::to_space(space, bad_host);
  Kokkos::View<double***, Kokkos::LayoutRight, Mem> three("psgm::test::three", n, 3, N);
  Kokkos::View<double***, Kokkos::LayoutRight, Mem> flat("psgm::test::flat", n, 2, N);  // all zero: no spread
  CHECK_THROWS_WITH(comparator.compare(space, good, other_grid, good), Catch::Contains("grid points"));
  CHECK_THROWS_WITH(comparator.compare(space, bad, good, good), Catch::Contains("NaN"));
  CHECK_THROWS_WITH(comparator.compare(space, three, good, good), Catch::Contains("channels"));
  CHECK_THROWS_WITH(comparator.compare(space, good, flat, good), Catch::Contains("zero spread"));
  CHECK_THROWS_WITH(comparator.compare(space, Kokkos::subview(good, Kokkos::make_pair(0, 1), Kokkos::ALL, Kokkos::ALL),
                                       good, good),
                    Catch::Contains("at least 2"));
  psgm::stats::MetricsOptions o;
  o.band_level = 1.0;
  CHECK_THROWS_AS(psgm::stats::EnsembleComparator<ExecSpace>(o), psgm::InvalidArgument);
  o = {};
  o.c_crit_quantile = 0.0;
  CHECK_THROWS_AS(psgm::stats::EnsembleComparator<ExecSpace>(o), psgm::InvalidArgument);

  comparator.compare(space, good, good, good);  // warm-up (Kokkos-internal OpenMP team buffers)
  psgm_test::ProfilingRecorder recorder;
  psgm::stats::EnsembleComparator<ExecSpace> fresh(small_options());
  auto const c = fresh.compare(space, good, good, good);
  CHECK(c.model[0].mean_error == 0.0);
  CHECK(c.model[1].wasserstein == 0.0);
  CHECK(c.model[0].energy_distance == Approx(0.0).margin(1e-12));
  CHECK(recorder.has_region("psgm::stats::EnsembleComparator::compare"));
  CHECK(recorder.has_region("psgm::stats::EnergyDistanceTest::run"));
  CHECK(recorder.unlabelled_kernels().empty());
  std::string unlabelled;
  for (auto const& a : recorder.unlabelled_allocations()) unlabelled += a + "; ";
  INFO("unlabelled allocations: " << unlabelled);
  CHECK(recorder.unlabelled_allocations().empty());
}

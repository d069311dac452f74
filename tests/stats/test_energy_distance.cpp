// The energy distance and its permutation test on every backend: the
// statistic against a brute-force O(n²) host evaluation of its definition,
// the permutation p-value against the exact p-value from all relabellings of
// a tiny pooled sample, and the test's power and size on synthetic ensembles.
#include <psgm/core/Error.hpp>
#include <psgm/stats/EnergyDistance.hpp>

#include <ProfilingRecorder.hpp>
#include <psgm_test.hpp>

#include "Synthetic.hpp"

#include <cmath>
#include <string>
#include <vector>

namespace {

using Matrix = std::vector<std::vector<double>>;

Matrix channel(psgm_test::HostFields const& f, int ch) {
  Matrix m(f.extent(0), std::vector<double>(f.extent(2)));
  for (std::size_t s = 0; s < f.extent(0); ++s)
    for (std::size_t i = 0; i < f.extent(2); ++i) m[s][i] = f(s, ch, i);
  return m;
}

double dist(std::vector<double> const& a, std::vector<double> const& b, std::vector<double> const& w) {
  long double s = 0.0L;
  for (std::size_t k = 0; k < a.size(); ++k) {
    long double const t = (long double)w[k] * a[k] - (long double)w[k] * b[k];
    s += t * t;
  }
  return (double)std::sqrt(s);
}

/// Ê = 2/(nm) Σ‖x_i - y_j‖ - 1/n² Σ‖x_i - x_j‖ - 1/m² Σ‖y_i - y_j‖, directly.
double brute_force_energy(Matrix const& x, Matrix const& y, std::vector<double> const& w) {
  long double xy = 0, xx = 0, yy = 0;
  for (auto const& a : x)
    for (auto const& b : y) xy += dist(a, b, w);
  for (auto const& a : x)
    for (auto const& b : x) xx += dist(a, b, w);
  for (auto const& a : y)
    for (auto const& b : y) yy += dist(a, b, w);
  double const n = x.size(), m = y.size();
  return (double)(2 * xy / (n * m) - xx / (n * n) - yy / (m * m));
}

template <class ExecSpace>
struct Fixture {
  using Mem = typename ExecSpace::memory_space;
  using Test = psgm::stats::EnergyDistanceTest<ExecSpace>;
  ExecSpace space;
  Kokkos::View<double***, Kokkos::LayoutRight, Mem> x, y;
  Kokkos::View<double*, Mem> w;

  Fixture(psgm_test::HostFields const& hx, psgm_test::HostFields const& hy, std::vector<double> const& weights)
      : x(psgm_test::to_space(space, hx)), y(psgm_test::to_space(space, hy)), w("psgm::test::w", weights.size()) {
    auto hw = Kokkos::create_mirror_view(w);
    for (std::size_t k = 0; k < weights.size(); ++k) hw(k) = weights[k];
    Kokkos::deep_copy(w, hw);
  }
  typename Test::samples_view xs(int ch) const { return Kokkos::subview(x, Kokkos::ALL, ch, Kokkos::ALL); }
  typename Test::samples_view ys(int ch) const { return Kokkos::subview(y, Kokkos::ALL, ch, Kokkos::ALL); }
  psgm::stats::EnergyTestResult run(Test& t, int ch, int permutations, std::uint64_t seed = 1,
                                    std::uint64_t first_item = 0) {
    psgm::stats::EnergyTestOptions o;
    o.permutations = permutations;
    o.seed = seed;
    o.first_item = first_item;
    return t.run(space, xs(ch), ys(ch), w, o);
  }
};

std::vector<double> unit_weights(psgm_test::HostFields const& ref, int ch) {
  // 1/σ per point from the reference, 0 where the reference is pinned.
  int const n = ref.extent(0), N = ref.extent(2);
  std::vector<double> w(N);
  for (int i = 0; i < N; ++i) {
    double m = 0, ss = 0;
    for (int s = 0; s < n; ++s) m += ref(s, ch, i);
    m /= n;
    for (int s = 0; s < n; ++s) ss += (ref(s, ch, i) - m) * (ref(s, ch, i) - m);
    double const sd = std::sqrt(ss / (n - 1));
    w[i] = sd > 0 ? 1.0 / sd : 0.0;
  }
  return w;
}

}  // namespace

PSGM_BACKEND_TEST_CASE("energy statistic equals the brute-force O(n^2) definition", "[stats][energy]") {
  using ExecSpace = TestType;
  int const N = 12;
  psgm_test::SyntheticSpec spec;
  spec.shift = 0.4;
  spec.scale = 0.8;
  for (auto const [n, m] : {std::pair{30, 30}, std::pair{23, 41}, std::pair{41, 23}}) {
    auto const hx = psgm_test::synthetic_ensemble(n, N, 100 + n);
    auto const hy = psgm_test::synthetic_ensemble(m, N, 200 + m, spec);
    for (int ch = 0; ch < 2; ++ch) {
      auto const w = unit_weights(hy, ch);
      REQUIRE(w[ch == 0 ? N - 1 : 0] == 0.0);  // the pinned point is dropped
      Fixture<ExecSpace> f(hx, hy, w);
      typename Fixture<ExecSpace>::Test test;
      auto const r = f.run(test, ch, 0);
      double const ref = brute_force_energy(channel(hx, ch), channel(hy, ch), w);
      INFO("n = " << n << ", m = " << m << ", channel " << ch);
      CHECK(r.statistic == Approx(ref).epsilon(1e-11));
      CHECK(r.statistic > 0.0);
      CHECK(std::isnan(r.p_value));
      CHECK(r.permutations == 0);
      // The distance matrix is the pooled one, exactly symmetric, zero diagonal.
      auto const D = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, test.distances());
      REQUIRE(D.extent(0) == std::size_t(n + m));
      auto const X = channel(hx, ch);
      auto const Y = channel(hy, ch);
      CHECK(D(1, n + 2) == Approx(dist(X[1], Y[2], w)).epsilon(1e-13));
      for (int i = 0; i < n + m; i += 7) {
        CHECK(D(i, i) == 0.0);
        for (int j = 0; j < n + m; j += 5) CHECK(D(i, j) == D(j, i));
      }
    }
  }
}

PSGM_BACKEND_TEST_CASE("permutation p-value converges to the exact p-value over all relabellings",
                       "[stats][energy]") {
  using ExecSpace = TestType;
  // 4 + 5 pooled samples: all C(9, 4) = 126 relabellings can be enumerated.
  int const n = 4, m = 5, N = 3;
  psgm_test::SyntheticSpec spec;
  spec.shift = 0.8;
  spec.pin = false;
  auto const hx = psgm_test::synthetic_ensemble(n, N, 31, spec);
  auto const hy = psgm_test::synthetic_ensemble(m, N, 32, psgm_test::SyntheticSpec{0.0, 1.0, false});
  std::vector<double> const w = {1.0 / 5, 1.0 / 4, 1.0 / 3};
  Matrix pooled = channel(hx, 0);
  for (auto const& r : channel(hy, 0)) pooled.push_back(r);
  double const observed = brute_force_energy(channel(hx, 0), channel(hy, 0), w);
  int at_least = 0, total = 0;
  for (int mask = 0; mask < (1 << 9); ++mask) {
    if (__builtin_popcount(mask) != n) continue;
    Matrix a, b;
    for (int q = 0; q < 9; ++q) (mask >> q & 1 ? a : b).push_back(pooled[q]);
    at_least += brute_force_energy(a, b, w) >= observed * (1 - 1e-12) ? 1 : 0;
    ++total;
  }
  REQUIRE(total == 126);
  double const exact = double(at_least) / total;

  Fixture<ExecSpace> f(hx, hy, w);
  typename Fixture<ExecSpace>::Test test;
  int const P = 20000;
  auto const r = f.run(test, 0, P, 42);
  CHECK(r.statistic == Approx(observed).epsilon(1e-12));
  CHECK(r.permutations == P);
  CHECK(r.p_value == Approx((1.0 + r.exceedances) / (1.0 + P)));
  double const se = std::sqrt(exact * (1 - exact) / P);
  INFO("exact p = " << exact << " (" << at_least << "/126), permutation p = " << r.p_value);
  CHECK(std::fabs(r.p_value - exact) < 4 * se + 2.0 / P);
  // Swapping the samples relabels the same partitions: same statistic.
  Fixture<ExecSpace> g(hy, hx, w);
  auto const r2 = g.run(test, 0, P, 42);
  CHECK(r2.statistic == Approx(observed).epsilon(1e-12));
  CHECK(std::fabs(r2.p_value - exact) < 4 * se + 2.0 / P);
}

PSGM_BACKEND_TEST_CASE("permutation test is reproducible and separates shifted from identical ensembles",
                       "[stats][energy]") {
  using ExecSpace = TestType;
  int const n = 120, N = 10;
  auto const hy = psgm_test::synthetic_ensemble(n, N, 7);
  auto const w = unit_weights(hy, 0);
  typename Fixture<ExecSpace>::Test test;

  // Reproducible: same (seed, first_item) -> same result; other items -> other relabellings.
  auto const same = psgm_test::synthetic_ensemble(n, N, 8);
  Fixture<ExecSpace> f(same, hy, w);
  auto const a = f.run(test, 0, 199, 5, 0);
  auto const b = f.run(test, 0, 199, 5, 0);
  CHECK(a.statistic == b.statistic);
  CHECK(a.exceedances == b.exceedances);

  // Shifted by half a standard deviation: detected.
  psgm_test::SyntheticSpec shifted;
  shifted.shift = 0.5;
  Fixture<ExecSpace> s(psgm_test::synthetic_ensemble(n, N, 9, shifted), hy, w);
  auto const rs = s.run(test, 0, 199, 5);
  CHECK(rs.p_value < 0.01);
  CHECK(rs.exceedances == 0);
  CHECK(rs.statistic > a.statistic);

  // Identical distributions: p-values spread over (0, 1], not piled up near 0.
  int small = 0;
  double mean_p = 0.0;
  int const R = 16;
  for (int rep = 0; rep < R; ++rep) {
    Fixture<ExecSpace> g(psgm_test::synthetic_ensemble(60, N, 500 + rep), psgm_test::synthetic_ensemble(60, N, 900 + rep),
                         w);
    auto const r = g.run(test, 0, 99, 11, std::uint64_t(rep) << 32);
    mean_p += r.p_value / R;
    small += r.p_value < 0.05 ? 1 : 0;
  }
  INFO("mean p-value over " << R << " null repetitions: " << mean_p << ", " << small << " below 0.05");
  CHECK(mean_p > 0.25);
  CHECK(mean_p < 0.75);
  CHECK(small <= 4);
}

PSGM_BACKEND_TEST_CASE("energy test rejects bad input and labels its work", "[stats][energy]") {
  using ExecSpace = TestType;
  int const N = 5;
  auto const hx = psgm_test::synthetic_ensemble(10, N, 1);
  std::vector<double> w(N, 1.0);
  Fixture<ExecSpace> f(hx, hx, w);
  typename Fixture<ExecSpace>::Test test;
  psgm::stats::EnergyTestOptions o;
  auto const one = Kokkos::subview(f.x, Kokkos::make_pair(0, 1), 0, Kokkos::ALL);
  CHECK_THROWS_AS(test.run(f.space, one, f.ys(0), f.w, o), psgm::InvalidArgument);
  auto const short_w = Kokkos::subview(f.w, Kokkos::make_pair(0, N - 1));
  CHECK_THROWS_AS(test.run(f.space, f.xs(0), f.ys(0), short_w, o), psgm::InvalidArgument);
  o.permutations = -1;
  CHECK_THROWS_AS(test.run(f.space, f.xs(0), f.ys(0), f.w, o), psgm::InvalidArgument);
  auto hw = Kokkos::create_mirror_view(f.w);
  hw(2) = -1.0;
  Kokkos::deep_copy(f.w, hw);
  o.permutations = 9;
  CHECK_THROWS_WITH(test.run(f.space, f.xs(0), f.ys(0), f.w, o), Catch::Contains("weights"));
  hw(2) = 1.0;
  Kokkos::deep_copy(f.w, hw);

  // Warm-up: Kokkos' OpenMP backend sizes its per-thread team reduction
  // buffers (unlabelled, Kokkos-internal) the first time a TeamPolicy runs.
  test.run(f.space, f.xs(0), f.ys(0), f.w, o);
  psgm_test::ProfilingRecorder recorder;
  typename Fixture<ExecSpace>::Test fresh;  // allocates its workspaces under the recorder
  auto const r = fresh.run(f.space, f.xs(0), f.ys(0), f.w, o);
  // Identical samples: zero up to round-off, and no evidence against equality.
  CHECK(r.statistic == Approx(0.0).margin(1e-12));
  CHECK(r.p_value > 0.5);
  CHECK(recorder.has_region("psgm::stats::EnergyDistanceTest::run"));
  CHECK(recorder.unlabelled_kernels().empty());
  std::string unlabelled;
  for (auto const& a : recorder.unlabelled_allocations()) unlabelled += a + "; ";
  INFO("unlabelled allocations: " << unlabelled);
  CHECK(recorder.unlabelled_allocations().empty());
}

PSGM_BACKEND_TEST_CASE("energy test calls between_batches after each batch and stops when it throws",
                       "[stats][energy]") {
  // psgm evaluate's interrupt check: 4 * 10^5 relabellings of 5 + 5 samples
  // take several batches (about 2^24 / (64 + 10 + 25) relabellings each).
  using ExecSpace = TestType;
  int const N = 4, P = 400000;
  auto const hx = psgm_test::synthetic_ensemble(5, N, 3);
  auto const hy = psgm_test::synthetic_ensemble(5, N, 4);
  Fixture<ExecSpace> f(hx, hy, std::vector<double>(N, 1.0));
  typename Fixture<ExecSpace>::Test test;
  auto const plain = f.run(test, 0, P, 7);

  psgm::stats::EnergyTestOptions o;
  o.permutations = P;
  o.seed = 7;
  int calls = 0;
  o.between_batches = [&] { ++calls; };
  auto const polled = test.run(f.space, f.xs(0), f.ys(0), f.w, o);
  CHECK(calls >= 2);
  CHECK(polled.statistic == plain.statistic);
  CHECK(polled.exceedances == plain.exceedances);

  struct Stop {};
  calls = 0;
  o.between_batches = [&] {
    ++calls;
    throw Stop{};
  };
  CHECK_THROWS_AS(test.run(f.space, f.xs(0), f.ys(0), f.w, o), Stop);
  CHECK(calls == 1);
  // The test object is usable after a stopped run.
  auto const again = f.run(test, 0, P, 7);
  CHECK(again.exceedances == plain.exceedances);
}

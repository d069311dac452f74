// Per-point statistics on every backend against direct host computations:
// sorting and two-pass moments against std::sort and long double sums,
// quantiles against numpy's type-7 definition, W₁ against the CDF form
// ∫|F_a(x) - F_b(x)| dx (a different formula from the quantile merge the
// kernel uses), band coverage against counting.
#include <psgm/core/Error.hpp>
#include <psgm/stats/Pointwise.hpp>

#include <ProfilingRecorder.hpp>
#include <psgm_test.hpp>

#include "Synthetic.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace {

std::vector<double> host_column(psgm_test::HostFields const& f, int ch, int i) {
  std::vector<double> v(f.extent(0));
  for (std::size_t s = 0; s < v.size(); ++s) v[s] = f(s, ch, i);
  return v;
}

/// numpy.quantile(v, p) (method "linear").
double numpy_quantile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  double const h = (v.size() - 1) * p;
  std::size_t const lo = static_cast<std::size_t>(std::floor(h));
  if (lo + 1 >= v.size()) return v.back();
  return v[lo] + (h - lo) * (v[lo + 1] - v[lo]);
}

/// W₁ = ∫ |F_a(x) - F_b(x)| dx over the merged support (scipy's formula).
double cdf_wasserstein(std::vector<double> a, std::vector<double> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::vector<double> all(a);
  all.insert(all.end(), b.begin(), b.end());
  std::sort(all.begin(), all.end());
  long double w = 0.0L;
  for (std::size_t t = 0; t + 1 < all.size(); ++t) {
    double const x = all[t];
    long double const Fa = (std::upper_bound(a.begin(), a.end(), x) - a.begin()) / (long double)a.size();
    long double const Fb = (std::upper_bound(b.begin(), b.end(), x) - b.begin()) / (long double)b.size();
    w += std::fabs((double)(Fa - Fb)) * (long double)(all[t + 1] - x);
  }
  return (double)w;
}

template <class ExecSpace>
psgm::stats::SortedColumns<typename ExecSpace::memory_space> sorted(ExecSpace const& space,
                                                                    psgm_test::HostFields const& h) {
  psgm::stats::SortedColumns<typename ExecSpace::memory_space> cols;
  auto const d = psgm_test::to_space(space, h);
  psgm::stats::sort_columns(space, psgm::stats::const_fields_view<ExecSpace>(d), cols);
  return cols;
}

template <class View>
auto host(View const& v) {
  return Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, v);
}

}  // namespace

PSGM_BACKEND_TEST_CASE("sort_columns sorts every grid point and computes two-pass moments", "[stats][pointwise]") {
  using ExecSpace = TestType;
  ExecSpace space;
  int const n = 101, N = 9;
  auto const h = psgm_test::synthetic_ensemble(n, N, 7);
  auto const cols = sorted(space, h);
  REQUIRE(cols.num_channels == 2);
  REQUIRE(cols.num_points == N);
  REQUIRE(cols.num_samples() == n);
  auto const values = host(cols.values);
  auto const mean = host(cols.mean);
  auto const sd = host(cols.stddev);
  for (int ch = 0; ch < 2; ++ch)
    for (int i = 0; i < N; ++i) {
      int const k = ch * N + i;
      auto v = host_column(h, ch, i);
      long double sum = 0.0L;
      for (double x : v) sum += x;
      long double const m = sum / n;
      long double ss = 0.0L;
      for (double x : v) ss += (x - m) * (x - m);
      std::sort(v.begin(), v.end());
      for (int s = 0; s < n; ++s) CHECK(values(k, s) == v[s]);
      CHECK(mean(k) == Approx((double)m).epsilon(1e-14).margin(1e-300));
      CHECK(sd(k) == Approx((double)std::sqrt(ss / (n - 1))).epsilon(1e-11).margin(1e-300));
    }
  // A pinned column has exactly zero spread (two-pass: no cancellation).
  CHECK(sd(N - 1) == 0.0);
  CHECK(sd(N) == 0.0);
}

PSGM_BACKEND_TEST_CASE("column_quantiles follow numpy's linear interpolation", "[stats][pointwise]") {
  using ExecSpace = TestType;
  using Mem = typename ExecSpace::memory_space;
  ExecSpace space;
  int const n = 40, N = 5;
  auto const h = psgm_test::synthetic_ensemble(n, N, 11);
  auto const cols = sorted(space, h);
  Kokkos::View<double*, Mem> q("psgm::test::q", 2 * N);
  for (double p : {0.0, 0.025, 0.1, 0.5, 0.9, 0.975, 1.0}) {
    psgm::stats::column_quantiles(space, cols, p, q);
    auto const hq = host(q);
    for (int ch = 0; ch < 2; ++ch)
      for (int i = 0; i < N; ++i)
        CHECK(hq(ch * N + i) == Approx(numpy_quantile(host_column(h, ch, i), p)).epsilon(1e-14).margin(1e-300));
  }
  CHECK_THROWS_AS(psgm::stats::column_quantiles(space, cols, 1.5, q), psgm::InvalidArgument);
  Kokkos::View<double*, Mem> wrong("psgm::test::wrong", 3);
  CHECK_THROWS_AS(psgm::stats::column_quantiles(space, cols, 0.5, wrong), psgm::InvalidArgument);
}

PSGM_BACKEND_TEST_CASE("wasserstein_columns equals the CDF integral, for equal and unequal sizes",
                       "[stats][pointwise]") {
  using ExecSpace = TestType;
  using Mem = typename ExecSpace::memory_space;
  ExecSpace space;
  int const N = 6;
  for (auto const [na, nb] : {std::pair{50, 50}, std::pair{37, 53}, std::pair{64, 3}}) {
    auto const ha = psgm_test::synthetic_ensemble(na, N, 21);
    psgm_test::SyntheticSpec shifted;
    shifted.shift = 0.3;
    shifted.scale = 1.4;
    auto hb = psgm_test::synthetic_ensemble(nb, N, 22, shifted);
    // Ties across and within the ensembles: round part of b onto a's values.
    for (int s = 0; s < nb; s += 3) hb(s, 0, 1) = ha(s % na, 0, 1);
    auto const a = sorted(space, ha);
    auto const b = sorted(space, hb);
    Kokkos::View<double*, Mem> w("psgm::test::w", 2 * N);
    psgm::stats::wasserstein_columns(space, a, b, w);
    auto const hw = host(w);
    for (int ch = 0; ch < 2; ++ch)
      for (int i = 0; i < N; ++i) {
        INFO("sizes " << na << ", " << nb << ", column " << ch * N + i);
        double const ref = cdf_wasserstein(host_column(ha, ch, i), host_column(hb, ch, i));
        CHECK(hw(ch * N + i) == Approx(ref).epsilon(1e-10).margin(1e-14 * (ch == 0 ? 1000 : 1e-3)));
      }
    // Symmetric.
    psgm::stats::wasserstein_columns(space, b, a, w);
    auto const hw2 = host(w);
    for (int k = 0; k < 2 * N; ++k) CHECK(hw2(k) == Approx(hw(k)).epsilon(1e-13).margin(1e-300));
  }
  // Equal ensembles are at distance 0; a constant shift δ is at distance |δ|.
  auto const h = psgm_test::synthetic_ensemble(30, N, 5);
  auto const hs = Kokkos::create_mirror(Kokkos::HostSpace{}, h);
  for (int s = 0; s < 30; ++s)
    for (int ch = 0; ch < 2; ++ch)
      for (int i = 0; i < N; ++i) hs(s, ch, i) = h(s, ch, i) + (ch == 0 ? 2.5 : 1e-3);
  auto const a = sorted(space, h);
  auto const b = sorted(space, hs);
  Kokkos::View<double*, Mem> w("psgm::test::w", 2 * N);
  psgm::stats::wasserstein_columns(space, a, a, w);
  auto hw = host(w);
  for (int k = 0; k < 2 * N; ++k) CHECK(hw(k) == 0.0);
  psgm::stats::wasserstein_columns(space, a, b, w);
  hw = host(w);
  for (int k = 0; k < 2 * N; ++k) CHECK(hw(k) == Approx(k < N ? 2.5 : 1e-3).epsilon(1e-9));
}

PSGM_BACKEND_TEST_CASE("band_coverage_columns counts the reference values inside closed bands",
                       "[stats][pointwise]") {
  using ExecSpace = TestType;
  using Mem = typename ExecSpace::memory_space;
  ExecSpace space;
  int const n = 77, N = 4;
  auto const h = psgm_test::synthetic_ensemble(n, N, 3);
  auto const cols = sorted(space, h);
  Kokkos::View<double*, Mem> lo("psgm::test::lo", 2 * N), hi("psgm::test::hi", 2 * N), cov("psgm::test::cov", 2 * N);
  auto hlo = Kokkos::create_mirror_view(lo);
  auto hhi = Kokkos::create_mirror_view(hi);
  for (int ch = 0; ch < 2; ++ch)
    for (int i = 0; i < N; ++i) {
      auto v = host_column(h, ch, i);
      std::sort(v.begin(), v.end());
      int const k = ch * N + i;
      // Bands whose ends are sample values (closed ends must count), and one empty band.
      hlo(k) = v[5 + k];
      hhi(k) = k == 2 ? v[2] : v[n - 1 - k];
    }
  Kokkos::deep_copy(lo, hlo);
  Kokkos::deep_copy(hi, hhi);
  psgm::stats::band_coverage_columns(space, psgm::stats::const_vector_view<ExecSpace>(lo),
                                     psgm::stats::const_vector_view<ExecSpace>(hi), cols, cov);
  auto const hc = host(cov);
  for (int ch = 0; ch < 2; ++ch)
    for (int i = 0; i < N; ++i) {
      int const k = ch * N + i;
      auto const v = host_column(h, ch, i);
      int inside = 0;
      for (double x : v) inside += (hlo(k) <= x && x <= hhi(k)) ? 1 : 0;
      CHECK(hc(k) == Approx(double(inside) / n).epsilon(1e-15));
    }
  CHECK(hc(2) == 0.0);
  // The pinned column (all values 1000) is covered fully by [1000, 1000].
  CHECK(hc(N - 1) == Approx(1.0));
}

PSGM_BACKEND_TEST_CASE("sample_minimum and count_non_finite", "[stats][pointwise]") {
  using ExecSpace = TestType;
  using Mem = typename ExecSpace::memory_space;
  ExecSpace space;
  int const n = 13, N = 7;
  auto h = psgm_test::synthetic_ensemble(n, N, 9);
  auto d = psgm_test::to_space(space, h);
  Kokkos::View<double*, Mem> mins("psgm::test::mins", n);
  psgm::stats::sample_minimum(space, psgm::stats::const_fields_view<ExecSpace>(d), 0, mins);
  auto const hm = host(mins);
  for (int s = 0; s < n; ++s) {
    double m = h(s, 0, 0);
    for (int i = 1; i < N; ++i) m = std::min(m, h(s, 0, i));
    CHECK(hm(s) == m);
  }
  CHECK(psgm::stats::count_non_finite(space, psgm::stats::const_fields_view<ExecSpace>(d)) == 0);
  h(2, 0, 3) = std::numeric_limits<double>::quiet_NaN();
  h(5, 1, 0) = std::numeric_limits<double>::infinity();
  h(12, 1, 6) = -std::numeric_limits<double>::infinity();
  d = psgm_test::to_space(space, h);
  CHECK(psgm::stats::count_non_finite(space, psgm::stats::const_fields_view<ExecSpace>(d)) == 3);
  CHECK_THROWS_AS(psgm::stats::sample_minimum(space, psgm::stats::const_fields_view<ExecSpace>(d), 2, mins),
                  psgm::InvalidArgument);
}

PSGM_BACKEND_TEST_CASE("pointwise kernels label their kernels and Views and open regions", "[stats][pointwise]") {
  using ExecSpace = TestType;
  using Mem = typename ExecSpace::memory_space;
  ExecSpace space;
  auto const h = psgm_test::synthetic_ensemble(20, 5, 1);
  auto const d = psgm_test::to_space(space, h);
  Kokkos::View<double*, Mem> out("psgm::test::out", 10);
  psgm_test::ProfilingRecorder recorder;
  psgm::stats::SortedColumns<Mem> cols;
  psgm::stats::sort_columns(space, psgm::stats::const_fields_view<ExecSpace>(d), cols);
  psgm::stats::column_quantiles(space, cols, 0.5, out);
  psgm::stats::wasserstein_columns(space, cols, cols, out);
  space.fence();
  CHECK(recorder.has_region("psgm::stats::sort_columns"));
  CHECK(recorder.has_region("psgm::stats::column_quantiles"));
  CHECK(recorder.has_region("psgm::stats::wasserstein_columns"));
  CHECK(recorder.unlabelled_kernels().empty());
  CHECK(recorder.unlabelled_allocations().empty());
  CHECK(!recorder.kernels.empty());
}

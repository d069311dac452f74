// The importance-sampled posterior reference (include/psgm/posterior/Reference.hpp):
// weights, weighted moments and the three metrics against numbers computed
// independently with numpy by python/psgm/posterior_check.py's functions;
// log-sum-exp stability; the refusal below the ESS threshold; a reproducible
// floor; the refusal of observations other than the recorded ones.
#include <psgm_test.hpp>

#include <psgm/Config.hpp>
#include <psgm/core/Error.hpp>
#include <psgm/posterior/Observations.hpp>
#include <psgm/posterior/Reference.hpp>
#if PSGM_ENABLE_HDF5
#include <psgm/workflow/EvaluatePosterior.hpp>
#endif

#include <Kokkos_Core.hpp>

#include <cmath>
#include <random>
#include <vector>

namespace {

using psgm::posterior::Observation;
using psgm::posterior::ObservationOperator;
using HostFields = Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace>;

constexpr int C = 2, N = 3;
std::vector<double> const grid{0.0, 1.0, 2.0};

// The tiny case: 6 reference fields, 4 samples, two probes (one per channel,
// between grid points). Channel 1's middle point is 0.5 in every field: no
// spread, left out of the means.
HostFields reference_fields() {
  HostFields a("psgm::test::reference", 6, C, N);
  for (int i = 0; i < 6; ++i) {
    double const v[C][N] = {{double(i), 2.0 * i + 1, -double(i)}, {double(i * i), 0.5, 3.0 - i}};
    for (int c = 0; c < C; ++c)
      for (int x = 0; x < N; ++x) a(i, c, x) = v[c][x];
  }
  return a;
}
HostFields sample_fields() {
  HostFields s("psgm::test::samples", 4, C, N);
  for (int k = 0; k < 4; ++k) {
    double const v[C][N] = {{1 + 0.1 * k, 2.5 + 0.3 * k, -1 + 0.2 * k}, {1.5 * k, 0.5, 2 - 0.4 * k}};
    for (int c = 0; c < C; ++c)
      for (int x = 0; x < N; ++x) s(k, c, x) = v[c][x];
  }
  return s;
}
std::vector<Observation> const probes{{0, 0.5, 2.0, 1.5}, {1, 1.5, 1.0, 2.0}};

template <class Mem>
auto on(HostFields const& h) {
  return Kokkos::create_mirror_view_and_copy(Mem{}, h);
}

}  // namespace

// The expected numbers, from numpy (PYTHONPATH=python):
//   from psgm.posterior_check import weights, metrics, operator
//   A = [[[i, 2i+1, -i], [i², 0.5, 3-i]] for i in 0..5];  S = [[[1+.1k, 2.5+.3k, -1+.2k], [1.5k, .5, 2-.4k]] for k in 0..3]
//   obs = [(0, 0.5, 2.0, 1.5), (1, 1.5, 1.0, 2.0)];  H = operator(obs, [0, 1, 2], 2)
//   w, ess = weights(A, H, obs);  metrics(S, A, w, 2)
PSGM_BACKEND_TEST_CASE("the weighted reference and its metrics match numpy's", "[posterior][reference]") {
  using ExecSpace = TestType;
  using Mem = typename ExecSpace::memory_space;
  ExecSpace space;
  ObservationOperator const H(probes, grid, C);
  auto const A = on<Mem>(reference_fields());
  auto const S = on<Mem>(sample_fields());
  auto const w = psgm::posterior::importance_weights<ExecSpace>(space, A, H);
  auto const hw = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, w.weights);
  double const expected_w[6] = {2.4635108372837158e-01, 4.3235961674469497e-01, 2.6223936357726119e-01,
                                5.4968356765050803e-02, 3.9818944086323317e-03, 9.9684775988975676e-05};
  for (int i = 0; i < 6; ++i) CHECK(hw(i) == Approx(expected_w[i]).epsilon(1e-13));
  CHECK(w.ess == Approx(3.130570810443693).epsilon(1e-13));
  auto const m = psgm::posterior::posterior_metrics<ExecSpace>(space, S, A, w.weights, 0.95);
  REQUIRE(m.size() == 2);
  CHECK(m[0].points == 3);
  CHECK(m[1].points == 2);  // the constant point has no spread
  CHECK(m[0].mean_error == Approx(0.23651331447121307).epsilon(1e-12));
  CHECK(m[0].spread_error == Approx(0.7759154065819511).epsilon(1e-12));
  CHECK(m[0].coverage == Approx(0.14411987224823167).epsilon(1e-12));
  CHECK(m[1].mean_error == Approx(0.30964748585224805).epsilon(1e-12));
  CHECK(m[1].spread_error == Approx(0.3056579091577045).epsilon(1e-12));
  CHECK(m[1].coverage == Approx(0.47841917194960865).epsilon(1e-12));
}

PSGM_BACKEND_TEST_CASE("importance weights are stable for tiny noise (log-sum-exp)",
                       "[posterior][reference]") {
  using ExecSpace = TestType;
  using Mem = typename ExecSpace::memory_space;
  ExecSpace space;
  // Residuals of 1e4 noise units and more: exp(-½ r²) is 0 for every field
  // without the shift; with it the closest field carries the weight.
  ObservationOperator const H({{0, 1.0, 3.0 + 1e-4, 1e-8}}, grid, C);
  auto const A = on<Mem>(reference_fields());  // (H x_i) = 2i + 1: field 1 is closest
  auto const w = psgm::posterior::importance_weights<ExecSpace>(space, A, H);
  auto const hw = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, w.weights);
  CHECK(hw(1) == 1.0);
  for (int i : {0, 2, 3, 4, 5}) CHECK(hw(i) == 0.0);
  CHECK(w.ess == 1.0);
  CHECK(w.max_log_weight == Approx(-0.5 * 1e8).epsilon(1e-6));
}

PSGM_BACKEND_TEST_CASE("a reference below the ESS threshold is refused, the floor is reproducible",
                       "[posterior][reference]") {
  using ExecSpace = TestType;
  using Mem = typename ExecSpace::memory_space;
  ExecSpace space;
  // 400 reference fields x_i(c, x) = sin-like in i: the halves weigh alike.
  int const R = 400;
  HostFields h("psgm::test::big_reference", R, C, N);
  for (int i = 0; i < R; ++i)
    for (int c = 0; c < C; ++c)
      for (int x = 0; x < N; ++x) h(i, c, x) = std::sin(0.37 * i + 1.3 * c + 0.71 * x) * (1 + 0.1 * x);
  auto const A = on<Mem>(h);
  auto const S = on<Mem>(sample_fields());
  ObservationOperator const H({{0, 0.5, 0.2, 0.5}}, grid, C);
  psgm::posterior::PosteriorReferenceOptions o;
  o.min_ess = 1000;  // more than 200 fields per half can give
  auto const refused = psgm::posterior::compare_posterior<ExecSpace>(space, S, A, H, o);
  CHECK_FALSE(refused.judged);
  CHECK(refused.metrics.empty());
  CHECK(refused.ess_reference < 200);
  CHECK(refused.ess_floor < 200);
  CHECK(refused.message.find("below the threshold min_ess = 1000") != std::string::npos);
  CHECK(refused.message.find("ESS ") != std::string::npos);
  o.min_ess = 50;
  o.floor_draws = 5;
  auto const a = psgm::posterior::compare_posterior<ExecSpace>(space, S, A, H, o);
  auto const b = psgm::posterior::compare_posterior<ExecSpace>(space, S, A, H, o);
  o.seed = 1;
  auto const c = psgm::posterior::compare_posterior<ExecSpace>(space, S, A, H, o);
  REQUIRE(a.judged);
  REQUIRE(a.floor.size() == 2);
  for (int f = 0; f < 2; ++f) {
    CHECK(a.floor[f].mean_error == b.floor[f].mean_error);
    CHECK(a.floor[f].spread_error == b.floor[f].spread_error);
    CHECK(a.floor[f].coverage == b.floor[f].coverage);
    CHECK(a.floor[f].mean_error != c.floor[f].mean_error);
    CHECK(a.metrics[f].mean_error == c.metrics[f].mean_error);  // the seed is the floor's only
    // n = 4 fields resampled from B: a floor above zero, coverage a fraction.
    CHECK(a.floor[f].mean_error > 0);
    CHECK(a.floor[f].coverage > 0);
    CHECK(a.floor[f].coverage < 1);
  }
  o.floor_draws = 0;
  CHECK_THROWS_AS(psgm::posterior::compare_posterior<ExecSpace>(space, S, A, H, o), psgm::InvalidArgument);
}

PSGM_BACKEND_TEST_CASE("the floor resamples by the weights: n draws from the posterior sit at its noise level",
                       "[posterior][reference]") {
  using ExecSpace = TestType;
  using Mem = typename ExecSpace::memory_space;
  ExecSpace space;
  // x(c, x) = z (1 + 0.1 x) + 0.3 e, z and e standard normal; a probe of
  // channel 0 at x = 0 reading 1.5 ± 0.3 moves the posterior's mean several
  // posterior spreads away from the prior's (2.7 and 3.4 in the mean error,
  // channels 1 and 0). Draws that ignored the weights would miss it by that
  // much; n = 500 draws by the weights miss it
  // by about sqrt(2/pi) sqrt(1/n + 1/ESS) posterior spreads.
  int const R = 40000, n = 500;
  HostFields h("psgm::test::gaussian_reference", R, C, N);
  std::mt19937_64 gen(17);
  std::normal_distribution<double> normal;
  for (int i = 0; i < R; ++i) {
    double const z = normal(gen);
    for (int c = 0; c < C; ++c)
      for (int x = 0; x < N; ++x) h(i, c, x) = z * (1 + 0.1 * x) + 0.3 * normal(gen);
  }
  // The samples: the first n fields of the prior (a wrong posterior).
  HostFields prior("psgm::test::prior_samples", n, C, N);
  for (int i = 0; i < n; ++i)
    for (int c = 0; c < C; ++c)
      for (int x = 0; x < N; ++x) prior(i, c, x) = h(i, c, x);
  ObservationOperator const H({{0, 0.0, 1.5, 0.3}}, grid, C);
  psgm::posterior::PosteriorReferenceOptions o;
  o.min_ess = 500;
  auto const r = psgm::posterior::compare_posterior<ExecSpace>(space, on<Mem>(prior), on<Mem>(h), H, o);
  REQUIRE(r.judged);
  double const expected = std::sqrt(2 / 3.141592653589793) * std::sqrt(1.0 / n + 1.0 / r.ess_reference);
  for (int c = 0; c < C; ++c) {
    CHECK(r.metrics[c].mean_error > 2.0);  // the prior is far from the posterior
    CHECK(r.floor[c].mean_error > 0.5 * expected);
    CHECK(r.floor[c].mean_error < 2.0 * expected);
    CHECK(r.floor[c].spread_error < 0.15);
    CHECK(std::abs(r.floor[c].coverage - 0.95) < 0.02);
  }
}

#if PSGM_ENABLE_HDF5
TEST_CASE("observations other than the recorded ones are refused", "[posterior][reference]") {
  using psgm::workflow::require_same_observations;
  CHECK_NOTHROW(require_same_observations(probes, probes, "'post.h5'"));
  auto other = probes;
  other[1].value = 1.5;
  try {
    require_same_observations(other, probes, "'post.h5'");
    FAIL("a different value was accepted");
  } catch (psgm::InvalidArgument const& e) {
    std::string const what = e.what();
    CHECK(what.find("'post.h5': observation 1 is recorded as") != std::string::npos);
    CHECK(what.find("refusing to judge") != std::string::npos);
  }
  other = probes;
  other[0].channel = 1;
  CHECK_THROWS_AS(require_same_observations(other, probes, "'post.h5'"), psgm::InvalidArgument);
  CHECK_THROWS_AS(require_same_observations({probes[0]}, probes, "'post.h5'"), psgm::InvalidArgument);
}
#endif

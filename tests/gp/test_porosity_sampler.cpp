// The porosity sampler (docs/model.md §2): factors reproduce K, the sample
// covariance of many draws matches K within a Monte-Carlo bound, draws are
// reproducible and independent of batching, the maps are eqs. 3–4, bad input
// is rejected with what was expected, and everything is labelled.
#include <psgm/core/Error.hpp>
#include <psgm/gp/PorositySampler.hpp>
#include <psgm/pde/ElectrodeParameters.hpp>

#include <ProfilingRecorder.hpp>
#include <psgm_test.hpp>

#include <cmath>
#include <iostream>
#include <limits>
#include <vector>

namespace {

using psgm::gp::CovarianceKernel;
using psgm::gp::FactorMethod;
using psgm::gp::Factorization;
using psgm::gp::PorosityMap;
using psgm::gp::PorosityModel;

std::vector<double> grid(int N) {
  psgm::pde::ElectrodeParameters p;
  p.N = N;
  return p.cell_centres();
}

/// max |C Cᵀ - K| / max |K|
double reconstruction_error(psgm::gp::CovarianceFactor const& f, std::vector<double> const& K) {
  int const n = f.num_cells;
  double err = 0, kmax = 0;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      double s = 0;
      for (int c = 0; c < f.rank; ++c) s += f.matrix[i + c * n] * f.matrix[j + c * n];
      err = std::max(err, std::abs(s - K[i + j * n]));
      kmax = std::max(kmax, std::abs(K[i + j * n]));
    }
  return err / kmax;
}

template <class ExecSpace>
std::vector<double> to_host(typename psgm::gp::PorositySampler<ExecSpace>::field_view v) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, v);
  return std::vector<double>(h.data(), h.data() + h.size());
}

}  // namespace

PSGM_BACKEND_TEST_CASE("covariance factors reproduce K for every kernel", "[gp][factor]") {
  double const L = 1e-4;
  auto const x = grid(40);
  for (auto kernel : {CovarianceKernel::squared_exponential, CovarianceKernel::matern32, CovarianceKernel::matern52}) {
    for (double l : {L / 50, L / 10, L / 5}) {
      PorosityModel m;
      m.kernel = kernel;
      auto const K = psgm::gp::assemble_covariance(m, l, x);
      auto const f = psgm::gp::factor_covariance(m, l, x);
      INFO(to_string(kernel) << ", l = " << l);
      CHECK(f.method == FactorMethod::cholesky);  // the nugget keeps K SPD
      CHECK(reconstruction_error(f, K) <= 1e-13);
      m.factorization = Factorization::eigen;
      auto const e = psgm::gp::factor_covariance(m, l, x);
      CHECK(e.method == FactorMethod::eigen);
      CHECK(reconstruction_error(e, K) <= 1e-12);
    }
  }
  // Without a nugget the squared-exponential matrix of a long l is singular
  // to round-off: Cholesky fails, the automatic choice truncates.
  PorosityModel m;
  m.nugget = 0;
  auto const K = psgm::gp::assemble_covariance(m, L, x);
  auto const f = psgm::gp::factor_covariance(m, L, x);
  CHECK(f.method == FactorMethod::eigen);
  CHECK(f.rank < 40);
  std::cout << "SE, l = L, no nugget: Karhunen-Loeve rank " << f.rank << " of 40, dropped variance fraction "
            << f.dropped_variance << ", reconstruction error " << reconstruction_error(f, K) << '\n';
  CHECK(reconstruction_error(f, K) <= 1e-12);
  m.factorization = Factorization::cholesky;
  CHECK_THROWS_AS(psgm::gp::factor_covariance(m, L, x), psgm::NumericalError);
  CHECK_THROWS_WITH(psgm::gp::factor_covariance(m, L, x), Catch::Contains("Cholesky failed") &&
                                                              Catch::Contains("automatic"));
}

PSGM_BACKEND_TEST_CASE("sample covariance of the latent draws matches K", "[gp][statistics]") {
  using ExecSpace = TestType;
  ExecSpace space;
  int const N = 8, M = 20000;
  auto const x = grid(N);
  for (auto kernel : {CovarianceKernel::squared_exponential, CovarianceKernel::matern32}) {
    PorosityModel m;
    m.kernel = kernel;
    double const l = 2e-5;
    psgm::gp::PorositySampler<ExecSpace> sampler(space, m, x);
    typename psgm::gp::PorositySampler<ExecSpace>::field_view g("psgm::test::g", M, N);
    sampler.sample_latent(space, l, 42, 0, g);
    space.fence();
    auto const h = to_host<ExecSpace>(g);
    auto const K = psgm::gp::assemble_covariance(m, l, x);
    // Var(Ŝ_ij) ≈ (K_ij² + K_ii K_jj) / M for Gaussian data (known zero mean):
    // the bound is 5 standard deviations per entry (36 distinct entries:
    // a false alarm has probability < 2e-5).
    double worst = 0;
    for (int i = 0; i < N; ++i)
      for (int j = 0; j <= i; ++j) {
        double s = 0;
        for (int r = 0; r < M; ++r) s += h[r * N + i] * h[r * N + j];
        s /= M;
        double const sd = std::sqrt((K[i + j * N] * K[i + j * N] + K[i + i * N] * K[j + j * N]) / M);
        worst = std::max(worst, std::abs(s - K[i + j * N]) / sd);
        CHECK(std::abs(s - K[i + j * N]) <= 5 * sd);
      }
    std::cout << to_string(kernel) << ": largest |sample covariance - K| = " << worst
              << " Monte-Carlo standard deviations (bound 5), M = " << M << '\n';
  }
}

PSGM_BACKEND_TEST_CASE("draws are reproducible and independent of batching", "[gp][reproducibility]") {
  using ExecSpace = TestType;
  using Sampler = psgm::gp::PorositySampler<ExecSpace>;
  ExecSpace space;
  int const N = 30;
  PorosityModel m;
  Sampler sampler(space, m, grid(N));
  double const l = 1e-5;
  typename Sampler::field_view all("psgm::test::all", 10, N), again("psgm::test::again", 10, N);
  typename Sampler::field_view head("psgm::test::head", 4, N), tail("psgm::test::tail", 6, N);
  sampler.sample(space, l, 7, 100, all);
  sampler.sample(space, l, 7, 100, again);
  sampler.sample(space, l, 7, 100, head);
  sampler.sample(space, l, 7, 104, tail);
  space.fence();
  auto const a = to_host<ExecSpace>(all), b = to_host<ExecSpace>(again);
  auto const h = to_host<ExecSpace>(head), t = to_host<ExecSpace>(tail);
  CHECK(a == b);
  std::vector<double> joined(h);
  joined.insert(joined.end(), t.begin(), t.end());
  CHECK(a == joined);  // bitwise: same (seed, item) -> same field, whatever the batch
  // A fresh sampler (no cached factor) gives the same fields.
  Sampler other(space, m, grid(N));
  typename Sampler::field_view fresh("psgm::test::fresh", 10, N);
  other.sample(space, l, 7, 100, fresh);
  space.fence();
  CHECK(to_host<ExecSpace>(fresh) == a);
  // Another seed gives other fields.
  sampler.sample(space, l, 8, 100, fresh);
  space.fence();
  CHECK(to_host<ExecSpace>(fresh) != a);
}

PSGM_BACKEND_TEST_CASE("porosity maps are eqs. 3 and 4", "[gp][map]") {
  using ExecSpace = TestType;
  using Sampler = psgm::gp::PorositySampler<ExecSpace>;
  ExecSpace space;
  int const N = 12, M = 50;
  for (auto map : {PorosityMap::sigmoid, PorosityMap::gaussian_cdf}) {
    PorosityModel m;
    m.map = map;
    Sampler sampler(space, m, grid(N));
    typename Sampler::field_view g("psgm::test::g", M, N), eps("psgm::test::eps", M, N);
    sampler.sample_latent(space, 3e-5, 5, 0, g);
    sampler.sample(space, 3e-5, 5, 0, eps);
    space.fence();
    auto const gh = to_host<ExecSpace>(g), eh = to_host<ExecSpace>(eps);
    double const sd = std::sqrt(m.sigma * m.sigma + m.nugget);
    for (std::size_t k = 0; k < gh.size(); ++k) {
      double const s = map == PorosityMap::sigmoid ? 1 / (1 + std::exp(-gh[k])) : 0.5 * std::erfc(-gh[k] / sd / std::sqrt(2.0));
      CHECK(eh[k] == Approx(0.2 + 0.3 * s).epsilon(1e-14));
      CHECK(eh[k] > 0.2);
      CHECK(eh[k] < 0.5);
    }
  }
  // The factor cache: one factorisation per l.
  PorosityModel m;
  Sampler sampler(space, m, grid(N));
  typename Sampler::field_view eps("psgm::test::eps", 3, N);
  for (int r = 0; r < 3; ++r) sampler.sample(space, 2e-5, 1, r, eps);
  sampler.sample(space, 3e-5, 1, 0, eps);
  CHECK(sampler.factor(2e-5).get() == sampler.factor(2e-5).get());
}

PSGM_BACKEND_TEST_CASE("bad porosity-model input is rejected with what was expected", "[gp][errors]") {
  using ExecSpace = TestType;
  using Sampler = psgm::gp::PorositySampler<ExecSpace>;
  ExecSpace space;
  auto const x = grid(10);
  PorosityModel m;
  Sampler sampler(space, m, x);
  typename Sampler::field_view eps("psgm::test::eps", 2, 10);
  CHECK_THROWS_WITH(sampler.sample(space, 0.0, 1, 0, eps), Catch::Contains("l = 0") && Catch::Contains("> 0"));
  CHECK_THROWS_WITH(sampler.sample(space, -1e-5, 1, 0, eps), Catch::Contains("l = -1"));
  CHECK_THROWS_WITH(sampler.sample(space, std::numeric_limits<double>::quiet_NaN(), 1, 0, eps),
                    Catch::Contains("l = nan"));
  typename Sampler::field_view wrong("psgm::test::wrong", 2, 9);
  CHECK_THROWS_WITH(sampler.sample(space, 1e-5, 1, 0, wrong), Catch::Contains("expected N = 10"));
  m.epsilon_min = 0.5;
  m.epsilon_max = 0.2;
  CHECK_THROWS_WITH(Sampler(space, m, x), Catch::Contains("epsilon_min = 0.5") && Catch::Contains("reversed"));
  m = {};
  m.epsilon_max = 1.2;
  CHECK_THROWS_WITH(m.validate(), Catch::Contains("inside (0, 1)"));
  m = {};
  m.sigma = -1;
  CHECK_THROWS_WITH(m.validate(), Catch::Contains("sigma = -1") && Catch::Contains("> 0"));
  m = {};
  m.nugget = -1e-3;
  CHECK_THROWS_WITH(m.validate(), Catch::Contains("nugget = -0.001"));
  CHECK_THROWS_WITH(psgm::gp::covariance_kernel_from_string("rbf"),
                    Catch::Contains("'rbf'") && Catch::Contains("squared_exponential, matern32, matern52"));
  CHECK_THROWS_WITH(psgm::gp::porosity_map_from_string("tanh"), Catch::Contains("sigmoid, gaussian_cdf"));
  CHECK(psgm::gp::covariance_kernel_from_string("matern52") == CovarianceKernel::matern52);
  CHECK(std::string(to_string(PorosityMap::gaussian_cdf)) == "gaussian_cdf");
  CHECK_THROWS_WITH(Sampler(space, PorosityModel{}, std::vector<double>{}), Catch::Contains("N >= 1"));
}

PSGM_BACKEND_TEST_CASE("sampler labels its kernels and views and opens regions", "[gp][profiling]") {
  using ExecSpace = TestType;
  using Sampler = psgm::gp::PorositySampler<ExecSpace>;
  ExecSpace space;
  // Kokkos' team scratch allocated before recording: otherwise inside KokkosBlas::gemm's launch.
  psgm_test::warm_up_team_scratch(space);
  psgm_test::ProfilingRecorder recorder;
  Sampler sampler(space, PorosityModel{}, grid(16));
  typename Sampler::field_view eps("psgm::test::eps", 5, 16);
  sampler.sample(space, 2e-5, 3, 0, eps);
  sampler.sample_latent(space, 2e-5, 3, 0, eps);
  space.fence();
  CHECK(recorder.has_region("psgm::gp::PorositySampler::sample"));
  CHECK(recorder.has_region("psgm::gp::PorositySampler::sample_latent"));
  // KokkosBlas::gemm's own kernels carry KokkosKernels' labels.
  std::vector<std::string> foreign;
  for (auto const& k : recorder.unlabelled_kernels())
    if (k.rfind("KokkosBlas", 0) != 0) foreign.push_back(k);
  CHECK(foreign.empty());
  for (auto const& a : recorder.unlabelled_allocations()) UNSCOPED_INFO("allocation without a psgm:: label: " << a);
  CHECK(recorder.unlabelled_allocations().empty());
}

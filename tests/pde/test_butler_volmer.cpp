// Butler–Volmer kinetics (docs/model.md §6.3): the batched block-tridiagonal
// Newton against a dense finite-difference Newton on the same equations, its
// linearisation to the reference kinetics, and its quadratic convergence.
#include "DenseReference.hpp"
#include "RandomPorosity.hpp"

#include <psgm/pde/EnsembleSolver.hpp>

#include <psgm_test.hpp>

#include <cmath>
#include <iostream>
#include <random>
#include <vector>

namespace {

using psgm::pde::ConcentrationMode;
using psgm::pde::ElectrodeParameters;
using psgm::pde::Kinetics;

struct Run {
  std::vector<Eigen::VectorXd> c, phi;
  std::vector<psgm::SolveStatus> status;
  std::vector<int> iterations;
  Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> history;
};

template <class ExecSpace>
Run solve(ElectrodeParameters const& p, std::vector<std::vector<double>> const& eps, std::vector<double> const& U0,
          std::vector<double> const& F) {
  using Mem = typename ExecSpace::memory_space;
  ExecSpace space;
  int const B = static_cast<int>(eps.size()), N = p.N;
  Kokkos::View<double**, Kokkos::LayoutRight, Mem> e("psgm::test::eps", B, N);
  Kokkos::View<double*, Mem> u("psgm::test::U0", B), f("psgm::test::F", B);
  auto eh = Kokkos::create_mirror_view(e);
  auto uh = Kokkos::create_mirror_view(u);
  auto fh = Kokkos::create_mirror_view(f);
  for (int b = 0; b < B; ++b) {
    for (int i = 0; i < N; ++i) eh(b, i) = eps[b][i];
    uh(b) = U0[b];
    fh(b) = F[b];
  }
  Kokkos::deep_copy(e, eh);
  Kokkos::deep_copy(u, uh);
  Kokkos::deep_copy(f, fh);
  Kokkos::View<double***, Kokkos::LayoutRight, Mem> fields("psgm::test::fields", B, 2, N);
  Kokkos::View<psgm::SolveStatus*, Mem> status("psgm::test::status", B);
  psgm::pde::EnsembleSolver<ExecSpace> solver(space, p, B);
  solver.solve(space, e, u, f, fields, status);
  space.fence();
  auto fh2 = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, fields);
  auto sh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, status);
  auto its = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, solver.newton_iterations());
  Run r;
  r.history = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, solver.newton_history());
  for (int b = 0; b < B; ++b) {
    Eigen::VectorXd c(N), phi(N);
    for (int i = 0; i < N; ++i) {
      c(i) = fh2(b, 0, i);
      phi(i) = fh2(b, 1, i);
    }
    r.c.push_back(c);
    r.phi.push_back(phi);
    r.status.push_back(sh(b));
    r.iterations.push_back(its.extent(0) ? its(b) : 0);
  }
  return r;
}

using psgm_test::random_porosity;

}  // namespace

PSGM_BACKEND_TEST_CASE("Butler-Volmer Newton matches a dense Newton on the same equations", "[pde][butler_volmer]") {
  using ExecSpace = TestType;
  for (auto mode : {ConcentrationMode::steady, ConcentrationMode::transient}) {
    for (int N : {3, 8}) {
      ElectrodeParameters p;
      p.N = N;
      p.kinetics = Kinetics::butler_volmer;
      p.mode = mode;
      p.T = 0.3;  // three implicit steps in transient mode
      int const B = 4;
      auto const eps = random_porosity(B, N, 21 + N);
      std::vector<double> U0{-0.2, -0.05, 0.1, 0.2}, F{0, 10, 25, 50};
      auto const got = solve<ExecSpace>(p, eps, U0, F);
      for (int b = 0; b < B; ++b) {
        psgm_test::DenseReference ref(p, eps[b]);
        auto const want = ref.butler_volmer(U0[b], F[b]);
        INFO("mode " << to_string(mode) << ", N = " << N << ", realisation " << b << ", c " << got.c[b].transpose()
                      << ", phi " << got.phi[b].transpose() << ", dense c " << want.c.transpose() << ", phi "
                      << want.phi.transpose() << ", iterations " << got.iterations[b]);
        REQUIRE(got.status[b] == psgm::SolveStatus::ok);
        double const phi_scale = std::max(want.phi.cwiseAbs().maxCoeff(), std::abs(U0[b]) + p.G * p.L);
        double const phi_err = (got.phi[b] - want.phi).cwiseAbs().maxCoeff() / phi_scale;
        double const c_err = psgm_test::relative_error(got.c[b], want.c);
        CAPTURE(phi_err, c_err);
        CHECK(phi_err <= 1e-12);
        CHECK(c_err <= 1e-12);
      }
    }
  }
}

PSGM_BACKEND_TEST_CASE("Butler-Volmer agrees with linear kinetics at small overpotential", "[pde][butler_volmer]") {
  using ExecSpace = TestType;
  // Deviations from the bulk state differ at relative order (F η / RT)²
  // (symmetric α) and (c - c_ref)/c_ref = O(current): the difference must be
  // small and shrink linearly with the load.
  auto const eps = random_porosity(3, 20, 4);
  std::vector<double> err[2], roundoff[2];
  for (int level = 0; level < 2; ++level) {
    double const s = level == 0 ? 1.0 : 0.1;
    ElectrodeParameters p;
    p.N = 20;
    p.mode = ConcentrationMode::steady;
    p.G = 0.5 * s;  // |η| ~ 1e-4 s V << RT/F = 0.0257 V
    std::vector<double> U0{0.0, 2e-5 * s, -2e-5 * s}, F{0.02 * s, 0.01 * s, 0.0};
    auto const lin = solve<ExecSpace>(p, eps, U0, F);
    p.kinetics = Kinetics::butler_volmer;
    auto const bv = solve<ExecSpace>(p, eps, U0, F);
    for (int b = 0; b < 3; ++b) {
      REQUIRE(bv.status[b] == psgm::SolveStatus::ok);
      Eigen::VectorXd const dc_lin = lin.c[b].array() - p.c_right, dc_bv = bv.c[b].array() - p.c_right;
      double const phi_err = psgm_test::relative_error(bv.phi[b], lin.phi[b]);
      double const c_err = psgm_test::relative_error(dc_bv, dc_lin);
      // c - c_right is a small difference of O(c) numbers: the round-off of c
      // (a few hundred ulps after 1000 steps, on any backend) bounds how
      // well its relative difference can be measured.
      double const floor = 1e-13 * lin.c[b].cwiseAbs().maxCoeff() / dc_lin.cwiseAbs().maxCoeff();
      std::cout << "BV vs linear, load " << s << ", realisation " << b << ": relative difference phi " << phi_err
                << ", c - c_right " << c_err << " (round-off floor " << floor << ")\n";
      err[level].push_back(std::max(phi_err, c_err));
      roundoff[level].push_back(floor);
      CHECK(bv.iterations[b] <= 5);
    }
  }
  for (int b = 0; b < 3; ++b) {
    CHECK(err[0][b] < 1e-3);
    CHECK(err[1][b] <= 0.25 * err[0][b] + 1e-9 + roundoff[1][b]);
  }
}

PSGM_BACKEND_TEST_CASE("Butler-Volmer Newton converges quadratically", "[pde][butler_volmer]") {
  using ExecSpace = TestType;
  ElectrodeParameters p;
  p.N = 50;
  p.kinetics = Kinetics::butler_volmer;
  p.mode = ConcentrationMode::steady;
  p.newton_tolerance = 1e-13;
  // Smooth porosity, strongly nonlinear regime: |η| up to ~0.2 V ≈ 8 RT/F.
  std::vector<std::vector<double>> eps(1, std::vector<double>(p.N));
  for (int i = 0; i < p.N; ++i) eps[0][i] = 0.35 + 0.1 * std::sin(2 * M_PI * (i + 0.5) / p.N);
  auto const r = solve<ExecSpace>(p, eps, {0.2}, {25.0});
  REQUIRE(r.status[0] == psgm::SolveStatus::ok);
  int const its = r.iterations[0];
  std::vector<double> e;
  std::cout << "Newton residual history (scaled RMS, eq. 16):";
  for (int k = 0; k <= its; ++k) {
    e.push_back(r.history(0, k));
    std::cout << ' ' << r.history(0, k);
  }
  std::cout << '\n';
  // Order from the last triple above round-off: p = log(e_{k+1}/e_k) / log(e_k/e_{k-1}).
  double order = 0;
  for (std::size_t k = 1; k + 1 < e.size(); ++k) {
    if (e[k + 1] < 1e-14) break;  // round-off floor of the scaled residual: ~1e-16
    order = std::log(e[k + 1] / e[k]) / std::log(e[k] / e[k - 1]);
  }
  std::cout << "measured Newton order " << order << " after " << its << " iterations\n";
  CHECK(its >= 3);
  CHECK(order >= 1.8);
  CHECK(order <= 2.5);
}

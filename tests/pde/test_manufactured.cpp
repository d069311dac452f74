// Manufactured solutions for the steady operators of docs/model.md: the
// potential operator (eq. 7, harmonic face means, no-flux and flux boundary)
// and the steady concentration operator (eq. 13, no-flux and Dirichlet last
// cell), on refined grids. The kernels are called directly with a
// manufactured solid potential / source; the measured order is printed and
// must be second order.
#include <psgm/pde/impl/EnsembleKernels.hpp>

#include <psgm_test.hpp>

#include <cmath>
#include <iostream>
#include <vector>

namespace {

using namespace psgm::pde;

constexpr double pi = 3.14159265358979323846;

struct Profile {
  double L = 1e-4;
  double eps(double x) const { return 0.35 + 0.1 * std::sin(2 * pi * x / L + 0.3); }
  double deps(double x) const { return 0.1 * (2 * pi / L) * std::cos(2 * pi * x / L + 0.3); }
};

/// Max-norm error of the kernel's solution on N cells against the manufactured one.
template <class ExecSpace>
double manufactured_error(int N, bool potential_operator) {
  using Mem = typename ExecSpace::memory_space;
  ElectrodeParameters p;
  p.N = N;
  p.mode = ConcentrationMode::steady;
  Profile const pr;
  auto const x = p.cell_centres();
  double const b = p.bruggeman;
  // φ*(x) = A cos(π x/L) + B (x/L)²: φ*'(0) = 0, κ(L) φ*'(L) = κ(L) 2B/L = F_right.
  double const A = 1e-3, Bc = 5e-4, U0 = 0.05;
  auto phi_exact = [&](double s) { return A * std::cos(pi * s / p.L) + Bc * (s / p.L) * (s / p.L); };
  auto dphi = [&](double s) { return -A * pi / p.L * std::sin(pi * s / p.L) + 2 * Bc * s / (p.L * p.L); };
  auto d2phi = [&](double s) { return -A * (pi / p.L) * (pi / p.L) * std::cos(pi * s / p.L) + 2 * Bc / (p.L * p.L); };
  // c*(x) = 1000 + 5 cos(π x / (2L)): c*'(0) = 0.
  auto c_exact = [&](double s) { return 1000 + 5 * std::cos(pi * s / (2 * p.L)); };
  auto dc = [&](double s) { return -5 * pi / (2 * p.L) * std::sin(pi * s / (2 * p.L)); };
  auto d2c = [&](double s) { return -5 * (pi / (2 * p.L)) * (pi / (2 * p.L)) * std::cos(pi * s / (2 * p.L)); };

  Kokkos::View<double**, Kokkos::LayoutRight, Mem> eps("psgm::test::eps", 1, N);
  Kokkos::View<double*, Mem> phis("psgm::test::phis", N), source("psgm::test::source", N);
  auto eh = Kokkos::create_mirror_view(eps);
  auto ph = Kokkos::create_mirror_view(phis);
  auto sh = Kokkos::create_mirror_view(source);
  for (int i = 0; i < N; ++i) {
    double const s = x[i], e = pr.eps(s), de = pr.deps(s);
    eh(0, i) = e;
    double const kap = p.kappa0 * std::pow(e, b), dkap = p.kappa0 * b * std::pow(e, b - 1) * de;
    double const dif = p.D0 * std::pow(e, b), ddif = p.D0 * b * std::pow(e, b - 1) * de;
    double const as = p.a0 * (1 - e);
    // (κ φ*')' + a_s k_rn (φ_s - φ* - U0) = 0  =>  φ_s = φ* + U0 - (κ φ*')' / (a_s k_rn)
    ph(i) = phi_exact(s) + U0 - (dkap * dphi(s) + kap * d2phi(s)) / (as * p.k_rn);
    // (D c*')' + S = 0
    sh(i) = -(ddif * dc(s) + dif * d2c(s));
  }
  Kokkos::deep_copy(eps, eh);
  Kokkos::deep_copy(phis, ph);
  Kokkos::deep_copy(source, sh);
  double const F_right = p.kappa0 * std::pow(pr.eps(p.L), b) * dphi(p.L);
  auto k = Impl::Constants::from(p);
  k.c_right = c_exact(x[N - 1]);  // the Dirichlet value sits on the last cell centre

  Kokkos::View<double***, Kokkos::LayoutLeft, Mem> work("psgm::test::work", 1, N, Impl::num_linear_slots);
  Kokkos::View<double*, Mem> out("psgm::test::out", N);
  Kokkos::parallel_for(
      "psgm::test::manufactured", Kokkos::RangePolicy<ExecSpace>(0, 1), KOKKOS_LAMBDA(int) {
        Impl::Lane<decltype(work)> const z(work, 0);
        Impl::coefficients(z, eps, 0, k);
        if (potential_operator) {
          Impl::potential(z, phis, U0, F_right, k);
          for (int i = 0; i < k.N; ++i) out(i) = z(Impl::PHI, i);
        } else {
          for (int i = 0; i < k.N; ++i) z(Impl::Q, i) = source(i);
          Impl::steady_concentration(z, k);
          for (int i = 0; i < k.N; ++i) out(i) = z(Impl::C, i);
        }
      });
  auto oh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, out);
  double err = 0;
  for (int i = 0; i < N; ++i)
    err = std::max(err, std::abs(oh(i) - (potential_operator ? phi_exact(x[i]) : c_exact(x[i]))));
  return err;
}

template <class ExecSpace>
void check_order(bool potential_operator) {
  std::vector<int> const grids{25, 50, 100, 200, 400};
  std::vector<double> err;
  for (int N : grids) err.push_back(manufactured_error<ExecSpace>(N, potential_operator));
  std::cout << (potential_operator ? "potential operator (eq. 7)" : "steady concentration operator (eq. 13)")
            << ", manufactured solution, max-norm errors and orders:\n";
  for (std::size_t g = 0; g < grids.size(); ++g) {
    std::cout << "  N = " << grids[g] << "  error " << err[g];
    if (g > 0) {
      double const order = std::log(err[g - 1] / err[g]) / std::log(2.0);
      std::cout << "  order " << order;
      CHECK(order >= 1.8);
      CHECK(order <= 2.2);
    }
    std::cout << '\n';
  }
}

}  // namespace

PSGM_BACKEND_TEST_CASE("potential operator is second order (manufactured solution)", "[pde][manufactured]") {
  check_order<TestType>(true);
}

PSGM_BACKEND_TEST_CASE("steady concentration operator is second order (manufactured solution)", "[pde][manufactured]") {
  check_order<TestType>(false);
}

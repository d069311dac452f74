// The host pack kernels of the ensemble solver (impl/EnsembleHostKernels.hpp,
// issue 17): every instruction-set variant against the others and against the
// portable per-realisation kernels, the batched Butler–Volmer Newton against
// the per-realisation Newton and the dense reference (DenseReference.hpp),
// its iteration counts, statuses in partly filled packs, and the kernel
// option's validation.
#include "DenseReference.hpp"
#include "RandomPorosity.hpp"

#include <psgm/core/Error.hpp>
#include <psgm/pde/EnsembleSolver.hpp>
#include <psgm/pde/impl/EnsembleHostKernels.hpp>

#include <psgm_test.hpp>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

namespace {

using psgm::pde::ConcentrationMode;
using psgm::pde::ElectrodeParameters;
using psgm::pde::Kinetics;
using psgm::pde::SolverKernels;

using psgm_test::random_porosity;

/// Conditions spread over the reference ranges (U0 in [-0.2, 0.2], F_right in [0, 50]).
void conditions(int B, std::vector<double>& U0, std::vector<double>& F) {
  U0.resize(B);
  F.resize(B);
  for (int b = 0; b < B; ++b) {
    U0[b] = -0.2 + 0.4 * ((b * 7) % B) / std::max(1, B - 1);
    F[b] = 50.0 * ((b * 5) % B) / std::max(1, B - 1);
  }
}

struct Result {
  std::vector<Eigen::VectorXd> c, phi;
  std::vector<psgm::SolveStatus> status;
  std::vector<int> iterations, total;
  SolverKernels kernels{};
  int pack_width = 0;
};

template <class ExecSpace>
Result run(ElectrodeParameters const& p, std::vector<std::vector<double>> const& eps, std::vector<double> const& U0,
           std::vector<double> const& F, SolverKernels kernels) {
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
  psgm::pde::EnsembleSolver<ExecSpace> solver(space, p, B, kernels);
  solver.solve(space, e, u, f, fields, status);
  space.fence();
  auto fields_h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, fields);
  auto status_h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, status);
  auto its = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, solver.newton_iterations());
  auto total = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, solver.newton_total_iterations());
  Result r;
  r.kernels = solver.kernels();
  r.pack_width = solver.pack_width();
  for (int b = 0; b < B; ++b) {
    Eigen::VectorXd c(N), phi(N);
    for (int i = 0; i < N; ++i) {
      c(i) = fields_h(b, 0, i);
      phi(i) = fields_h(b, 1, i);
    }
    r.c.push_back(c);
    r.phi.push_back(phi);
    r.status.push_back(status_h(b));
    if (its.extent(0)) {
      r.iterations.push_back(its(b));
      r.total.push_back(total(b));
    }
  }
  return r;
}

/// max over realisations of the relative differences of c and of φ (φ against
/// the magnitude of the unshifted potential, as in test_ensemble_solver.cpp),
/// over realisations that are not flagged non_finite.
std::pair<double, double> difference(ElectrodeParameters const& p, Result const& a, Result const& b,
                                     std::vector<double> const& U0) {
  double dc = 0, dphi = 0;
  for (std::size_t r = 0; r < a.c.size(); ++r) {
    if (a.status[r] == psgm::SolveStatus::non_finite) continue;
    double const phi_scale = std::max(b.phi[r].cwiseAbs().maxCoeff(), std::abs(U0[r]) + std::abs(p.G) * p.L);
    dc = std::max(dc, psgm_test::relative_error(a.c[r], b.c[r]));
    dphi = std::max(dphi, (a.phi[r] - b.phi[r]).cwiseAbs().maxCoeff() / phi_scale);
  }
  return {dc, dphi};
}

/// Realisation r's largest differences of c and φ in the units of
/// newton_tolerance: |Δc|/c_ref and |Δφ|/(RT/F).
std::pair<double, double> scaled_difference(ElectrodeParameters const& p, Result const& a, Result const& b, int r) {
  return {(a.c[r] - b.c[r]).cwiseAbs().maxCoeff() / p.effective_c_ref(),
          (a.phi[r] - b.phi[r]).cwiseAbs().maxCoeff() / p.thermal_voltage()};
}

/// The host kernel variants this CPU can run.
std::vector<SolverKernels> host_variants() {
  namespace hp = psgm::pde::Impl::host_packs;
  std::vector<SolverKernels> out;
  if (hp::supported(hp::Isa::avx512)) out.push_back(SolverKernels::host_avx512);
  if (hp::supported(hp::Isa::avx2)) out.push_back(SolverKernels::host_avx2);
  out.push_back(SolverKernels::host_baseline);
  return out;
}

template <class ExecSpace>
constexpr bool is_host = std::is_same_v<typename ExecSpace::memory_space, Kokkos::HostSpace>;

ElectrodeParameters case_named(char const* name) {
  ElectrodeParameters p;  // "reference": N = 100, 1000 steps
  std::string const n = name;
  if (n == "steady") {
    p.N = 12;
    p.mode = ConcentrationMode::steady;
  } else if (n == "bv transient") {
    p.N = 10;
    p.kinetics = Kinetics::butler_volmer;
    p.T = 1.0;  // 10 steps: the predictor is used from the third on
  } else if (n == "bv steady") {
    p.N = 10;
    p.kinetics = Kinetics::butler_volmer;
    p.mode = ConcentrationMode::steady;
  }
  return p;
}

}  // namespace

PSGM_BACKEND_TEST_CASE("host kernel variants agree with each other and with the portable kernels",
                       "[pde][host_kernels]") {
  using ExecSpace = TestType;
  if constexpr (is_host<ExecSpace>) {
    for (char const* name : {"reference", "steady", "bv transient", "bv steady"}) {
      auto const p = case_named(name);
      int const B = 11;  // not a multiple of any pack width: a partly filled pack
      auto const eps = random_porosity(B, p.N, 17);
      std::vector<double> U0, F;
      conditions(B, U0, F);
      auto const portable = run<ExecSpace>(p, eps, U0, F, SolverKernels::portable);
      auto const automatic = run<ExecSpace>(p, eps, U0, F, SolverKernels::automatic);
      CHECK(automatic.kernels != SolverKernels::portable);
      CHECK(automatic.kernels != SolverKernels::automatic);
      std::vector<Result> variants;
      for (auto kernels : host_variants()) {
        variants.push_back(run<ExecSpace>(p, eps, U0, F, kernels));
        auto const& v = variants.back();
        INFO("case " << name << ", kernels " << to_string(kernels) << " (pack width " << v.pack_width << ")");
        CHECK(v.kernels == kernels);
        CHECK(v.status == portable.status);
        auto const [dc, dphi] = difference(p, v, portable, U0);
        std::cout << "host kernels " << to_string(kernels) << " vs portable, " << name << ": c " << dc << ", phi "
                  << dphi << '\n';
        CHECK(dc <= 1e-12);
        CHECK(dphi <= 1e-12);
      }
      // Every pair of instruction sets.
      for (std::size_t a = 0; a < variants.size(); ++a)
        for (std::size_t b = a + 1; b < variants.size(); ++b) {
          auto const [dc, dphi] = difference(p, variants[a], variants[b], U0);
          INFO("case " << name << ", " << to_string(variants[a].kernels) << " vs " << to_string(variants[b].kernels));
          CHECK(dc <= 1e-12);
          CHECK(dphi <= 1e-12);
        }
    }
  } else {
    SUCCEED("host pack kernels run on host execution spaces only");
  }
}

PSGM_BACKEND_TEST_CASE("host kernels: the reference case matches the dense solve on every instruction set",
                       "[pde][host_kernels][reference]") {
  using ExecSpace = TestType;
  if constexpr (is_host<ExecSpace>) {
    ElectrodeParameters const p;
    auto const eps = random_porosity(3, p.N, 3);
    std::vector<double> const U0{0.0, 0.2, -0.2}, F{25.0, 50.0, 0.0};
    for (auto kernels : host_variants()) {
      auto const got = run<ExecSpace>(p, eps, U0, F, kernels);
      for (int b = 0; b < 3; ++b) {
        auto const want = psgm_test::DenseReference(p, eps[b]).linear(U0[b], F[b]);
        INFO("kernels " << to_string(kernels) << ", realisation " << b);
        double const phi_scale = std::max(want.phi.cwiseAbs().maxCoeff(), std::abs(U0[b]) + p.G * p.L);
        Eigen::VectorXd const dc_got = got.c[b].array() - p.c0, dc_want = want.c.array() - p.c0;
        std::cout << "host kernels " << to_string(kernels) << " vs dense, reference case, realisation " << b
                  << ": c " << psgm_test::relative_error(got.c[b], want.c) << ", c - c0 "
                  << psgm_test::relative_error(dc_got, dc_want) << '\n';
        CHECK((got.phi[b] - want.phi).cwiseAbs().maxCoeff() / phi_scale <= 1e-12);
        CHECK(psgm_test::relative_error(got.c[b], want.c) <= 1e-12);
        CHECK(psgm_test::relative_error(dc_got, dc_want) <= 1e-8);
        CHECK(got.status[b] == psgm::SolveStatus::ok);
      }
    }
  } else {
    SUCCEED("host pack kernels run on host execution spaces only");
  }
}

PSGM_BACKEND_TEST_CASE("batched Butler-Volmer Newton matches the per-realisation Newton and the dense reference",
                       "[pde][host_kernels][butler_volmer]") {
  using ExecSpace = TestType;
  ElectrodeParameters p;
  p.N = 20;
  p.kinetics = Kinetics::butler_volmer;
  p.T = 2.0;  // 20 implicit steps
  int const B = 11;
  auto const eps = random_porosity(B, p.N, 29);
  std::vector<double> U0, F;
  conditions(B, U0, F);
  auto const batched = run<ExecSpace>(p, eps, U0, F, SolverKernels::automatic);
  auto const per_realisation = run<ExecSpace>(p, eps, U0, F, SolverKernels::portable);
  auto const [dc, dphi] = difference(p, batched, per_realisation, U0);
  std::cout << "batched (" << to_string(batched.kernels) << ") vs per-realisation Newton: c " << dc << ", phi " << dphi
            << '\n';
  CHECK(dc <= 1e-12);
  CHECK(dphi <= 1e-12);
  long long sum_batched = 0, sum_portable = 0;
  for (int b = 0; b < B; ++b) {
    INFO("realisation " << b << ", U0 = " << U0[b] << ", F_right = " << F[b]);
    REQUIRE(batched.status[b] == psgm::SolveStatus::ok);
    CHECK(per_realisation.status[b] == psgm::SolveStatus::ok);
    auto const want = psgm_test::DenseReference(p, eps[b]).butler_volmer(U0[b], F[b]);
    double const phi_scale = std::max(want.phi.cwiseAbs().maxCoeff(), std::abs(U0[b]) + p.G * p.L);
    CHECK((batched.phi[b] - want.phi).cwiseAbs().maxCoeff() / phi_scale <= 1e-12);
    CHECK(psgm_test::relative_error(batched.c[b], want.c) <= 1e-12);
    // Iteration counts: at least one Newton iteration per step (the update
    // must be measured), a handful at most once the predictor is in use.
    CHECK(batched.iterations[b] >= 1);
    CHECK(batched.iterations[b] <= 4);
    CHECK(batched.total[b] >= p.num_steps());
    CHECK(batched.total[b] <= 4 * p.num_steps());
    sum_batched += batched.total[b];
    sum_portable += per_realisation.total[b];
  }
  double const per_step = double(sum_batched) / (B * p.num_steps());
  double const per_step_portable = double(sum_portable) / (B * p.num_steps());
  std::cout << "Newton iterations per step: batched " << per_step << ", per-realisation " << per_step_portable << '\n';
  // 20 steps are mostly the early transient, where both predictors (time
  // extrapolation, degrees 5 and 3) still miss: the iteration counts are
  // compared on the reference time span below.
}

PSGM_BACKEND_TEST_CASE("host kernels: statuses per lane of a pack", "[pde][host_kernels][errors]") {
  using ExecSpace = TestType;
  for (auto kin : {Kinetics::linear, Kinetics::butler_volmer}) {
    ElectrodeParameters p;
    p.N = 6;
    p.T = 0.3;
    p.kinetics = kin;
    int const B = 10;
    auto eps = random_porosity(B, p.N, 5);
    eps[3][2] = std::numeric_limits<double>::quiet_NaN();
    std::vector<double> U0(B, 0.1), F(B, 25.0);
    auto const got = run<ExecSpace>(p, eps, U0, F, SolverKernels::automatic);
    auto const portable = run<ExecSpace>(p, eps, U0, F, SolverKernels::portable);
    INFO("kinetics " << to_string(kin) << ", kernels " << to_string(got.kernels));
    for (int b = 0; b < B; ++b) {
      CHECK(got.status[b] == (b == 3 ? psgm::SolveStatus::non_finite : psgm::SolveStatus::ok));
      CHECK(got.status[b] == portable.status[b]);
    }
    CHECK(std::isnan(got.c[3](0)));
    CHECK(std::isnan(got.phi[3](p.N - 1)));
    auto const [dc, dphi] = difference(p, got, portable, U0);
    CHECK(dc <= 1e-12);
    CHECK(dphi <= 1e-12);
  }
  // A Newton that may not converge: the same not_converged statuses and
  // counts as the per-realisation solver.
  ElectrodeParameters p;
  p.N = 8;
  p.kinetics = Kinetics::butler_volmer;
  p.mode = ConcentrationMode::steady;
  p.newton_max_iterations = 2;
  int const B = 5;
  auto const eps = random_porosity(B, p.N, 8);
  std::vector<double> U0{-0.2, -0.1, 0.0, 0.1, 0.2}, F{0, 10, 20, 40, 50};
  auto const got = run<ExecSpace>(p, eps, U0, F, SolverKernels::automatic);
  auto const portable = run<ExecSpace>(p, eps, U0, F, SolverKernels::portable);
  for (int b = 0; b < B; ++b) {
    INFO("realisation " << b);
    CHECK(got.status[b] == psgm::SolveStatus::not_converged);
    CHECK(got.status[b] == portable.status[b]);
    CHECK(got.iterations[b] == 2);
  }
}

PSGM_BACKEND_TEST_CASE("solver kernel choice is validated", "[pde][host_kernels][errors]") {
  using ExecSpace = TestType;
  namespace hp = psgm::pde::Impl::host_packs;
  ExecSpace space;
  ElectrodeParameters p;
  p.N = 5;
  CHECK(std::string(to_string(SolverKernels::host_avx2)) == "host_avx2");
  psgm::pde::EnsembleSolver<ExecSpace> portable(space, p, 3, SolverKernels::portable);
  CHECK(portable.kernels() == SolverKernels::portable);
  if constexpr (is_host<ExecSpace>) {
    psgm::pde::EnsembleSolver<ExecSpace> solver(space, p, 3);
    CHECK(solver.pack_width() == hp::pack_width(hp::best_isa()));
    p.kinetics = Kinetics::butler_volmer;
    CHECK(psgm::pde::EnsembleSolver<ExecSpace>(space, p, 3).pack_width() ==
          hp::pack_width(hp::best_isa(), Kinetics::butler_volmer));
    if (!hp::supported(hp::Isa::avx512))
      CHECK_THROWS_WITH((psgm::pde::EnsembleSolver<ExecSpace>(space, p, 3, SolverKernels::host_avx512)),
                        Catch::Contains("host_avx512") && Catch::Contains("instruction set this CPU lacks"));
  } else {
    psgm::pde::EnsembleSolver<ExecSpace> solver(space, p, 3);
    CHECK(solver.kernels() == SolverKernels::portable);
    CHECK_THROWS_WITH((psgm::pde::EnsembleSolver<ExecSpace>(space, p, 3, SolverKernels::host_baseline)),
                      Catch::Contains("runs only on host execution spaces"));
  }
}

PSGM_BACKEND_TEST_CASE("batched Butler-Volmer Newton on the reference grid and time span",
                       "[pde][host_kernels][butler_volmer]") {
  using ExecSpace = TestType;
  if constexpr (is_host<ExecSpace>) {
    // N = 100, 1000 steps, conditions over the reference ranges: the batched
    // Newton (with its predictor) against the per-realisation Newton.
    ElectrodeParameters p;
    p.kinetics = Kinetics::butler_volmer;
    int const B = 6;
    auto const eps = random_porosity(B, p.N, 41);
    std::vector<double> const U0{-0.2, -0.1, 0.0, 0.05, 0.15, 0.2}, F{50, 0, 25, 40, 10, 50};
    auto const batched = run<ExecSpace>(p, eps, U0, F, SolverKernels::automatic);
    auto const per_realisation = run<ExecSpace>(p, eps, U0, F, SolverKernels::portable);
    auto const [dc, dphi] = difference(p, batched, per_realisation, U0);
    std::cout << "reference grid, batched vs per-realisation Newton: c " << dc << ", phi " << dphi << '\n';
    CHECK(dc <= 1e-12);
    CHECK(dphi <= 1e-12);
    for (int b = 0; b < B; ++b) {
      INFO("realisation " << b);
      CHECK(batched.status[b] == psgm::SolveStatus::ok);
      CHECK(per_realisation.status[b] == psgm::SolveStatus::ok);
      // The batched predictor's higher degree (5 against 3) saves iterations;
      // both make most steps converge in one (about three per step without).
      CHECK(batched.total[b] <= per_realisation.total[b]);
      CHECK(batched.total[b] <= 1.2 * p.num_steps());
      CHECK(per_realisation.total[b] <= 1.5 * p.num_steps());
    }
  } else {
    SUCCEED("the per-realisation Newton is the device path; compared on host spaces");
  }
}

PSGM_BACKEND_TEST_CASE("batched Butler-Volmer Newton: the simplified (chord) steps meet the tolerance",
                       "[pde][host_kernels][butler_volmer]") {
  using ExecSpace = TestType;
  if constexpr (is_host<ExecSpace>) {
    // 400 steps: past the early transient most steps are taken with the
    // factorisation of an earlier step (docs/model.md §6.3). Their result is
    // not the full Newton's to rounding but within the tolerance of the
    // update size, which a loose tolerance makes visible: the scaled
    // difference to the per-realisation Newton (a fresh Jacobian in every
    // iteration) must stay below it, on every instruction set.
    ElectrodeParameters p;
    p.kinetics = Kinetics::butler_volmer;
    p.N = 40;
    p.T = 40.0;  // 400 implicit steps
    int const B = 12;
    auto const eps = random_porosity(B, p.N, 77);
    std::vector<double> U0, F;
    conditions(B, U0, F);
    // 1e-13: near rounding, where many steps need a second iteration and
    // chord attempts can fail (3 % of them on the reference case), the full
    // Newton then taking over from the same guess (docs/model.md §6.3).
    for (double tol : {1e-6, 1e-10, 1e-13}) {
      p.newton_tolerance = tol;
      auto const per_realisation = run<ExecSpace>(p, eps, U0, F, SolverKernels::portable);
      for (auto kernels : host_variants()) {
        auto const batched = run<ExecSpace>(p, eps, U0, F, kernels);
        double dc = 0, dphi = 0;
        long long total = 0;
        for (int b = 0; b < B; ++b) {
          INFO("tolerance " << tol << ", " << to_string(kernels) << ", realisation " << b);
          REQUIRE(batched.status[b] == psgm::SolveStatus::ok);
          REQUIRE(per_realisation.status[b] == psgm::SolveStatus::ok);
          auto const [c_b, phi_b] = scaled_difference(p, batched, per_realisation, b);
          dc = std::max(dc, c_b);
          dphi = std::max(dphi, phi_b);
          total += batched.total[b];
        }
        double const per_step = double(total) / (B * p.num_steps());
        std::cout << "tolerance " << tol << ", " << to_string(kernels) << ": scaled difference c " << dc << ", phi "
                  << dphi << "; Newton iterations per step " << per_step << '\n';
        CHECK(dc <= tol);
        CHECK(dphi <= tol);
        if (tol >= 1e-10) CHECK(per_step <= 1.5);
      }
    }
  } else {
    SUCCEED("the per-realisation Newton is the device path; compared on host spaces");
  }
}

PSGM_BACKEND_TEST_CASE("batched Butler-Volmer Newton: lanes that fail mid-run leave the others' chord steps alone",
                       "[pde][host_kernels][butler_volmer][errors]") {
  using ExecSpace = TestType;
  if constexpr (is_host<ExecSpace>) {
    // Every fourth lane has a flux far beyond the reference range (700 to
    // 1600 A/m², against at most 50): c collapses near the right boundary and
    // its Newton fails during the run, after the chord steps have begun. The
    // other lanes of each pack keep iterating, and their fields must be the
    // per-realisation Newton's to well within the tolerance. (Statuses of the
    // extreme lanes are not compared: from about 400 A/m² on, the batched and
    // the per-realisation Newton can end on different points or statuses,
    // before the chord steps as after; docs/model.md §7.)
    ElectrodeParameters p;
    p.kinetics = Kinetics::butler_volmer;
    p.N = 30;
    p.T = 30.0;  // 300 implicit steps
    int const B = 16;
    auto const eps = random_porosity(B, p.N, 91);
    std::vector<double> U0(B), F(B);
    for (int b = 0; b < B; ++b) {
      U0[b] = -0.2 + 0.4 * (b % 5) / 4.0;
      F[b] = b % 4 == 0 ? 700.0 + 300.0 * (b / 4) : 2.0 * b;
    }
    auto const portable = run<ExecSpace>(p, eps, U0, F, SolverKernels::portable);
    auto const batched = run<ExecSpace>(p, eps, U0, F, SolverKernels::automatic);
    int failed = 0;
    for (int b = 0; b < B; ++b) {
      INFO("realisation " << b << ", U0 = " << U0[b] << ", F_right = " << F[b]);
      std::cout << to_string(batched.status[b]) << ' ';
      if (b % 4 == 0) {
        failed += batched.status[b] != psgm::SolveStatus::ok;
        // A lane that fails keeps its last converged level, untouched by
        // the chord steps its pack takes afterwards.
        CHECK(batched.c[b].allFinite());
        CHECK(batched.phi[b].allFinite());
        CHECK(batched.c[b].minCoeff() > 0);
        continue;
      }
      REQUIRE(batched.status[b] == psgm::SolveStatus::ok);
      REQUIRE(portable.status[b] == psgm::SolveStatus::ok);
      auto const [dc, dphi] = scaled_difference(p, batched, portable, b);
      CHECK(dc <= 1e-11);
      CHECK(dphi <= 1e-11);
    }
    std::cout << '\n';
    CHECK(failed > 0);
  } else {
    SUCCEED("compared on host spaces");
  }
}

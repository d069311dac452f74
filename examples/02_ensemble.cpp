//                    psgm example 02: a PDE ensemble at one condition
//
// Build: see examples/01_porosity.cpp.
// Run:
//     build-examples/02_ensemble [count]
//     build-examples/02_ensemble 1000
//
// What it shows: the uncertainty quantification psgm's generative model is
// meant to speed up, done the classical way. At the reference evaluation
// condition (l = L/10, U0 = 0, F_right = 25; spec model.md §7):
//   1. draw `count` porosity fields (example 01);
//   2. solve the porous-electrode equations for all of them at once with the
//      batched EnsembleSolver (the reference discretisation: potential solve,
//      then 1000 implicit-Euler steps of the concentration; docs/model.md);
//   3. check every realisation's status (non-physical results are flagged,
//      never silently kept) and print the ensemble mean and 95 % band of c and
//      φ along the electrode, and the throughput.
#include <psgm/psgm.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char* argv[]) {
  psgm::ScopeGuard guard;
  using Space = Kokkos::DefaultExecutionSpace;
  using Mem = Space::memory_space;
  Space space;
  int const count = argc > 1 ? std::atoi(argv[1]) : 1000;

  // 1. Porosity fields at l = L/10.
  psgm::pde::ElectrodeParameters electrode;  // the reference case
  psgm::pde::Condition const condition{electrode.L / 10, 0.0, 25.0};
  psgm::gp::PorositySampler<Space> sampler(space, psgm::gp::PorosityModel{}, electrode.cell_centres());
  Kokkos::View<double**, Kokkos::LayoutRight, Mem> eps(Kokkos::view_alloc(space, "example::porosity"), count,
                                                       electrode.N);
  sampler.sample(space, condition.l, /*seed=*/7, /*first_item=*/0, eps);

  // 2. One batched solve. U0 and F_right are per realisation, so one batch can
  //    mix conditions; here they are all the same.
  Kokkos::View<double*, Mem> U0(Kokkos::view_alloc(space, "example::U0"), count);
  Kokkos::View<double*, Mem> F_right(Kokkos::view_alloc(space, "example::F_right"), count);
  Kokkos::deep_copy(space, U0, condition.U0);
  Kokkos::deep_copy(space, F_right, condition.F_right);
  Kokkos::View<double***, Kokkos::LayoutRight, Mem> fields(Kokkos::view_alloc(space, "example::fields"), count, 2,
                                                           electrode.N);
  Kokkos::View<psgm::SolveStatus*, Mem> status(Kokkos::view_alloc(space, "example::status"), count);
  psgm::pde::EnsembleSolver<Space> solver(space, electrode, count);
  auto const start = std::chrono::steady_clock::now();
  solver.solve(space, eps, U0, F_right, fields, status);
  space.fence();  // the host times the solve and reads the results
  double const seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // 3. Statuses, then statistics of the ok realisations.
  auto const h_status = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, status);
  auto const h_fields = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, fields);
  int counts[psgm::num_solve_statuses] = {};
  std::vector<int> ok_items;
  for (int r = 0; r < count; ++r) {
    counts[static_cast<int>(h_status(r))]++;
    if (h_status(r) == psgm::SolveStatus::ok) ok_items.push_back(r);
  }
  std::printf("%d realisations at l = L/10, U0 = %g V, F_right = %g on %s: %.3g s (%.0f realisations/s)\n", count,
              condition.U0, condition.F_right, Space::name(), seconds, count / seconds);
  for (int s = 0; s < psgm::num_solve_statuses; ++s)
    std::printf("  status %-14s %d\n", psgm::to_string(static_cast<psgm::SolveStatus>(s)), counts[s]);
  if (ok_items.size() < 2) {
    std::printf("FAILED: fewer than two physical realisations\n");
    return EXIT_FAILURE;
  }
  auto quantile = [](std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    double const pos = q * (v.size() - 1);
    auto const lo = static_cast<std::size_t>(pos);
    auto const hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (pos - lo) * (v[hi] - v[lo]);
  };
  std::printf("     x [um]   c mean [mol/m3]   c 95%% band          phi mean [mV]   phi 95%% band\n");
  bool ok = true;
  for (int i : {0, 25, 50, 75, electrode.N - 1}) {
    std::vector<double> c, phi;
    for (int r : ok_items) {
      c.push_back(h_fields(r, 0, i));
      phi.push_back(h_fields(r, 1, i));
    }
    double c_mean = 0, phi_mean = 0;
    for (std::size_t k = 0; k < c.size(); ++k) {
      c_mean += c[k] / c.size();
      phi_mean += phi[k] / c.size();
    }
    std::printf("  %9.2f   %15.3f   [%7.3f, %7.3f]   %13.4f   [%7.4f, %7.4f]\n", electrode.cell_centres()[i] * 1e6,
                c_mean, quantile(c, 0.025), quantile(c, 0.975), phi_mean * 1e3, quantile(phi, 0.025) * 1e3,
                quantile(phi, 0.975) * 1e3);
    // The Dirichlet cell holds c_right exactly, the first cell φ = 0 (shift).
    if (i == electrode.N - 1) ok = ok && quantile(c, 0.0) == electrode.c_right && quantile(c, 1.0) == electrode.c_right;
    if (i == 0) ok = ok && quantile(phi, 0.0) == 0.0 && quantile(phi, 1.0) == 0.0;
  }
  ok = ok && counts[0] == count;  // the reference case has no non-physical realisations
  std::printf("%s\n", ok ? "ok" : "FAILED");
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

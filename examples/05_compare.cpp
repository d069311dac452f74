//           psgm example 05: judge a model against fresh PDE ensembles
//
// Build: see examples/01_porosity.cpp.
// Run (after example 03 wrote model.h5):
//     build-examples/05_compare [model.h5] [n]
//     build-examples/05_compare model.h5 500
//
// What it shows: the yardstick of spec sgm.md §6. At the reference evaluation
// condition:
//   1. draw n fields from the model (DPM-Solver++(2M), 25 steps);
//   2. solve two independent PDE ensembles of n fields each;
//   3. compare model vs PDE with psgm::stats::EnsembleComparator: mean and
//      spread errors in units of the PDE spread, 95 % band coverage, the
//      grid-averaged Wasserstein distance, the energy distance with its
//      permutation p-value, and P(min_x c < c_crit); each beside its noise
//      floor, the same metric between the two PDE ensembles. A model is as
//      good as the data allows when it sits at the floor.
#include <psgm/psgm.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

using Space = Kokkos::DefaultExecutionSpace;
using Model = psgm::score::ScoreModel<psgm::score::Native<Space>, float>;
using Sampler = psgm::sde::Sampler<Model>;

int main(int argc, char* argv[]) {
  psgm::ScopeGuard guard;
  std::string const model_path = argc > 1 ? argv[1] : "model.h5";
  int const n = argc > 2 ? std::atoi(argv[2]) : 500;
  Space space;
  psgm::pde::ElectrodeParameters electrode;
  auto const cond = psgm::pde::reference_evaluation_condition(electrode.L);

  // 1. Model samples (float network, returned as physical fields).
  Model model = Model::load(model_path);
  auto config = psgm::sde::SamplerConfig::defaults(psgm::sde::SamplerKind::dpm_solver_2m);
  config.steps = 25;
  Sampler sampler(space, model, config, n);
  Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> conditions("example::conditions", n, 3);
  for (int r = 0; r < n; ++r) {
    conditions(r, 0) = cond.l;
    conditions(r, 1) = cond.U0;
    conditions(r, 2) = cond.F_right;
  }
  Sampler::field_view samples(Kokkos::view_alloc(space, "example::samples"), n, 2, electrode.N);
  sampler.sample(space, conditions, /*seed=*/5, 0, samples);
  Kokkos::View<double***, Kokkos::LayoutRight, Space::memory_space> model_fields("example::model_fields", n, 2,
                                                                                 electrode.N);
  Kokkos::parallel_for(  // float -> double for the metrics
      "example::to_double", Kokkos::MDRangePolicy<Space, Kokkos::Rank<3>>(space, {0, 0, 0}, {n, 2, electrode.N}),
      KOKKOS_LAMBDA(int r, int f, int i) { model_fields(r, f, i) = samples(r, f, i); });

  // 2. Two independent PDE ensembles: GP porosity draws, then solves
  //    (psgm::workflow::solve_ensemble), on disjoint porosity items 0..n-1 and n..2n-1.
  auto const gp_porosity = psgm::workflow::PorositySource::gaussian_process(psgm::gp::PorosityModel{});
  auto const pde = psgm::workflow::solve_ensemble(space, electrode, gp_porosity, {cond}, n, {/*seed=*/6, 0, 0});
  auto const floor = psgm::workflow::solve_ensemble(space, electrode, gp_porosity, {cond}, n, {/*seed=*/6, n, 0});
  auto const d_pde = Kokkos::create_mirror_view_and_copy(Space::memory_space{}, pde.fields);
  auto const d_floor = Kokkos::create_mirror_view_and_copy(Space::memory_space{}, floor.fields);

  // 3. Metrics beside their floors.
  psgm::stats::MetricsOptions options;
  options.permutations = 199;
  psgm::stats::EnsembleComparator<Space> comparator(options);
  auto const result = comparator.compare(space, model_fields, d_pde, d_floor);
  std::printf("model vs PDE at l = L/10, U0 = 0, F_right = 25, n = %d (noise floor in brackets)\n", n);
  char const* fields[2] = {"c", "phi"};
  for (int f = 0; f < 2; ++f) {
    std::printf("  %-4s", fields[f]);
    for (auto metric : psgm::stats::all_metrics)
      std::printf("  %s %.3g [%.3g]", psgm::stats::to_string(metric), result.model[f].get(metric),
                  result.floor[f].get(metric));
    std::printf("\n");
  }
  std::printf("  P(min c < %.3f): PDE %.3f, model %.3f, floor %.3f\n", result.qoi.c_crit, result.qoi.pde.estimate,
              result.qoi.model.estimate, result.qoi.floor.estimate);
  // The example checks the mechanics, not the model's quality (a model
  // trained for a minute sits well above the floor): every metric is finite,
  // the floor's coverage is near 0.95, and the pinned boundary points were found.
  bool ok = true;
  for (int f = 0; f < 2; ++f) {
    for (auto metric : psgm::stats::all_metrics)
      ok = ok && std::isfinite(result.model[f].get(metric)) && std::isfinite(result.floor[f].get(metric));
    ok = ok && result.floor[f].coverage > 0.85 && result.num_pinned(f) == 1;
  }
  std::printf("%s\n", ok ? "ok" : "FAILED");
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

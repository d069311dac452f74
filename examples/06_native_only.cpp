//        psgm example 06: the whole chain on the native backend, no LibTorch
//
// Build: see examples/01_porosity.cpp. This example links only psgm::psgm, so
// it builds and runs with a psgm configured with -DPSGM_ENABLE_TORCH=OFF, on
// any Kokkos backend (OpenMP here; CUDA or HIP unchanged).
// Run:
//     build-examples/06_native_only [steps] [n]
//     build-examples/06_native_only 2000 300
//
// What it shows: psgm's portability story in one program.
//   1. generate training data (PDE ensembles at 40 random conditions);
//   2. train the score network with the native Kokkos FiLM-CNN: forward,
//      backward and Adam are Kokkos kernels on the default execution space;
//   3. sample the trained model at the reference evaluation condition with
//      the same Sampler template that runs LibTorch models;
//   4. compare with a fresh PDE ensemble, each metric beside its noise floor,
//      and with the untrained network (the same architecture at its initial
//      weights): training must have moved the model towards the PDE.
#include <psgm/psgm.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>

using Space = Kokkos::DefaultExecutionSpace;
using Backend = psgm::score::Native<Space>;  // the policy: no LibTorch anywhere

int main(int argc, char* argv[]) {
  psgm::ScopeGuard guard;
  std::int64_t const steps = argc > 1 ? std::atoll(argv[1]) : 2000;
  int const n = argc > 2 ? std::atoi(argv[2]) : 300;
  Space space;
  std::uint64_t const seed = 66;
  psgm::pde::ElectrodeParameters electrode;

  // 1. Training data.
  auto const conditions = psgm::pde::random_conditions(psgm::pde::ConditionRanges::reference(electrode.L), 40, seed);
  psgm::workflow::GenerateOptions generate;  // what `psgm generate` runs: GP draws, solves, the file
  generate.pde = electrode;
  generate.conditions = conditions;
  generate.realisations = 25;
  generate.seed = seed;
  generate.output = "06_native_only.data.h5";
  generate.writer.overwrite = true;
  psgm::workflow::generate(space, generate);

  // 2. Native training: TrainableModel<Native<Space>, float>.
  psgm::score::TrainerOptions options;
  options.data_path = "06_native_only.data.h5";
  options.output_path = "06_native_only.model.h5";
  options.architecture.width = 32;
  options.architecture.num_blocks = 3;
  options.architecture.kernel_size = 5;
  options.architecture.film_hidden = 64;
  options.architecture.film_layers = 3;
  options.seed = seed;
  options.batch_size = 128;
  options.steps = steps;
  options.learning_rate = 2e-3;
  options.learning_rate_min = 2e-5;
  options.warmup_steps = 50;
  options.ema_decay = 0.995;
  options.gradient_clip = 1.0;
  options.validate_every = std::max<std::int64_t>(steps / 10, 1);
  psgm::score::Trainer<psgm::score::TrainableModel<Backend, float>> trainer(Kokkos::DefaultHostExecutionSpace{},
                                                                             options);
  auto const summary = trainer.run(Kokkos::DefaultHostExecutionSpace{});
  std::printf("trained natively on %s: %lld steps in %.1f s, best validation loss %.4f\n", Space::name(),
              static_cast<long long>(summary.steps), summary.seconds, summary.best_validation_loss);

  // 3. Sampling with the native model.
  using Model = psgm::score::ScoreModel<Backend, float>;
  Model model = Model::load(options.output_path);
  auto config = psgm::sde::SamplerConfig::defaults(psgm::sde::SamplerKind::dpm_solver_2m);
  config.steps = 25;
  psgm::sde::Sampler<Model> sampler(space, model, config, n);
  auto const cond = psgm::pde::reference_evaluation_condition(electrode.L);
  Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> conditions_per_sample("example::conditions", n, 3);
  for (int r = 0; r < n; ++r) {
    conditions_per_sample(r, 0) = cond.l;
    conditions_per_sample(r, 1) = cond.U0;
    conditions_per_sample(r, 2) = cond.F_right;
  }
  psgm::sde::Sampler<Model>::field_view samples(Kokkos::view_alloc(space, "example::samples"), n, 2, electrode.N);
  auto const report = sampler.sample(space, conditions_per_sample, seed, 0, samples);
  Kokkos::View<double***, Kokkos::LayoutRight, Space::memory_space> model_fields("example::model_fields", n, 2,
                                                                                 electrode.N);
  Kokkos::parallel_for(
      "example::to_double", Kokkos::MDRangePolicy<Space, Kokkos::Rank<3>>(space, {0, 0, 0}, {n, 2, electrode.N}),
      KOKKOS_LAMBDA(int r, int f, int i) { model_fields(r, f, i) = samples(r, f, i); });

  // 4. Against fresh PDE ensembles; and the untrained network for contrast.
  auto const gp_porosity = psgm::workflow::PorositySource::gaussian_process(psgm::gp::PorosityModel{});
  auto const pde = psgm::workflow::solve_ensemble(space, electrode, gp_porosity, {cond}, n, {seed + 1, 0, 0});
  auto const floor = psgm::workflow::solve_ensemble(space, electrode, gp_porosity, {cond}, n, {seed + 1, n, 0});
  auto const d_pde = Kokkos::create_mirror_view_and_copy(Space::memory_space{}, pde.fields);
  auto const d_floor = Kokkos::create_mirror_view_and_copy(Space::memory_space{}, floor.fields);
  psgm::stats::MetricsOptions metrics;
  metrics.permutations = 99;
  psgm::stats::EnsembleComparator<Space> comparator(metrics);
  auto const result = comparator.compare(space, model_fields, d_pde, d_floor);

  psgm::model::ModelDescription untrained_description = model.description();
  untrained_description.weights =
      psgm::score::initial_parameters(untrained_description.architecture, seed, "float32");
  Model untrained(space, untrained_description);
  psgm::sde::Sampler<Model> untrained_sampler(space, untrained, config, n);
  untrained_sampler.sample(space, conditions_per_sample, seed, 0, samples);
  Kokkos::parallel_for(
      "example::to_double", Kokkos::MDRangePolicy<Space, Kokkos::Rank<3>>(space, {0, 0, 0}, {n, 2, electrode.N}),
      KOKKOS_LAMBDA(int r, int f, int i) { model_fields(r, f, i) = samples(r, f, i); });
  auto const before = comparator.compare(space, model_fields, d_pde, d_floor);
  std::printf("%lld NFE per sample; model vs PDE (floor):\n", static_cast<long long>(report.nfe));
  char const* names[2] = {"c", "phi"};
  bool ok = report.num_failed == 0;
  for (int f = 0; f < 2; ++f) {
    std::printf("  %-4s mean error %.3g (%.3g; untrained %.3g), spread error %.3g (%.3g; untrained %.3g), "
                "coverage %.3f (%.3f)\n",
                names[f], result.model[f].mean_error, result.floor[f].mean_error, before.model[f].mean_error,
                result.model[f].spread_error, result.floor[f].spread_error, before.model[f].spread_error,
                result.model[f].coverage, result.floor[f].coverage);
    ok = ok && std::isfinite(result.model[f].mean_error) && std::isfinite(result.model[f].spread_error);
    // Training must have taken the model's mean much closer to the PDE's.
    ok = ok && result.model[f].mean_error < 0.5 * before.model[f].mean_error;
  }
  std::printf("%s\n", ok ? "ok" : "FAILED");
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

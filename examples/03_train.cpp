//                 psgm example 03: train a conditional score model
//
// Build: see examples/01_porosity.cpp.
// Run:
//     build-examples/03_train [model.h5] [steps] [conditions]
//     build-examples/03_train model.h5 1500 40
//
// What it shows: how a score network is trained on PDE ensembles from C++.
//   1. generate a training data set: PDE ensembles (25 fields each) at random
//      conditions of the reference ranges, written as a psgm data set;
//   2. pick the score backend at compile time: LibTorch when psgm was built
//      with it, else psgm's native Kokkos FiLM-CNN (the same Trainer either
//      way: the backend is a template parameter);
//   3. train by denoising score matching (spec sgm.md §3) with a small
//      network: split by condition, Adam with warm-up and cosine decay, EMA,
//      gradient clipping, the best-validation model written atomically;
//   4. check from the model file's training record that the validation loss
//      fell. Examples 04 and 05 sample the model written here.
#include <psgm/psgm.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

#if PSGM_HAS_TORCH
using Backend = psgm::score::LibTorch;  // link psgm::torch
#else
using Backend = psgm::score::Native<Kokkos::DefaultExecutionSpace>;
#endif

int main(int argc, char* argv[]) {
  psgm::ScopeGuard guard;
  std::string const model_path = argc > 1 ? argv[1] : "model.h5";
  std::int64_t const steps = argc > 2 ? std::atoll(argv[2]) : 1500;
  int const num_conditions = argc > 3 ? std::atoi(argv[3]) : 40;
  std::uint64_t const seed = 11;

  // 1. Training data: random conditions, 25 porosity realisations each.
  psgm::pde::ElectrodeParameters electrode;  // reference physics, N = 100
  auto const conditions =
      psgm::pde::random_conditions(psgm::pde::ConditionRanges::reference(electrode.L), num_conditions, seed);
  std::string const data_path = model_path + ".data.h5";
  psgm::workflow::GenerateOptions generate;  // what `psgm generate` runs: GP draws, solves, the file
  generate.pde = electrode;
  generate.conditions = conditions;
  generate.realisations = 25;
  generate.seed = seed;
  generate.output = data_path;
  generate.writer.overwrite = true;
  psgm::workflow::generate(Kokkos::DefaultExecutionSpace(), generate);
  std::printf("training data: %d conditions x 25 fields -> %s\n", num_conditions, data_path.c_str());

  // 2-3. The trainer. A network much smaller than the reference (1.1 M
  //      weights) so that the example runs in seconds to minutes on a CPU.
  psgm::score::TrainerOptions options;
  options.data_path = data_path;
  options.output_path = model_path;
  options.validation_fraction = 0.1;  // 10 % of the *conditions* never seen in training
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
  using Model = psgm::score::TrainableModel<Backend, float>;
  psgm::score::Trainer<Model> trainer(Kokkos::DefaultHostExecutionSpace{}, options);
  std::printf("training %lld weights for %lld steps with the %s backend\n",
              static_cast<long long>(psgm::model::parameter_count(trainer.session().architecture())),
              static_cast<long long>(steps), Backend::name());
  auto const summary = trainer.run(Kokkos::DefaultHostExecutionSpace{});

  // 4. The training record is part of the model file.
  auto const model = psgm::io::read_model(model_path);
  auto const& losses = model.training.validation_loss;
  std::printf("validation loss: %.4f at step 0 -> best %.4f at step %lld (%.1f s); model -> %s\n", losses.front(),
              summary.best_validation_loss, static_cast<long long>(summary.best_step), summary.seconds,
              model_path.c_str());
  bool const ok = summary.finished && summary.best_validation_loss < 0.5 * losses.front();
  std::printf("%s\n", ok ? "ok" : "FAILED: the validation loss did not halve");
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

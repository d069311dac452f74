// Training-step time of psgm's LibTorch backend (docs/performance.md,
// "LibTorch training"). One step = the DSM loss and its gradient, the
// gradient norm, clipping and an Adam update (TrainableModel<LibTorch>),
// which is what psgm::score::Trainer does per step; the Python counterpart
// perf/bench_train_torch.py does the same with the Python definition and
// torch.optim.Adam. perf/bench_train_torch.sh runs both on the same CPU with
// the same threads and prints the ratio.
//
//   OMP_NUM_THREADS=2 build/perf/bench_train_torch --batch 128 --steps 5
//
// Prints one line per batch size: "psgm B=<B> steps=<k> min_ms=<..> median_ms=<..> samples_per_s=<..> cpu_ms=<..>".
#include <psgm/core/Runtime.hpp>
#include <psgm/core/Random.hpp>
#include <psgm/score/Trainer.hpp>
#include <psgm/torch/TorchTrainableModel.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

namespace {

double cpu_seconds() { return double(std::clock()) / CLOCKS_PER_SEC; }

psgm::score::DsmBatch make_batch(psgm::model::FilmCnnConfig const& a, int B) {
  // A VP batch as the trainer builds it: x = m x0 + s z, a = s, y = -z, with
  // unit-scale "data" x0 (the timing does not depend on the values).
  psgm::score::DsmBatch b;
  b.x = decltype(b.x)("psgm::bench::x", B, a.channels, a.num_points);
  b.y = decltype(b.y)("psgm::bench::y", B, a.channels, a.num_points);
  b.t = decltype(b.t)("psgm::bench::t", B);
  b.a = decltype(b.a)("psgm::bench::a", B);
  b.cond = decltype(b.cond)("psgm::bench::cond", B, a.cond_dim);
  psgm::model::VpSde vp;
  for (int i = 0; i < B; ++i) {
    auto g = psgm::random::make_generator<Kokkos::DefaultHostExecutionSpace>(1, psgm::random::training_noise, i);
    double const u = g.drand(), t = vp.t_min + (1 - vp.t_min) * u * u;
    b.t(i) = t;
    b.a(i) = vp.stddev(t);
    for (int k = 0; k < a.cond_dim; ++k) b.cond(i, k) = g.drand();
    for (int c = 0; c < a.channels; ++c)
      for (int n = 0; n < a.num_points; ++n) {
        double const x0 = g.normal(), z = g.normal();
        b.x(i, c, n) = vp.mean(t) * x0 + vp.stddev(t) * z;
        b.y(i, c, n) = -z;
      }
  }
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> batches;
  int steps = 5, warmup = 1;
  psgm::model::FilmCnnConfig reference;  // default: the reference, 1 116 626 parameters, N = 100
  for (int i = 1; i < argc; ++i) {
    std::string const a = argv[i];
    auto value = [&] { return i + 1 < argc ? std::atoi(argv[++i]) : -1; };
    if (a == "--batch") batches.push_back(value());
    else if (a == "--steps") steps = value();
    else if (a == "--warmup") warmup = value();
    else if (a == "--width") reference.width = value();  // other architectures, e.g. the `small` preset's
    else if (a == "--blocks") reference.num_blocks = value();
    else if (a == "--kernel") reference.kernel_size = value();
    else if (a == "--film-hidden") reference.film_hidden = value();
    else if (a == "--film-layers") reference.film_layers = value();
    else {
      std::fprintf(stderr,
                   "usage: bench_train_torch [--batch B]... [--steps K] [--warmup W] [--width W] [--blocks NB] "
                   "[--kernel K] [--film-hidden H] [--film-layers L]\n");
      return 2;
    }
  }
  if (batches.empty()) batches = {128, 1024};
  psgm::ScopeGuard guard;
  psgm::score::TrainableModel<psgm::score::LibTorch, float> model(reference);
  model.set_parameters(psgm::score::initial_parameters(reference, 0, "float32"));
  auto zero = psgm::model::ParameterSet::zeros(reference);
  model.set_optimizer_state({zero, zero, {}});
  psgm::score::AdamSettings const adam;
  std::int64_t step = 0;
  for (int B : batches) {
    auto const batch = make_batch(reference, B);
    std::vector<double> ms;
    double cpu = 0;
    for (int k = 0; k < warmup + steps; ++k) {
      double const c0 = cpu_seconds();
      auto const t0 = std::chrono::steady_clock::now();
      model.loss_and_gradient(batch);
      double const norm = model.gradient_norm();
      model.adam_step(adam, 2e-4, std::min(1.0, 1.0 / (norm + 1e-6)), ++step);
      auto const t1 = std::chrono::steady_clock::now();
      if (k >= warmup) {
        ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        cpu += cpu_seconds() - c0;
      }
    }
    std::sort(ms.begin(), ms.end());
    std::printf("psgm B=%d steps=%d threads=%d min_ms=%.1f median_ms=%.1f samples_per_s=%.1f cpu_ms=%.1f\n", B, steps,
                Kokkos::DefaultHostExecutionSpace().concurrency(), ms.front(), ms[ms.size() / 2],
                B / (ms[ms.size() / 2] / 1000), 1000 * cpu / steps);
    std::fflush(stdout);
  }
  return 0;
}

// Cost per field: a PDE ensemble against sampling a score model
// (docs/results.md, "Where sampling pays off").
//
//   bench_cost [--n 50,100,200,400,800,1600] [--fields 512] [--seconds 1] [--quick]
//
// For each grid size N, in the same run and on the same threads
// (Kokkos::DefaultHostExecutionSpace, OMP_NUM_THREADS):
//   * the PDE route: one GP porosity draw plus one solve per field, batched
//     (EnsembleSolver), for the reference transient solver, the direct steady
//     solve and the Butler-Volmer transient solve (Newton in every time step);
//   * the SGM route: one field drawn by the native backend (float32) with
//     DPM-Solver++(2M) in 25 steps (25 NFE, what `psgm pipeline` uses), for the
//     `small` network of `psgm train` and the reference network (spec sgm.md
//     §4), both at random weights: the cost of a network evaluation does not
//     depend on the weights. The reference sampler (stochastic Heun, 1000
//     steps, 2000 NFE) is not run; its cost is the measured cost per NFE times
//     2000 and is printed as such.
// Printed: seconds per field for each route, and the ratio sampling / PDE.
// Sampling pays off where that ratio is below 1, and only after training has
// been paid for (docs/results.md). Nothing is asserted on times.
#include <psgm/core/Runtime.hpp>
#include <psgm/workflow/EnsembleGenerator.hpp>
#include <psgm/score/NativeScoreModel.hpp>
#include <psgm/score/Trainer.hpp>
#include <psgm/sde/Sampler.hpp>

#include <Kokkos_Core.hpp>

#include "BenchUtil.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace {

using Space = Kokkos::DefaultHostExecutionSpace;
using Clock = std::chrono::steady_clock;

using psgm_bench::parse_list;

/// Median wall time of f over enough repetitions to fill `seconds` (at least 3).
double median_time(double seconds, std::function<void()> const& f) {
  std::vector<double> t;
  double total = 0;
  while (t.size() < 3 || (total < seconds && t.size() < 50)) {
    auto const t0 = Clock::now();
    f();
    t.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    total += t.back();
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

/// Seconds per field of the PDE route: GP draw + solve, B fields at once
/// (psgm::workflow::EnsembleGenerator, what psgm generate runs per batch).
double pde_seconds_per_field(psgm::pde::ElectrodeParameters const& p, int B, double seconds) {
  Space space;
  psgm::workflow::EnsembleGenerator<Space> generator(
      space, p, psgm::workflow::PorositySource::gaussian_process(psgm::gp::PorosityModel{}), {2024, 0, B}, B);
  std::int64_t draw = 0;  // fresh porosity items every time: realisations of one long run
  return median_time(seconds, [&] {
           generator.generate(space, {{{p.L / 10, 0.05, 25.0}, draw++, 0, B}});
           space.fence();
         }) /
         B;
}

/// Seconds per field of the SGM route: DPM-Solver++(2M), `steps` steps.
double sampling_seconds_per_field(psgm::model::FilmCnnConfig architecture, int N, int B, int steps, double seconds) {
  using Model = psgm::score::ScoreModel<psgm::score::Native<Space>, float>;
  Space space;
  architecture.num_points = N;
  psgm::model::ModelDescription d;
  d.architecture = architecture;
  d.weights = psgm::score::initial_parameters(architecture, 7, "float32");
  Model model(space, d);
  auto config = psgm::sde::SamplerConfig::defaults(psgm::sde::SamplerKind::dpm_solver_2m);
  config.steps = steps;
  psgm::sde::Sampler<Model> sampler(space, model, config, B);
  Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> cond("psgm::bench_cost::cond", B, 3);
  for (int b = 0; b < B; ++b) {
    cond(b, 0) = 1e-5;
    cond(b, 1) = 0.05;
    cond(b, 2) = 25.0;
  }
  typename psgm::sde::Sampler<Model>::field_view out(Kokkos::view_alloc(space, "psgm::bench_cost::samples"), B, 2, N);
  std::uint64_t first = 0;
  return median_time(seconds, [&] {
           sampler.sample(space, cond, 11, first, out);
           first += B;
           space.fence();
         }) /
         B;
}

}  // namespace

int main(int argc, char* argv[]) {
  std::vector<int> sizes{50, 100, 200, 400, 800, 1600};
  int fields = 512;
  double seconds = 1.0;
  for (int i = 1; i < argc; ++i) {
    std::string const a = argv[i];
    if (a == "--n" && i + 1 < argc) {
      sizes = parse_list(argv[++i]);
    } else if (a == "--fields" && i + 1 < argc) {
      fields = std::atoi(argv[++i]);
    } else if (a == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (a == "--quick") {
      sizes = {50, 100};
      fields = 64;
      seconds = 0.05;
    } else {
      std::fprintf(stderr,
                   "usage: bench_cost [--n 50,100,200,400,800,1600] [--fields 512] [--seconds 1] [--quick]\n");
      return a == "--help" || a == "-h" ? EXIT_SUCCESS : EXIT_FAILURE;
    }
  }
  if (fields < 1 || seconds <= 0 || sizes.empty()) {
    std::fprintf(stderr, "bench_cost: --fields must be >= 1, --seconds > 0, --n non-empty\n");
    return EXIT_FAILURE;
  }
  psgm::ScopeGuard guard;

  // The two networks: `psgm train --preset small` and the reference (sgm.md §4).
  psgm::model::FilmCnnConfig small;
  small.width = 32;
  small.num_blocks = 4;
  small.kernel_size = 5;
  small.film_hidden = 64;
  small.film_layers = 3;
  psgm::model::FilmCnnConfig const reference;
  int const dpm_steps = 25;
  int const reference_nfe = 2000;

  std::printf("# bench_cost: seconds per field, %s with %d threads, %d fields per batch\n", Space::name(),
              Space().concurrency(), fields);
  std::printf("# PDE: GP draw + solve. SGM: native float32, DPM-Solver++(2M) %d steps (%d NFE); reference sampler\n"
              "# (stochastic Heun, %d NFE) = measured cost per NFE x %d, not run.\n",
              dpm_steps, dpm_steps, reference_nfe, reference_nfe);
  std::printf("%6s %12s %12s %12s | %12s %12s %14s | %10s %10s %10s\n", "N", "pde_ref", "pde_steady", "pde_bv",
              "sgm_small", "sgm_ref", "sgm_ref_2000", "small/ref", "refnet/ref", "small/bv");
  for (int N : sizes) {
    psgm::pde::ElectrodeParameters p;
    p.N = N;
    double const pde_ref = pde_seconds_per_field(p, fields, seconds);
    auto steady = p;
    steady.mode = psgm::pde::ConcentrationMode::steady;
    double const pde_steady = pde_seconds_per_field(steady, fields, seconds);
    auto bv = p;
    bv.kinetics = psgm::pde::Kinetics::butler_volmer;
    double const pde_bv = pde_seconds_per_field(bv, fields, seconds);
    double const sgm_small = sampling_seconds_per_field(small, N, fields, dpm_steps, seconds);
    double const sgm_ref = sampling_seconds_per_field(reference, N, fields, dpm_steps, seconds);
    double const sgm_ref_full = sgm_ref / dpm_steps * reference_nfe;
    std::printf("%6d %12.3e %12.3e %12.3e | %12.3e %12.3e %14.3e | %10.2f %10.2f %10.2f\n", N, pde_ref, pde_steady,
                pde_bv, sgm_small, sgm_ref, sgm_ref_full, sgm_small / pde_ref, sgm_ref / pde_ref, sgm_small / pde_bv);
    std::fflush(stdout);
  }
  std::printf("# small/ref, refnet/ref: sampling (25 NFE) per field / reference PDE solve per field;\n"
              "# small/bv: the same against the Butler-Volmer solve. Sampling pays off only below 1.\n");
  return EXIT_SUCCESS;
}

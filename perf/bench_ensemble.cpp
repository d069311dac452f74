// Benchmark of the porosity sampler and the ensemble solver (issue 3).
//
// Build and run (Release, OpenMP + Serial Kokkos):
//   cmake --build build --target bench_ensemble
//   OMP_NUM_THREADS=2 OMP_PROC_BIND=false build/perf/bench_ensemble [--quick]
//
// Everything is measured in the same run, on the same inputs:
//   1. reference-case throughput (realisations/s) of EnsembleSolver<OpenMP>,
//      against a serial C++ loop over the same kernels (EnsembleSolver<Serial>),
//      and with the porosity sampling included;
//   2. a STREAM triad on OpenMP, and the throughput the solver would have if
//      its time loop streamed its working arrays from memory at that
//      bandwidth (the "bandwidth bound", see docs/performance.md);
//   3. the time-loop variants behind the layout / parallelisation choice:
//      one realisation per thread with realisation-contiguous arrays
//      (LayoutRight) or batch-fastest arrays (LayoutLeft), the team/vector
//      form, and packs of W realisations per thread;
//   4. scaling in N (100 ... 4096) and in the batch size.
// Nothing is asserted on times; docs/performance.md records the output.
#include <psgm/core/Runtime.hpp>
#include <psgm/gp/PorositySampler.hpp>
#include <psgm/pde/EnsembleSolver.hpp>
#include <psgm/pde/impl/EnsembleKernels.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using namespace psgm::pde;

/// Best of `repeats` wall times of f (seconds).
double best_time(int repeats, std::function<void()> const& f) {
  double best = 1e300;
  for (int r = 0; r < repeats; ++r) {
    auto const t0 = Clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

template <class ExecSpace>
Kokkos::View<double**, Kokkos::LayoutRight, typename ExecSpace::memory_space> porosity(ExecSpace const& space, int B,
                                                                                      int N) {
  ElectrodeParameters p;
  p.N = N;
  psgm::gp::PorositySampler<ExecSpace> sampler(space, psgm::gp::PorosityModel{}, p.cell_centres());
  Kokkos::View<double**, Kokkos::LayoutRight, typename ExecSpace::memory_space> eps("psgm::bench::eps", B, N);
  sampler.sample(space, p.L / 10, 1234, 0, eps);
  space.fence();
  return eps;
}

/// Seconds per solve of B realisations with EnsembleSolver<ExecSpace>.
template <class ExecSpace>
double time_solver(ElectrodeParameters const& p, int B, int repeats, bool with_sampling = false) {
  using Mem = typename ExecSpace::memory_space;
  ExecSpace space;
  auto eps = porosity(space, B, p.N);
  Kokkos::View<double*, Mem> U0("psgm::bench::U0", B), F("psgm::bench::F", B);
  Kokkos::deep_copy(F, 25.0);
  Kokkos::View<double***, Kokkos::LayoutRight, Mem> fields("psgm::bench::fields", B, 2, p.N);
  Kokkos::View<psgm::SolveStatus*, Mem> status("psgm::bench::status", B);
  EnsembleSolver<ExecSpace> solver(space, p, B);
  psgm::gp::PorositySampler<ExecSpace> sampler(space, psgm::gp::PorosityModel{}, p.cell_centres());
  return best_time(repeats, [&] {
    if (with_sampling) sampler.sample(space, p.L / 10, 99, 0, eps);
    solver.solve(space, eps, U0, F, fields, status);
    space.fence();
  });
}

/// Seconds of setup + time loop for B realisations, for a workspace layout
/// and a parallelisation variant (variant "setup_only" gives the setup alone).
template <class ExecSpace, class Work>
double time_loop_variant(ElectrodeParameters const& p, int B, int repeats, std::string const& variant, int W = 8) {
  using Mem = typename ExecSpace::memory_space;
  ExecSpace space;
  int const N = p.N;
  Work work;
  if constexpr (Work::rank == 4) {
    work = Work("psgm::bench::work", (B + W - 1) / W, Impl::num_linear_slots, N, W);
  } else if constexpr (std::is_same_v<typename Work::array_layout, Kokkos::LayoutLeft>) {
    work = Work("psgm::bench::work", (B + 7) / 8 * 8, N, Impl::num_linear_slots);
  } else {
    work = Work("psgm::bench::work", B, Impl::num_linear_slots, N);
  }
  auto eps = porosity(space, B, N);
  Kokkos::View<double*, Mem> U0("psgm::bench::U0", B), F("psgm::bench::F", B), phis("psgm::bench::phis", N);
  Kokkos::deep_copy(F, 25.0);
  auto ph = Kokkos::create_mirror_view(phis);
  auto const x = p.cell_centres();
  for (int i = 0; i < N; ++i) ph(i) = -p.G * x[i];
  Kokkos::deep_copy(phis, ph);
  Kokkos::View<double***, Kokkos::LayoutRight, Mem> fields("psgm::bench::fields", B, 2, N);
  Kokkos::View<psgm::SolveStatus*, Mem> status("psgm::bench::status", B);
  Kokkos::View<double**, Kokkos::LayoutRight, Mem> hist("psgm::bench::hist", 0, 0);
  Kokkos::View<int*, Mem> its("psgm::bench::its", 0);
  auto const k = Impl::Constants::from(p);
  using Setup = Impl::SetupOrSolve<Work, decltype(eps), Kokkos::View<double*, Mem>, Kokkos::View<double*, Mem>,
                                   decltype(fields), decltype(status), decltype(hist), decltype(its)>;
  return best_time(repeats, [&] {
    Kokkos::parallel_for("psgm::bench::setup", Kokkos::RangePolicy<ExecSpace>(space, 0, B),
                         Setup{work, eps, U0, F, phis, fields, status, hist, its, k});
    if (variant == "per_thread") {
      Kokkos::parallel_for("psgm::bench::loop", Kokkos::RangePolicy<ExecSpace>(space, 0, B),
                           Impl::TimeLoopPerThread<Work>{work, N, k.num_steps});
    } else if (variant == "team_vector") {
      Kokkos::parallel_for("psgm::bench::loop", Kokkos::TeamPolicy<ExecSpace>(space, (B + W - 1) / W, 1, W),
                           Impl::TimeLoopTeamVector<ExecSpace, Work>{work, N, B, W, k.num_steps});
    } else if (variant == "packed") {
      if constexpr (Work::rank == 4) {
        if (W == 4)
          Kokkos::parallel_for("psgm::bench::loop", Kokkos::RangePolicy<ExecSpace>(space, 0, (B + 3) / 4),
                               Impl::TimeLoopPacked<4, Work>{work, N, k.num_steps});
        else
          Kokkos::parallel_for("psgm::bench::loop", Kokkos::RangePolicy<ExecSpace>(space, 0, (B + 7) / 8),
                               Impl::TimeLoopPacked<8, Work>{work, N, k.num_steps});
      }
    }
    space.fence();
  });
}

/// STREAM triad a = b + s c on OpenMP: bytes moved / s (3 arrays of n doubles).
double stream_triad(std::size_t n, int repeats) {
  using Space = Kokkos::OpenMP;
  Space space;
  Kokkos::View<double*, Space::memory_space> a("psgm::bench::a", n), b("psgm::bench::b", n), c("psgm::bench::c", n);
  Kokkos::deep_copy(b, 1.0);
  Kokkos::deep_copy(c, 2.0);
  double const t = best_time(repeats, [&] {
    Kokkos::parallel_for("psgm::bench::triad", Kokkos::RangePolicy<Space>(space, 0, n),
                         KOKKOS_LAMBDA(std::size_t i) { a(i) = b(i) + 3.0 * c(i); });
    space.fence();
  });
  return 3.0 * 8.0 * n / t;
}

}  // namespace

int main(int argc, char** argv) {
  bool const quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  psgm::ScopeGuard guard;
  // concurrency() is a static member in Kokkos 3.4 and a non-static one from 4.0.
  int const threads = Kokkos::OpenMP().concurrency();
  int const repeats = quick ? 1 : 3;
  ElectrodeParameters const ref;  // the reference case: N = 100, 1000 steps
  int const B = quick ? 256 : 2048;
  std::printf("psgm ensemble benchmark: %s\nOpenMP threads: %d; reference case N = %d, %lld steps, batch %d\n\n",
              psgm::build_info().c_str(), threads, ref.N, static_cast<long long>(ref.num_steps()), B);

  // 1. throughput
  double const t_omp = time_solver<Kokkos::OpenMP>(ref, B, repeats);
#if defined(KOKKOS_ENABLE_SERIAL)
  double const t_ser = time_solver<Kokkos::Serial>(ref, B, repeats);
#else
  double const t_ser = std::numeric_limits<double>::quiet_NaN();  // a Kokkos without Serial: no baseline
#endif
  double const t_omp_gp = time_solver<Kokkos::OpenMP>(ref, B, repeats, true);
  std::printf("[1] reference-case throughput\n");
  std::printf("    OpenMP (%d threads)         %10.0f realisations/s  (%.0f per thread)\n", threads, B / t_omp,
              B / t_omp / threads);
  std::printf("    serial C++ loop (Serial)   %10.0f realisations/s\n", B / t_ser);
  std::printf("    ratio OpenMP / serial      %10.2f\n", t_ser / t_omp);
  std::printf("    OpenMP incl. GP sampling   %10.0f realisations/s\n\n", B / t_omp_gp);

  // 2. bandwidth
  std::size_t const n_stream = quick ? (std::size_t(1) << 22) : (std::size_t(1) << 25);
  double const bw = stream_triad(n_stream, quick ? 3 : 5);
  // Streaming model of the time loop: per step and cell the forward sweep
  // reads P, Q, LL, c and writes c; the backward sweep reads c, U and writes
  // c: 8 doubles = 64 bytes. Compulsory traffic: ε in, (c, φ) out = 3 N doubles.
  double const bytes_stream = 64.0 * (ref.N - 1) * ref.num_steps();
  double const bytes_compulsory = 3.0 * 8.0 * ref.N;
  std::printf("[2] STREAM triad (OpenMP, %zu doubles/array): %.2f GB/s\n", n_stream, bw / 1e9);
  std::printf("    streaming-model bound  %10.0f realisations/s -> solver at %.2f x the bound\n", bw / bytes_stream,
              (B / t_omp) / (bw / bytes_stream));
  std::printf("    compulsory-traffic bound %10.0f realisations/s -> solver at %.4f of the bound\n\n",
              bw / bytes_compulsory, (B / t_omp) / (bw / bytes_compulsory));

  // 3. variants of the time loop (OpenMP), setup subtracted
  std::printf("[3] time loop variants (OpenMP, batch %d, setup time subtracted)\n", B);
  using Packed = Kokkos::View<double****, Kokkos::LayoutRight, Kokkos::OpenMP::memory_space>;
  using Left = Kokkos::View<double***, Kokkos::LayoutLeft, Kokkos::OpenMP::memory_space>;
  using Right = Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::OpenMP::memory_space>;
  double const t_setup = time_loop_variant<Kokkos::OpenMP, Packed>(ref, B, repeats, "setup_only");
  struct Variant {
    char const* name;
    double t;
  };
  std::vector<Variant> variants{
      {"per thread, (B, arrays, N) realisation contiguous",
       time_loop_variant<Kokkos::OpenMP, Right>(ref, B, repeats, "per_thread")},
      {"per thread, (B, N, arrays) LayoutLeft, batch fastest",
       time_loop_variant<Kokkos::OpenMP, Left>(ref, B, repeats, "per_thread")},
      {"team/vector 8 lanes, (B, N, arrays) LayoutLeft",
       time_loop_variant<Kokkos::OpenMP, Left>(ref, B, repeats, "team_vector")},
      {"team/vector 8 lanes, packs (B/8, arrays, N, 8)",
       time_loop_variant<Kokkos::OpenMP, Packed>(ref, B, repeats, "team_vector")},
      {"per thread, packs (B/8, arrays, N, 8)",
       time_loop_variant<Kokkos::OpenMP, Packed>(ref, B, repeats, "per_thread")},
      {"pack of 4 per thread, packs (B/4, arrays, N, 4)",
       time_loop_variant<Kokkos::OpenMP, Packed>(ref, B, repeats, "packed", 4)},
      {"pack of 8 per thread, packs (B/8, arrays, N, 8) [psgm]",
       time_loop_variant<Kokkos::OpenMP, Packed>(ref, B, repeats, "packed", 8)},
  };
  std::printf("    setup (coefficients, potential, factorisation): %.3f ms\n", 1e3 * t_setup);
  for (auto const& v : variants)
    std::printf("    %-58s %8.3f ms  %10.0f realisations/s\n", v.name, 1e3 * (v.t - t_setup),
                B / std::max(v.t - t_setup, 1e-9));
  std::printf("\n");

  // 4. scaling
  std::printf("[4] scaling in N (OpenMP, %d steps, batch chosen so that batch x N = %d)\n",
              static_cast<int>(ref.num_steps()), quick ? 25600 : 204800);
  for (int N : {100, 256, 1024, 4096}) {
    ElectrodeParameters p;
    p.N = N;
    int const b = std::max(16, (quick ? 25600 : 204800) / N);
    double const t = time_solver<Kokkos::OpenMP>(p, b, repeats);
    std::printf("    N = %5d  batch %6d  %10.1f realisations/s  %8.2f ns per cell and step\n", N, b, b / t,
                1e9 * t / (double(b) * N * p.num_steps()));
  }
  std::printf("[4] scaling in the batch size (OpenMP, reference case)\n");
  for (int b : {1, 8, 64, 512, 4096}) {
    if (quick && b > 512) continue;
    double const t = time_solver<Kokkos::OpenMP>(ref, b, repeats);
    std::printf("    batch %5d  %10.0f realisations/s\n", b, b / t);
  }
  return 0;
}

// Benchmark of the porosity sampler and the ensemble solver (issues 3, 17).
//
// Build and run (Release, OpenMP + Serial Kokkos):
//   cmake --build build --target bench_ensemble
//   OMP_NUM_THREADS=2 OMP_PROC_BIND=false build/perf/bench_ensemble [--quick] [--sections 1,2,3,4,5,6,7]
//   perf/bench_ensemble_peers.sh build     # sections 5-6 against the numpy peer, same session
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
//   4. scaling in N (100 ... 4096) and in the batch size;
//   5. per core (Kokkos::Serial): the sweep-only ceiling — the time loop
//      of the 1000 steps alone (the host kernels' alternating passes,
//      docs/model.md §6.1) on one pack already in L1,
//      for every instruction set and pack width the host kernels are
//      compiled for (the pack width is chosen from this table) — and the
//      whole reference solve (GP draw excluded) of each kernel variant,
//      as a fraction of the ceiling of the instruction set in use;
//   6. per core: Butler–Volmer (transient, N = 100, 1000 steps) against the
//      linear reference solve per field, for the batched host Newton and the
//      per-realisation portable kernels, with Newton iterations per step;
//   7. the device (Kokkos::DefaultExecutionSpace, when the build has one, e.g.
//      Cuda) against OpenMP in the same process: throughput over batch sizes
//      (with and without the GP draw), scaling in N, Butler-Volmer.
// Lines starting with "summary:" are read by perf/bench_ensemble_peers.sh.
// Nothing is asserted on times; docs/performance.md records the output.
#include <psgm/core/Runtime.hpp>
#include <psgm/gp/PorositySampler.hpp>
#include <psgm/pde/EnsembleSolver.hpp>
#include <psgm/pde/impl/EnsembleHostKernels.hpp>
#include <psgm/pde/impl/EnsembleKernels.hpp>
#include <psgm/workflow/EnsembleGenerator.hpp>

#include "BenchUtil.hpp"

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using namespace psgm::pde;

/// CPU time of the calling thread (seconds): on this shared machine a
/// descheduled thread does not accumulate it, so single-threaded (Serial)
/// figures measured with it are far less noisy than wall times.
double thread_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

/// Best of `repeats` thread CPU times of f (seconds); f must run on this thread only.
double best_cpu_time(int repeats, std::function<void()> const& f) {
  double best = 1e300;
  for (int r = 0; r < repeats; ++r) {
    double const t0 = thread_seconds();
    f();
    best = std::min(best, thread_seconds() - t0);
  }
  return best;
}

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
double time_solver(ElectrodeParameters const& p, int B, int repeats, SolverKernels kernels = SolverKernels::automatic,
                   bool cpu_time = false) {
  using Mem = typename ExecSpace::memory_space;
  ExecSpace space;
  auto eps = porosity(space, B, p.N);
  Kokkos::View<double*, Mem> U0("psgm::bench::U0", B), F("psgm::bench::F", B);
  Kokkos::deep_copy(F, 25.0);
  Kokkos::View<double***, Kokkos::LayoutRight, Mem> fields("psgm::bench::fields", B, 2, p.N);
  Kokkos::View<psgm::SolveStatus*, Mem> status("psgm::bench::status", B);
  EnsembleSolver<ExecSpace> solver(space, p, B, kernels);
  return (cpu_time ? best_cpu_time : best_time)(repeats, [&] {
    solver.solve(space, eps, U0, F, fields, status);
    space.fence();
  });
}

/// Seconds per GP draw + solve of B realisations (psgm::workflow::EnsembleGenerator,
/// what psgm generate runs per batch).
template <class ExecSpace>
double time_draw_and_solve(ElectrodeParameters const& p, int B, int repeats) {
  ExecSpace space;
  psgm::workflow::EnsembleGenerator<ExecSpace> generator(
      space, p, psgm::workflow::PorositySource::gaussian_process(psgm::gp::PorosityModel{}), {99, 0, B}, B);
  std::vector<psgm::workflow::RealisationBlock> const batch{{{p.L / 10, 0.0, 25.0}, 0, 0, B}};
  return best_time(repeats, [&] {
    generator.generate(space, batch);
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
                         Setup{work, eps, U0, F, phis, fields, status, hist, its, its, k});
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

#if defined(KOKKOS_ENABLE_SERIAL)
using PerCore = Kokkos::Serial;  // one core, no threading overhead
#else
using PerCore = Kokkos::OpenMP;  // run with OMP_NUM_THREADS=1 for per-core figures
#endif

/// Seconds of the time loop of `p.num_steps()` steps (the host kernels'
/// passes, docs/model.md §6.1) on one pack of
/// width W, factored from real porosity fields, already in L1 (best of
/// `repeats`; the first call warms the pack).
double time_sweeps(Impl::host_packs::Isa isa, int W, ElectrodeParameters const& p, int repeats) {
  int const N = p.N;
  PerCore space;
  auto eps = porosity(space, W, N);
  // 64-byte aligned, as the solver's Kokkos workspace is (a pack's vectors never split cache lines).
  Kokkos::View<double*, Kokkos::HostSpace> work("psgm::bench::pack", std::size_t(Impl::num_linear_slots) * N * W);
  std::vector<double> U0(W, 0.0), F(W, 25.0), phis(N);
  auto const x = p.cell_centres();
  for (int i = 0; i < N; ++i) phis[i] = -p.G * x[i];
  Impl::host_packs::PackIo io;
  io.lanes = W;
  io.eps = eps.data();
  io.eps_ld = static_cast<std::ptrdiff_t>(eps.stride(0));
  io.U0 = U0.data();
  io.F_right = F.data();
  auto const k = Impl::Constants::from(p);
  Impl::host_packs::setup_linear(isa, W, k, phis.data(), work.data(), io);
  Impl::host_packs::time_loop(isa, W, work.data(), N, k.num_steps);  // warm-up
  return best_cpu_time(repeats, [&] { Impl::host_packs::time_loop(isa, W, work.data(), N, k.num_steps); });
}

struct BvTiming {
  double seconds;          // per solve of the batch
  double newton_per_step;  // mean Newton iterations per time step
  int max_last;            // largest iteration count of the last step
  int failed;              // realisations not ok
};

/// Butler–Volmer solve of B realisations (best of `repeats`) and its Newton statistics.
template <class ExecSpace = PerCore>
BvTiming time_butler_volmer(ElectrodeParameters const& p, int B, int repeats, SolverKernels kernels,
                            bool cpu_time = true) {
  using Mem = typename ExecSpace::memory_space;
  ExecSpace space;
  auto eps = porosity(space, B, p.N);
  Kokkos::View<double*, Mem> U0("psgm::bench::U0", B), F("psgm::bench::F", B);
  auto uh = Kokkos::create_mirror_view(U0);
  auto fh = Kokkos::create_mirror_view(F);
  for (int b = 0; b < B; ++b) {  // spread over the reference ranges: U0 in [-0.2, 0.2], F_right in [0, 50]
    uh(b) = -0.2 + 0.4 * ((b * 7) % B) / std::max(1, B - 1);
    fh(b) = 50.0 * ((b * 13) % B) / std::max(1, B - 1);
  }
  Kokkos::deep_copy(U0, uh);
  Kokkos::deep_copy(F, fh);
  Kokkos::View<double***, Kokkos::LayoutRight, Mem> fields("psgm::bench::fields", B, 2, p.N);
  Kokkos::View<psgm::SolveStatus*, Mem> status("psgm::bench::status", B);
  EnsembleSolver<ExecSpace> solver(space, p, B, kernels);
  BvTiming r{};
  r.seconds = (cpu_time ? best_cpu_time : best_time)(repeats, [&] {
    solver.solve(space, eps, U0, F, fields, status);
    space.fence();
  });
  auto total = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, solver.newton_total_iterations());
  auto last = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, solver.newton_iterations());
  auto st = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, status);
  double sum = 0;
  for (int b = 0; b < B; ++b) {
    sum += total(b);
    r.max_last = std::max(r.max_last, last(b));
    r.failed += st(b) != psgm::SolveStatus::ok;
  }
  r.newton_per_step = sum / (double(B) * p.num_steps());
  return r;
}

/// Section 5: sweep-only ceiling per instruction set and pack width, and the
/// whole solve of every kernel variant as a fraction of it (per core).
void section_sweeps(ElectrodeParameters const& ref, bool quick) {
  namespace hp = Impl::host_packs;
  int const repeats = quick ? 10 : 30;
  int const B = quick ? 128 : 512;
  std::printf("[5] per core (%s, thread CPU time, best of repeats): sweep-only ceiling and whole solve, reference "
              "case N = %d, %lld steps\n",
              PerCore::name(), ref.N, static_cast<long long>(ref.num_steps()));
  std::printf("    the CPU's best instruction set: %s\n", hp::name(hp::best_isa()));
  std::printf("    sweep-only (the time loop of 1000 steps on one pack in L1), realisations/s:\n");
  double ceiling = 0;
  for (auto isa : {hp::Isa::avx512, hp::Isa::avx2, hp::Isa::baseline}) {
    if (!hp::supported(isa)) continue;
    int widths[4], count = 0;
    hp::sweep_widths(isa, widths, count);
    std::printf("      %-9s", hp::name(isa));
    for (int c = 0; c < count; ++c) {
      double const t = time_sweeps(isa, widths[c], ref, repeats);
      double const rate = widths[c] / t;
      std::printf("  W = %2d: %8.0f%s", widths[c], rate, widths[c] == hp::pack_width(isa) ? " [used]" : "");
      if (isa == hp::best_isa() && widths[c] == hp::pack_width(isa)) ceiling = rate;
    }
    std::printf("\n");
  }
  std::printf("    whole solve (setup, 1000 steps, output; GP draw excluded), batch %d, realisations/s:\n", B);
  double whole = 0;
  for (auto kernels : {SolverKernels::automatic, SolverKernels::host_avx512, SolverKernels::host_avx2,
                       SolverKernels::host_baseline, SolverKernels::portable}) {
    if (kernels != SolverKernels::automatic && kernels != SolverKernels::portable &&
        !hp::supported(kernels == SolverKernels::host_avx512 ? hp::Isa::avx512
                       : kernels == SolverKernels::host_avx2 ? hp::Isa::avx2
                                                             : hp::Isa::baseline))
      continue;
    double const rate = B / time_solver<PerCore>(ref, B, quick ? 5 : 10, kernels, true);
    if (kernels == SolverKernels::automatic) whole = rate;
    std::printf("      %-14s %10.0f   %.2f of the ceiling\n", psgm::pde::to_string(kernels), rate, rate / ceiling);
  }
  std::printf("summary: isa=%s pack_width=%d sweep_ceiling_per_s=%.1f whole_per_s=%.1f whole_over_ceiling=%.3f\n\n",
              hp::name(hp::best_isa()), hp::pack_width(hp::best_isa()), ceiling, whole, whole / ceiling);
}

/// Section 6: Butler–Volmer against the linear reference solve, per field (per core).
void section_butler_volmer(ElectrodeParameters const& ref, bool quick) {
  ElectrodeParameters bv = ref;
  bv.kinetics = Kinetics::butler_volmer;
  int const B_lin = quick ? 128 : 512, B_host = quick ? 16 : 64, B_portable = quick ? 4 : 8;
  double const lin = time_solver<PerCore>(ref, B_lin, quick ? 5 : 10, SolverKernels::automatic, true) / B_lin;
  auto const host = time_butler_volmer(bv, B_host, quick ? 2 : 10, SolverKernels::automatic);
  auto const port = time_butler_volmer(bv, B_portable, 1, SolverKernels::portable);
  double const t_host = host.seconds / B_host, t_port = port.seconds / B_portable;
  std::printf("[6] per core (%s, thread CPU time): Butler-Volmer, transient, N = %d, %lld steps, per field\n",
              PerCore::name(), bv.N,
              static_cast<long long>(bv.num_steps()));
  std::printf("    linear reference solve                       %10.3f ms\n", 1e3 * lin);
  std::printf("    Butler-Volmer, batched host Newton (batch %d) %8.3f ms  = %6.1f x linear; Newton/step %.2f, "
              "last step <= %d, not ok %d\n",
              B_host, 1e3 * t_host, t_host / lin, host.newton_per_step, host.max_last, host.failed);
  std::printf("    Butler-Volmer, portable per realisation (%d)  %8.3f ms  = %6.1f x linear; Newton/step %.2f, "
              "last step <= %d, not ok %d\n",
              B_portable, 1e3 * t_port, t_port / lin, port.newton_per_step, port.max_last, port.failed);
  std::printf("summary: linear_per_field_s=%.4e bv_per_field_s=%.4e bv_over_linear=%.2f bv_portable_per_field_s=%.4e "
              "newton_per_step=%.3f\n\n",
              lin, t_host, t_host / lin, t_port, host.newton_per_step);
}


/// Section 7: the device (Kokkos::DefaultExecutionSpace when it is not a host
/// space, e.g. Cuda) against the host's OpenMP threads, in the same process:
/// reference-case throughput over batch sizes, with the GP draw, scaling in N,
/// and Butler-Volmer on the device (wall times, best of repeats, fenced).
void section_device(ElectrodeParameters const& ref, bool quick) {
  using Device = Kokkos::DefaultExecutionSpace;
  if constexpr (std::is_same_v<Device, Kokkos::DefaultHostExecutionSpace>) {
    std::printf("[7] device: none in this build (Kokkos::DefaultExecutionSpace is %s, a host space)\n\n",
                Device::name());
  } else {
    int const repeats = quick ? 1 : 3;
    int const threads = Kokkos::OpenMP().concurrency();
    std::printf("[7] device %s against OpenMP (%d threads), reference case N = %d, %lld steps, wall time, best of %d\n",
                Device::name(), threads, ref.N, static_cast<long long>(ref.num_steps()), repeats);
    std::printf("    %8s %16s %16s %10s %18s\n", "batch", "device real./s", "OpenMP real./s", "dev/OMP",
                "device incl. GP/s");
    std::vector<int> const batches = quick ? std::vector<int>{1024, 8192} : std::vector<int>{1024, 8192, 65536, 262144};
    double best_rate = 0, t_host = 0;
    int host_batch = 0;
    for (int b : batches) {
      double const t_dev = time_solver<Device>(ref, b, repeats);
      double const t_gp = time_draw_and_solve<Device>(ref, b, repeats);
      int const b_host = std::min(b, 16384);  // the host rate is flat beyond a few thousand
      // Batches beyond the cap share one host measurement.
      if (b_host != host_batch) t_host = time_solver<Kokkos::OpenMP>(ref, host_batch = b_host, repeats);
      std::printf("    %8d %16.0f %16.0f %10.2f %18.0f\n", b, b / t_dev, b_host / t_host, (b / t_dev) / (b_host / t_host),
                  b / t_gp);
      best_rate = std::max(best_rate, b / t_dev);
      std::fflush(stdout);
    }
    std::printf("    scaling in N on the device (batch x N = %d):\n", quick ? 819200 : 6553600);
    for (int N : {100, 256, 1024, 4096}) {
      ElectrodeParameters p;
      p.N = N;
      int const b = std::max(64, (quick ? 819200 : 6553600) / N);
      double const t = time_solver<Device>(p, b, repeats);
      std::printf("      N = %5d  batch %7d  %12.1f realisations/s  %8.3f ns per cell and step\n", N, b, b / t,
                  1e9 * t / (double(b) * N * p.num_steps()));
      std::fflush(stdout);
    }
    ElectrodeParameters bv = ref;
    bv.kinetics = Kinetics::butler_volmer;
    int const b_bv = quick ? 4096 : 65536;
    auto const r = time_butler_volmer<Device>(bv, b_bv, repeats, SolverKernels::automatic, false);
    double const t_lin = time_solver<Device>(ref, b_bv, repeats);
    std::printf("    Butler-Volmer on the device, batch %d: %12.0f realisations/s = %.1f x the linear solve's time "
                "per field; Newton/step %.2f, last step <= %d, not ok %d\n",
                b_bv, b_bv / r.seconds, r.seconds / t_lin, r.newton_per_step, r.max_last, r.failed);
    std::printf("summary: device=%s device_best_per_s=%.1f bv_device_per_s=%.1f bv_device_over_linear=%.2f\n\n",
                Device::name(), best_rate, b_bv / r.seconds, r.seconds / t_lin);
  }
}
}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::vector<int> sections{1, 2, 3, 4, 5, 6, 7};
  for (int a = 1; a < argc; ++a) {
    if (std::strcmp(argv[a], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[a], "--sections") == 0 && a + 1 < argc) {
      sections = psgm_bench::parse_list(argv[++a]);
    } else {
      std::fprintf(stderr, "usage: %s [--quick] [--sections 1,2,3,4,5,6,7]\n", argv[0]);
      return 2;
    }
  }
  auto const run = [&](int section) { return std::find(sections.begin(), sections.end(), section) != sections.end(); };
  psgm::ScopeGuard guard;
  // concurrency() is a static member in Kokkos 3.4 and a non-static one from 4.0.
  int const threads = Kokkos::OpenMP().concurrency();
  int const repeats = quick ? 1 : 3;
  ElectrodeParameters const ref;  // the reference case: N = 100, 1000 steps
  int const B = quick ? 256 : 2048;
  std::printf("psgm ensemble benchmark: %s\nOpenMP threads: %d; reference case N = %d, %lld steps, batch %d\n\n",
              psgm::build_info().c_str(), threads, ref.N, static_cast<long long>(ref.num_steps()), B);

  double t_omp = 0;  // sections 1-2
  if (run(1)) {
    // 1. throughput
    t_omp = time_solver<Kokkos::OpenMP>(ref, B, repeats);
  #if defined(KOKKOS_ENABLE_SERIAL)
    double const t_ser = time_solver<Kokkos::Serial>(ref, B, repeats);
  #else
    double const t_ser = std::numeric_limits<double>::quiet_NaN();  // a Kokkos without Serial: no baseline
  #endif
    double const t_omp_gp = time_draw_and_solve<Kokkos::OpenMP>(ref, B, repeats);
    double const t_omp_portable = time_solver<Kokkos::OpenMP>(ref, B, repeats, SolverKernels::portable);
    std::printf("[1] reference-case throughput\n");
    std::printf("    OpenMP (%d threads)         %10.0f realisations/s  (%.0f per thread)\n", threads, B / t_omp,
                B / t_omp / threads);
    std::printf("    serial C++ loop (Serial)   %10.0f realisations/s\n", B / t_ser);
    std::printf("    ratio OpenMP / serial      %10.2f\n", t_ser / t_omp);
    std::printf("    OpenMP incl. GP sampling   %10.0f realisations/s\n", B / t_omp_gp);
    std::printf("    OpenMP, portable kernels   %10.0f realisations/s  (host packs / portable: %.2f)\n\n",
                B / t_omp_portable, t_omp_portable / t_omp);
  }
  if (run(2)) {
    // 2. bandwidth
    if (!(t_omp > 0)) t_omp = time_solver<Kokkos::OpenMP>(ref, B, repeats);
    std::size_t const n_stream = quick ? (std::size_t(1) << 22) : (std::size_t(1) << 25);
    double const bw = stream_triad(n_stream, quick ? 3 : 5);
    // Streaming model of the host time loop (docs/model.md §6.1): per step
    // and cell one pass reads the state, 1/D, l and l' and writes the state:
    // 5 doubles = 40 bytes. Compulsory traffic: ε in, (c, φ) out = 3 N doubles.
    double const bytes_stream = 40.0 * (ref.N - 1) * ref.num_steps();
    double const bytes_compulsory = 3.0 * 8.0 * ref.N;
    std::printf("[2] STREAM triad (OpenMP, %zu doubles/array): %.2f GB/s\n", n_stream, bw / 1e9);
    std::printf("    streaming-model bound  %10.0f realisations/s -> solver at %.2f x the bound\n", bw / bytes_stream,
                (B / t_omp) / (bw / bytes_stream));
    std::printf("    compulsory-traffic bound %10.0f realisations/s -> solver at %.4f of the bound\n\n",
                bw / bytes_compulsory, (B / t_omp) / (bw / bytes_compulsory));
  }
  if (run(3)) {
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
  }
  if (run(4)) {
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
  }
  if (run(5)) section_sweeps(ref, quick);
  if (run(6)) section_butler_volmer(ref, quick);
  if (run(7)) section_device(ref, quick);
  return 0;
}

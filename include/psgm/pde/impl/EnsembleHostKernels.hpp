// Host pack kernels of the ensemble solver (src/pde/ensemble_host_kernels.cpp):
// the whole solve of one pack of W realisations — porosity in, fields and
// statuses out — with every per-cell operation a vector operation across the
// W realisations of the pack. Host-only and free of Kokkos: the host path of
// EnsembleSolver (impl/EnsembleSolver_Impl.hpp) calls them from a parallel_for
// over packs; device spaces use the portable kernels of EnsembleKernels.hpp.
//
// One source, compiled for AVX-512, AVX2+FMA and the compiler's baseline with
// function-level target attributes; the CPU is probed once and the best
// variant is called, with the probe and attributes the native score backend
// uses (psgm/core/impl/HostIsa.hpp). Results of different instruction sets
// agree to round-off (FMA contraction and vector exp differ), not bitwise.
//
// A pack's workspace is `slots × N × W` doubles, element (slot, i, lane) at
// (slot N + i) W + lane: the layout of one pack of the solver's (packs, slots,
// N, W) workspace (Slot in EnsembleConstants.hpp).
#pragma once

#include <psgm/core/Status.hpp>
#include <psgm/core/impl/HostIsa.hpp>
#include <psgm/pde/impl/EnsembleConstants.hpp>

#include <cstddef>
#include <cstdint>

namespace psgm::pde::Impl::host_packs {

/// Instruction sets the kernels are compiled for (shared with the native score backend).
using Isa = psgm::Impl::HostIsa;

/// The best instruction set this CPU supports and this build compiled
/// kernels for (psgm::Impl::host_isa(), probed once).
Isa best_isa();
/// Whether this CPU (and this build) can run `isa`.
bool supported(Isa isa);
/// "avx512", "avx2", "baseline" ("scalar" where the compiler has no vector extensions).
char const* name(Isa isa);
/// Realisations per pack of the whole-solve kernels for `isa` and the
/// kinetics, chosen by measurement (perf/bench_ensemble.cpp sections 5–6,
/// docs/performance.md).
int pack_width(Isa isa, Kinetics kinetics = Kinetics::linear);
/// Pack widths the sweep-only kernel (time_loop) is compiled for, for `isa`:
/// `count` widths written to `widths` (at most 4).
void sweep_widths(Isa isa, int* widths, int& count);

/// Where the realisations of one pack come from and go to (host memory).
/// Realisation `lane` of the pack (lane < lanes) reads eps[lane eps_ld + i],
/// U0[lane], F_right[lane], and writes fields[lane ld0 + f ld1 + i] (f = 0: c,
/// f = 1: φ), status[lane]; Butler–Volmer also iterations[lane] (Newton
/// iterations of the last step), total_iterations[lane] (all steps) and
/// history[lane history_ld + k], k < history_len. Lanes lanes..W-1 are
/// padding: they compute on a benign porosity and write nothing.
struct PackIo {
  int lanes = 0;
  double const* eps = nullptr;
  std::ptrdiff_t eps_ld = 0;
  double const* U0 = nullptr;
  double const* F_right = nullptr;
  double* fields = nullptr;
  std::ptrdiff_t fields_ld0 = 0, fields_ld1 = 0;
  psgm::SolveStatus* status = nullptr;
  int* iterations = nullptr;
  int* total_iterations = nullptr;
  double* history = nullptr;
  std::ptrdiff_t history_ld = 0;
  int history_len = 0;
};

/// The complete solve of one pack (docs/model.md eqs. 5–16): linear kinetics
/// (transient reference or steady state) or Butler–Volmer (batched Newton,
/// §6.3). `phis` = φ_s(x_i) (N values); `work` = the pack's workspace with
/// num_linear_slots or num_host_butler_volmer_slots slots of N × pack_width(isa, k's kinetics).
void solve_pack(Isa isa, Constants const& k, double const* phis, double* work, PackIo const& io);

/// Benchmark pieces, on a pack of width W (one of sweep_widths(isa)):
/// everything before the time loop of the transient linear case (eqs. 5–10,
/// 12) ...
void setup_linear(Isa isa, int W, Constants const& k, double const* phis, double* work, PackIo const& io);
/// ... and the time loop alone: `steps` implicit-Euler steps on the factors
/// setup_linear left in slots P, Q, LL, U (docs/model.md §6.1: the steady
/// state split off, the symmetric matrix factored top-down and bottom-up,
/// passes alternating), updating the scaled state in slot C.
void time_loop(Isa isa, int W, double* work, int N, std::int64_t steps);

}  // namespace psgm::pde::Impl::host_packs

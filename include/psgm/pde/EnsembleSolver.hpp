// Batched solver of the porous-electrode equations (spec model.md §3–6,
// docs/model.md eqs. 5–16): one realisation per porosity field, all
// realisations of a batch solved concurrently on the execution space.
//
// Inputs per realisation b: porosity ε(b, :), applied voltage U0(b), applied
// ionic current F_right(b). Outputs: fields(b, 0, :) = c, fields(b, 1, :) = φ
// (shifted so that φ_0 = 0), and a psgm::SolveStatus.
#pragma once

#include <psgm/core/ExecutionSpaces.hpp>
#include <psgm/core/Status.hpp>
#include <psgm/pde/ElectrodeParameters.hpp>

#include <Kokkos_Core.hpp>

namespace psgm::pde {

/// Which kernels an EnsembleSolver runs (docs/performance.md, "Ensemble solver").
enum class SolverKernels {
  automatic,      ///< host packs on the best instruction set of the CPU on host spaces, portable elsewhere
  portable,       ///< one realisation per thread, Kokkos kernels only (GPUs; any space)
  host_avx512,    ///< host packs compiled for AVX-512 (host spaces, CPUs with AVX-512 only)
  host_avx2,      ///< host packs compiled for AVX2 + FMA (host spaces, CPUs with AVX2 and FMA only)
  host_baseline,  ///< host packs compiled for the compiler's baseline (SSE2 on x86-64; host spaces)
};
char const* to_string(SolverKernels kernels);

template <class ExecSpace>
class EnsembleSolver {
 public:
  using execution_space = ExecSpace;
  using memory_space = typename ExecSpace::memory_space;
  using device_type = Kokkos::Device<ExecSpace, memory_space>;
  using porosity_view = Kokkos::View<const double**, Kokkos::LayoutRight, memory_space>;  // (B, N)
  using scalar_view = Kokkos::View<const double*, memory_space>;                          // (B)
  using fields_view = Kokkos::View<double***, Kokkos::LayoutRight, memory_space>;          // (B, 2, N)
  using status_view = Kokkos::View<psgm::SolveStatus*, memory_space>;                     // (B)
  using history_view = Kokkos::View<double**, Kokkos::LayoutRight, memory_space>;         // (B, iterations + 1)
  using count_view = Kokkos::View<int*, memory_space>;                                    // (B)

  /// Validates `params` (psgm::InvalidArgument on bad input) and allocates
  /// every workspace for up to `max_batch` realisations once. `kernels`
  /// picks the implementation: host_* on a device space, or an instruction
  /// set this CPU lacks, throws psgm::InvalidArgument.
  EnsembleSolver(ExecSpace const& space, ElectrodeParameters const& params, int max_batch,
                 SolverKernels kernels = SolverKernels::automatic);

  /// Solves B = porosity.extent(0) <= max_batch realisations. Asynchronous on
  /// `space`. Shapes are checked (psgm::InvalidArgument); values are not:
  /// a non-finite or out-of-range porosity gives status non_finite (or
  /// depleted) for that realisation, never an exception. Use
  /// check_porosity() to reject such fields with a message beforehand.
  void solve(ExecSpace const& space, porosity_view porosity, scalar_view U0, scalar_view F_right, fields_view fields,
             status_view status);

  ElectrodeParameters const& parameters() const { return params_; }
  int max_batch() const { return max_batch_; }
  /// The kernels in use (never `automatic`) and the realisations per pack of
  /// the workspace.
  SolverKernels kernels() const { return kernels_; }
  int pack_width() const { return static_cast<int>(work_.extent(3)); }

  /// Butler–Volmer diagnostics of the last solve: Newton iterations per
  /// realisation (of the last time step in transient mode), and the scaled
  /// residual norm max(‖R_c‖∞ / r_c, ‖R_φ‖∞ / r_φ) before each iteration
  /// (history(b, k), k = 0..iterations; docs/model.md §6.3). Empty views for
  /// linear kinetics.
  count_view newton_iterations() const { return iterations_; }
  history_view newton_history() const { return history_; }
  /// Butler–Volmer: Newton iterations per realisation summed over all time
  /// steps of the last solve (= newton_iterations() in steady mode; a failed
  /// step counts newton_max_iterations). Empty for linear kinetics.
  count_view newton_total_iterations() const { return total_iterations_; }

 private:
  // Internal workspace (packs, arrays, N, W): realisations in packs of W
  // (the host packs' width for the instruction set, 8 for the portable
  // kernels on CPUs, 32 on GPUs), the W lanes adjacent for every (array,
  // cell), each pack contiguous. Chosen by measurement (docs/performance.md,
  // "Ensemble solver"): CPU threads advance a pack in vector registers, GPU
  // threads (one realisation each) coalesce, and a pack's working set stays
  // within a few pages.
  using work_view = Kokkos::View<double****, Kokkos::LayoutRight, memory_space>;

  ElectrodeParameters params_;
  int max_batch_;
  SolverKernels kernels_;
  Kokkos::View<double*, memory_space> phis_;  // solid potential φ_s(x_i) = -G x_i (N)
  work_view work_;                         // per-realisation arrays, see impl/EnsembleSolver_Impl.hpp
  count_view iterations_;
  count_view total_iterations_;
  history_view history_;
};

/// Throws psgm::InvalidArgument naming the first realisation and cell whose
/// porosity is not finite or not in (0, 1), with its value. Fences `space`
/// (it reads the result on the host).
template <class ExecSpace>
void check_porosity(ExecSpace const& space, typename EnsembleSolver<ExecSpace>::porosity_view porosity);

}  // namespace psgm::pde

#define PSGM_PDE_ENSEMBLE_SOLVER_ETI(Space)                                                                   \
  extern template class psgm::pde::EnsembleSolver<Space>;                                                     \
  extern template void psgm::pde::check_porosity<Space>(                                                      \
      Space const&, psgm::pde::EnsembleSolver<Space>::porosity_view);
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_PDE_ENSEMBLE_SOLVER_ETI)
#undef PSGM_PDE_ENSEMBLE_SOLVER_ETI

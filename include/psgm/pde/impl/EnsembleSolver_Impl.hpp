// psgm::pde::EnsembleSolver: workspaces and kernel launches. The portable
// kernels are in EnsembleKernels.hpp, the host pack kernels (ISA-dispatched,
// compiled into libpsgm) in EnsembleHostKernels.hpp. Included by
// src/pde/ensemble_solver_eti.cpp for every enabled execution space; include
// it yourself only for a space psgm was not built for.
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/pde/EnsembleSolver.hpp>
#include <psgm/pde/impl/EnsembleHostKernels.hpp>
#include <psgm/pde/impl/EnsembleKernels.hpp>

#include <string>

namespace psgm::pde {

namespace Impl {

/// Realisations per pack of the workspace (its last extent): on the host the
/// lanes one thread advances together in vector registers (the fastest of the
/// variants measured in docs/performance.md, "Ensemble solver"); on GPUs a
/// warp's worth of consecutive threads, so their loads coalesce.
template <class ExecSpace>
inline constexpr int pack_width =
    Kokkos::SpaceAccessibility<Kokkos::HostSpace, typename ExecSpace::memory_space>::accessible ? 8 : 32;

template <class ExecSpace>
inline constexpr bool use_packed_time_loop =
    Kokkos::SpaceAccessibility<Kokkos::HostSpace, typename ExecSpace::memory_space>::accessible;

/// Host execution spaces run the host pack kernels (their memory is the host's).
template <class ExecSpace>
inline constexpr bool host_space = std::is_same_v<typename ExecSpace::memory_space, Kokkos::HostSpace>;

inline host_packs::Isa isa_of(SolverKernels kernels) {
  switch (kernels) {
    case SolverKernels::host_avx512: return host_packs::Isa::avx512;
    case SolverKernels::host_avx2: return host_packs::Isa::avx2;
    default: return host_packs::Isa::baseline;
  }
}

inline SolverKernels kernels_of(host_packs::Isa isa) {
  switch (isa) {
    case host_packs::Isa::avx512: return SolverKernels::host_avx512;
    case host_packs::Isa::avx2: return SolverKernels::host_avx2;
    default: return SolverKernels::host_baseline;
  }
}

/// The whole solve of one pack of realisations per iteration, on the host:
/// the pack's porosity in, its fields, statuses and Newton diagnostics out
/// (host_packs::solve_pack). Host-only (no KOKKOS_FUNCTION): launched on host
/// execution spaces only.
template <class WorkView, class EpsView, class ScalarView, class PhisView, class Fields, class StatusView,
          class HistoryView, class CountView>
struct HostPackSolve {
  host_packs::Isa isa;
  Constants k;
  WorkView work;
  EpsView eps;
  ScalarView U0, F_right;
  PhisView phis;
  Fields fields;
  StatusView status;
  HistoryView history;
  CountView iterations, total_iterations;
  int B;

  void operator()(int pack) const {
    int const W = static_cast<int>(work.extent(3));
    int const b0 = pack * W;
    host_packs::PackIo io;
    io.lanes = B - b0 < W ? B - b0 : W;
    io.eps = &eps(b0, 0);
    io.eps_ld = static_cast<std::ptrdiff_t>(eps.stride(0));
    io.U0 = &U0(b0);
    io.F_right = &F_right(b0);
    io.fields = &fields(b0, 0, 0);
    io.fields_ld0 = static_cast<std::ptrdiff_t>(fields.stride(0));
    io.fields_ld1 = static_cast<std::ptrdiff_t>(fields.stride(1));
    io.status = &status(b0);
    if (k.butler_volmer) {
      io.iterations = &iterations(b0);
      io.total_iterations = &total_iterations(b0);
      io.history = history.data() + static_cast<std::ptrdiff_t>(history.stride(0)) * b0;
      io.history_ld = static_cast<std::ptrdiff_t>(history.stride(0));
      io.history_len = static_cast<int>(history.extent(1));
    }
    host_packs::solve_pack(isa, k, phis.data(), &work(pack, 0, 0, 0), io);
  }
};

}  // namespace Impl

template <class ExecSpace>
EnsembleSolver<ExecSpace>::EnsembleSolver(ExecSpace const& space, ElectrodeParameters const& params, int max_batch,
                                          SolverKernels kernels)
    : params_(params), max_batch_(max_batch), kernels_(kernels) {
  psgm::ScopedRegion region("psgm::pde::EnsembleSolver::EnsembleSolver");
  params_.validate();
  require(max_batch >= 1, "EnsembleSolver: max_batch = ", max_batch, " must be >= 1");
  constexpr bool host = Impl::host_space<ExecSpace>;
  if (kernels_ == SolverKernels::automatic)
    kernels_ = host ? Impl::kernels_of(Impl::host_packs::best_isa()) : SolverKernels::portable;
  if (kernels_ != SolverKernels::portable) {
    require(host, "EnsembleSolver<", ExecSpace::name(), ">: SolverKernels::", to_string(kernels_),
            " runs only on host execution spaces; use automatic or portable");
    require(Impl::host_packs::supported(Impl::isa_of(kernels_)), "EnsembleSolver: SolverKernels::",
            to_string(kernels_), " needs an instruction set this CPU lacks (best: ",
            Impl::host_packs::name(Impl::host_packs::best_isa()), ")");
  }
  int const N = params_.N;
  int const slots = params_.kinetics != Kinetics::butler_volmer ? Impl::num_linear_slots
                    : kernels_ == SolverKernels::portable        ? Impl::num_butler_volmer_slots
                                                                 : Impl::num_host_butler_volmer_slots;
  // Zero-initialised: padding lanes of the portable packed time loop compute on zeros.
  int const W = kernels_ == SolverKernels::portable ? Impl::pack_width<ExecSpace>
                                                    : Impl::host_packs::pack_width(Impl::isa_of(kernels_), params_.kinetics);
  work_ = work_view(Kokkos::view_alloc(space, "psgm::pde::workspace"), (max_batch + W - 1) / W, slots, N, W);
  phis_ = Kokkos::View<double*, memory_space>(
      Kokkos::view_alloc(space, Kokkos::WithoutInitializing, "psgm::pde::solid_potential"), N);
  auto phis_host = Kokkos::create_mirror_view(Kokkos::HostSpace{}, phis_);
  auto const centres = params_.cell_centres();
  for (int i = 0; i < N; ++i) phis_host(i) = -params_.G * centres[i];  // φ_s(x_i) = -G x_i (§4)
  Kokkos::deep_copy(space, phis_, phis_host);
  if (params_.kinetics == Kinetics::butler_volmer) {
    iterations_ = count_view(Kokkos::view_alloc(space, "psgm::pde::newton_iterations"), max_batch);
    total_iterations_ = count_view(Kokkos::view_alloc(space, "psgm::pde::newton_total_iterations"), max_batch);
    history_ = history_view(Kokkos::view_alloc(space, "psgm::pde::newton_history"), max_batch,
                            params_.newton_max_iterations + 1);
  } else {
    // Zero-extent views (valid for the kernels' template arguments).
    iterations_ = count_view(Kokkos::view_alloc(space, "psgm::pde::newton_iterations"), 0);
    total_iterations_ = count_view(Kokkos::view_alloc(space, "psgm::pde::newton_total_iterations"), 0);
    history_ = history_view(Kokkos::view_alloc(space, "psgm::pde::newton_history"), 0, 0);
  }
  // phis_host may be destroyed before an asynchronous copy finished.
  space.fence();
}

template <class ExecSpace>
void EnsembleSolver<ExecSpace>::solve(ExecSpace const& space, porosity_view porosity, scalar_view U0,
                                      scalar_view F_right, fields_view fields, status_view status) {
  psgm::ScopedRegion region("psgm::pde::EnsembleSolver::solve");
  int const B = static_cast<int>(porosity.extent(0));
  int const N = params_.N;
  require(B <= max_batch_, "EnsembleSolver::solve: batch of ", B, " realisations exceeds max_batch = ", max_batch_);
  require(static_cast<int>(porosity.extent(1)) == N, "EnsembleSolver::solve: porosity has ", porosity.extent(1),
          " cells, expected N = ", N);
  require(static_cast<int>(U0.extent(0)) == B && static_cast<int>(F_right.extent(0)) == B,
          "EnsembleSolver::solve: U0 and F_right have ", U0.extent(0), " and ", F_right.extent(0),
          " entries, expected one per realisation (", B, ")");
  require(static_cast<int>(fields.extent(0)) == B && fields.extent(1) == 2 && static_cast<int>(fields.extent(2)) == N,
          "EnsembleSolver::solve: fields has shape (", fields.extent(0), ", ", fields.extent(1), ", ",
          fields.extent(2), "), expected (", B, ", 2, ", N, ")");
  require(static_cast<int>(status.extent(0)) == B, "EnsembleSolver::solve: status has ", status.extent(0),
          " entries, expected ", B);
  if (B == 0) return;

  auto const k = Impl::Constants::from(params_);
  auto const hist = history_;
  auto const its = iterations_;
  auto const total = total_iterations_;
  if constexpr (Impl::host_space<ExecSpace>) {
    if (kernels_ != SolverKernels::portable) {
      // Host packs: one iteration solves a whole pack (eqs. 5–16), so its
      // working set stays in the core's L1/L2 from setup to output.
      int const W = pack_width();
      using Packs = Impl::HostPackSolve<work_view, porosity_view, scalar_view, Kokkos::View<double*, memory_space>,
                                        fields_view, status_view, history_view, count_view>;
      Kokkos::parallel_for("psgm::pde::solve_packs", Kokkos::RangePolicy<ExecSpace>(space, 0, (B + W - 1) / W),
                           Packs{Impl::isa_of(kernels_), k, work_, porosity, U0, F_right, phis_, fields, status, hist,
                                 its, total, B});
      return;
    }
  }
  using Setup = Impl::SetupOrSolve<work_view, porosity_view, scalar_view, Kokkos::View<double*, memory_space>,
                                   fields_view, status_view, history_view, count_view>;
  Kokkos::parallel_for("psgm::pde::setup_or_solve", Kokkos::RangePolicy<ExecSpace>(space, 0, B),
                       Setup{work_, porosity, U0, F_right, phis_, fields, status, hist, its, total, k});
  if (params_.kinetics == Kinetics::butler_volmer || params_.mode == ConcentrationMode::steady) return;

  // Eq. 12: int(T/dt) implicit-Euler steps with the factors of the setup.
  if constexpr (Impl::use_packed_time_loop<ExecSpace>) {
    constexpr int W = Impl::pack_width<ExecSpace>;
    Kokkos::parallel_for("psgm::pde::time_loop", Kokkos::RangePolicy<ExecSpace>(space, 0, (B + W - 1) / W),
                         Impl::TimeLoopPacked<W, work_view>{work_, N, k.num_steps});
  } else {
    Kokkos::parallel_for("psgm::pde::time_loop", Kokkos::RangePolicy<ExecSpace>(space, 0, B),
                         Impl::TimeLoopPerThread<work_view>{work_, N, k.num_steps});
  }
  Kokkos::parallel_for("psgm::pde::finish", Kokkos::RangePolicy<ExecSpace>(space, 0, B),
                       Impl::Finish<work_view, fields_view, status_view>{work_, fields, status, k});
}

template <class ExecSpace>
void check_porosity(ExecSpace const& space, typename EnsembleSolver<ExecSpace>::porosity_view porosity) {
  psgm::ScopedRegion region("psgm::pde::check_porosity");
  int const B = static_cast<int>(porosity.extent(0));
  int const N = static_cast<int>(porosity.extent(1));
  if (B == 0 || N == 0) return;
  // Smallest flat index b N + i of a bad value (or B N if none).
  long long first = 0;
  Kokkos::parallel_reduce(
      "psgm::pde::check_porosity", Kokkos::RangePolicy<ExecSpace>(space, 0, static_cast<long long>(B) * N),
      KOKKOS_LAMBDA(long long idx, long long& m) {
        double const e = porosity(idx / N, idx % N);
        bool const ok = psgm::math::isfinite(e) && e > 0 && e < 1;
        if (!ok && idx < m) m = idx;
      },
      Kokkos::Min<long long>(first));
  // The reduction into a host scalar has completed here (parallel_reduce to
  // a scalar is blocking).
  if (first >= static_cast<long long>(B) * N) return;
  int const b = static_cast<int>(first / N), i = static_cast<int>(first % N);
  auto one = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, Kokkos::subview(porosity, b, i));
  throw InvalidArgument(psgm::Impl::concat("porosity of realisation ", b, " at cell ", i, " is ", one(),
                                     ": expected a finite value in (0, 1)"));
}

}  // namespace psgm::pde

// psgm::pde::EnsembleSolver: workspaces and kernel launches. The kernels are
// in EnsembleKernels.hpp. Included by src/pde/ensemble_solver_eti.cpp for
// every enabled execution space; include it yourself only for a space psgm
// was not built for.
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/pde/EnsembleSolver.hpp>
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

}  // namespace Impl

template <class ExecSpace>
EnsembleSolver<ExecSpace>::EnsembleSolver(ExecSpace const& space, ElectrodeParameters const& params, int max_batch)
    : params_(params), max_batch_(max_batch) {
  psgm::ScopedRegion region("psgm::pde::EnsembleSolver::EnsembleSolver");
  params_.validate();
  require(max_batch >= 1, "EnsembleSolver: max_batch = ", max_batch, " must be >= 1");
  int const N = params_.N;
  int const slots = params_.kinetics == Kinetics::butler_volmer ? Impl::num_butler_volmer_slots
                                                                 : Impl::num_linear_slots;
  // Zero-initialised: padding lanes of the packed time loop compute on zeros.
  constexpr int W = Impl::pack_width<ExecSpace>;
  work_ = work_view(Kokkos::view_alloc(space, "psgm::pde::workspace"), (max_batch + W - 1) / W, slots, N, W);
  phis_ = Kokkos::View<double*, memory_space>(
      Kokkos::view_alloc(space, Kokkos::WithoutInitializing, "psgm::pde::solid_potential"), N);
  auto phis_host = Kokkos::create_mirror_view(Kokkos::HostSpace{}, phis_);
  auto const centres = params_.cell_centres();
  for (int i = 0; i < N; ++i) phis_host(i) = -params_.G * centres[i];  // φ_s(x_i) = -G x_i (§4)
  Kokkos::deep_copy(space, phis_, phis_host);
  if (params_.kinetics == Kinetics::butler_volmer) {
    iterations_ = count_view(Kokkos::view_alloc(space, "psgm::pde::newton_iterations"), max_batch);
    history_ = history_view(Kokkos::view_alloc(space, "psgm::pde::newton_history"), max_batch,
                            params_.newton_max_iterations + 1);
  } else {
    // Zero-extent views (valid for the kernels' template arguments).
    iterations_ = count_view(Kokkos::view_alloc(space, "psgm::pde::newton_iterations"), 0);
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
  using Setup = Impl::SetupOrSolve<work_view, porosity_view, scalar_view, Kokkos::View<double*, memory_space>,
                                   fields_view, status_view, history_view, count_view>;
  Kokkos::parallel_for("psgm::pde::setup_or_solve", Kokkos::RangePolicy<ExecSpace>(space, 0, B),
                       Setup{work_, porosity, U0, F_right, phis_, fields, status, hist, its, k});
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

// Per-sample state of the adaptive probability-flow integrator (ode_dopri5).
#pragma once

#include <Kokkos_Core.hpp>

#include <cstdint>

namespace psgm {
namespace sde {
namespace Impl {

/// Per-sample state of the adaptive integrator.
template <class MemorySpace>
struct AdaptiveState {
  Kokkos::View<double*, MemorySpace> t;         ///< current time of each sample
  Kokkos::View<double*, MemorySpace> h;         ///< signed step to try next (0 once done)
  Kokkos::View<double*, MemorySpace> t_stage;   ///< time of the stage being evaluated
  Kokkos::View<int*, MemorySpace> done;         ///< 1 once t reached t_end (or failed)
  Kokkos::View<int*, MemorySpace> last_rejected;  ///< the previous attempt was rejected (no step growth)
  Kokkos::View<double*, MemorySpace> aux;       ///< scratch (the initial-step estimate)
  Kokkos::View<std::int64_t*, MemorySpace> accepted, rejected, evaluations;
};

}  // namespace Impl
}  // namespace sde
}  // namespace psgm

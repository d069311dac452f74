// The Kokkos execution spaces psgm instantiates its kernels for, and their names.
//
// PSGM_FOR_EACH_EXECUTION_SPACE(M) expands M(Space) for every execution space
// the Kokkos installation enables. Modules use it for their explicit
// instantiations (src/<module>/*_eti.cpp) and the matching extern templates.
#pragma once

#include <Kokkos_Core.hpp>

#if defined(KOKKOS_ENABLE_SERIAL)
#define PSGM_IMPL_FOR_SERIAL(M) M(Kokkos::Serial)
#else
#define PSGM_IMPL_FOR_SERIAL(M)
#endif
#if defined(KOKKOS_ENABLE_OPENMP)
#define PSGM_IMPL_FOR_OPENMP(M) M(Kokkos::OpenMP)
#else
#define PSGM_IMPL_FOR_OPENMP(M)
#endif
#if defined(KOKKOS_ENABLE_THREADS)
#define PSGM_IMPL_FOR_THREADS(M) M(Kokkos::Threads)
#else
#define PSGM_IMPL_FOR_THREADS(M)
#endif
#if defined(KOKKOS_ENABLE_CUDA)
#define PSGM_IMPL_FOR_CUDA(M) M(Kokkos::Cuda)
#else
#define PSGM_IMPL_FOR_CUDA(M)
#endif
#if defined(KOKKOS_ENABLE_HIP)
#if KOKKOS_VERSION >= 40000
#define PSGM_IMPL_FOR_HIP(M) M(Kokkos::HIP)
#else
#define PSGM_IMPL_FOR_HIP(M) M(Kokkos::Experimental::HIP)
#endif
#else
#define PSGM_IMPL_FOR_HIP(M)
#endif

#define PSGM_FOR_EACH_EXECUTION_SPACE(M) \
  PSGM_IMPL_FOR_SERIAL(M) PSGM_IMPL_FOR_OPENMP(M) PSGM_IMPL_FOR_THREADS(M) PSGM_IMPL_FOR_CUDA(M) PSGM_IMPL_FOR_HIP(M)

namespace psgm {

/// Human-readable name of an execution space ("Serial", "OpenMP", "Cuda", ...).
template <class ExecSpace>
inline char const* execution_space_name() {
  return ExecSpace::name();
}

/// True when memory of MemorySpace can be read from the host.
template <class MemorySpace>
inline constexpr bool is_host_accessible_v =
    Kokkos::SpaceAccessibility<Kokkos::HostSpace, MemorySpace>::accessible;

}  // namespace psgm

// Kokkos compatibility layer: psgm's device code compiles against Kokkos 3.4
// (Debian's Trilinos 13.2) and against Kokkos 4.x / 5.x. Everything that moved
// between those releases is reached through this header, never directly.
//
//  * math functions: Kokkos::Experimental:: in 3.4-3.6, Kokkos:: from 3.7;
//  * printf from device code: Kokkos::printf from 4.2, plain printf before;
//  * profiling regions: Kokkos::Profiling::ScopedRegion only from 4.1, so psgm
//    has its own RAII region on top of push/popRegion (present in all);
//  * View mirrors: use `host_mirror_type` (HostMirror is deprecated in 4.x).
#pragma once

#include <Kokkos_Core.hpp>

#include <string>

#ifndef KOKKOS_VERSION
#error "psgm needs a Kokkos that defines KOKKOS_VERSION (3.4 or newer)"
#endif
#if KOKKOS_VERSION < 30400
#error "psgm needs Kokkos 3.4 or newer"
#endif

namespace psgm {
namespace math {

#if KOKKOS_VERSION >= 30700
#define PSGM_IMPL_KOKKOS_MATH Kokkos
#else
#define PSGM_IMPL_KOKKOS_MATH Kokkos::Experimental
#endif
using PSGM_IMPL_KOKKOS_MATH::cos;
using PSGM_IMPL_KOKKOS_MATH::erf;
using PSGM_IMPL_KOKKOS_MATH::erfc;
using PSGM_IMPL_KOKKOS_MATH::exp;
using PSGM_IMPL_KOKKOS_MATH::expm1;
using PSGM_IMPL_KOKKOS_MATH::fabs;
using PSGM_IMPL_KOKKOS_MATH::isfinite;
using PSGM_IMPL_KOKKOS_MATH::isinf;
using PSGM_IMPL_KOKKOS_MATH::isnan;
using PSGM_IMPL_KOKKOS_MATH::log;
using PSGM_IMPL_KOKKOS_MATH::log1p;
using PSGM_IMPL_KOKKOS_MATH::pow;
using PSGM_IMPL_KOKKOS_MATH::sin;
using PSGM_IMPL_KOKKOS_MATH::sqrt;
using PSGM_IMPL_KOKKOS_MATH::tanh;
using PSGM_IMPL_KOKKOS_MATH::floor;
using PSGM_IMPL_KOKKOS_MATH::ceil;
#undef PSGM_IMPL_KOKKOS_MATH

// min/max/clamp moved namespaces more than once; these are trivial, so psgm
// keeps its own.
template <class T>
KOKKOS_FORCEINLINE_FUNCTION constexpr T min(T a, T b) { return b < a ? b : a; }
template <class T>
KOKKOS_FORCEINLINE_FUNCTION constexpr T max(T a, T b) { return a < b ? b : a; }
template <class T>
KOKKOS_FORCEINLINE_FUNCTION constexpr T clamp(T x, T lo, T hi) { return x < lo ? lo : (hi < x ? hi : x); }

/// sigmoid(x) = 1 / (1 + exp(-x)), evaluated without overflow for large |x|.
template <class T>
KOKKOS_INLINE_FUNCTION T sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + exp(-x));
  T const e = exp(x);
  return e / (T(1) + e);
}

/// SiLU(x) = x sigmoid(x).
template <class T>
KOKKOS_INLINE_FUNCTION T silu(T x) { return x * sigmoid(x); }

/// The standard normal CDF Φ(x).
template <class T>
KOKKOS_INLINE_FUNCTION T normal_cdf(T x) { return T(0.5) * erfc(-x * T(0.70710678118654752440)); }

}  // namespace math

/// RAII profiling region, visible in Kokkos Tools (push on construction, pop
/// on destruction). Every public psgm entry point opens one.
class ScopedRegion {
 public:
  explicit ScopedRegion(std::string const& name) { Kokkos::Profiling::pushRegion(name); }
  ~ScopedRegion() { Kokkos::Profiling::popRegion(); }
  ScopedRegion(ScopedRegion const&) = delete;
  ScopedRegion& operator=(ScopedRegion const&) = delete;
};

}  // namespace psgm

// printf from device code (debugging only; psgm's kernels do not print).
#if KOKKOS_VERSION >= 40200
#define PSGM_DEVICE_PRINTF(...) Kokkos::printf(__VA_ARGS__)
#else
#define PSGM_DEVICE_PRINTF(...) printf(__VA_ARGS__)
#endif

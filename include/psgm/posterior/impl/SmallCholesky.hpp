// Cholesky factorisation and solve of the small m × m innovation matrices of
// posterior sampling (m = the number of probes, a handful), for the host code
// of GaussianPosterior and inside GuidedScore's per-sample kernel alike.
// `Matrix` and `Vector` are anything indexed with operator() — a rank-2 /
// rank-1 View or a subview of one sample's workspace. Only the lower triangle
// is read and written. Not for large m: O(m³) per call, no blocking.
#pragma once

#include <psgm/core/KokkosCompat.hpp>

#include <Kokkos_Core.hpp>

namespace psgm {
namespace posterior {
namespace Impl {

/// A ← its lower Cholesky factor in place. Returns -1, or the index j of the
/// first pivot that is not positive (NaN included; A is then partly
/// overwritten) with its value in `pivot`.
template <class Matrix>
KOKKOS_INLINE_FUNCTION int cholesky_in_place(int m, Matrix const& A, double& pivot) {
  for (int j = 0; j < m; ++j) {
    double d = A(j, j);
    for (int k = 0; k < j; ++k) d -= A(j, k) * A(j, k);
    if (!(d > 0)) {
      pivot = d;
      return j;
    }
    d = math::sqrt(d);
    A(j, j) = d;
    for (int i = j + 1; i < m; ++i) {
      double s = A(i, j);
      for (int k = 0; k < j; ++k) s -= A(i, k) * A(j, k);
      A(i, j) = s / d;
    }
  }
  return -1;
}

/// b ← (L Lᵀ)⁻¹ b with the lower Cholesky factor L.
template <class Matrix, class Vector>
KOKKOS_INLINE_FUNCTION void cholesky_solve(int m, Matrix const& L, Vector const& b) {
  for (int i = 0; i < m; ++i) {
    double s = b(i);
    for (int k = 0; k < i; ++k) s -= L(i, k) * b(k);
    b(i) = s / L(i, i);
  }
  for (int i = m - 1; i >= 0; --i) {
    double s = b(i);
    for (int k = i + 1; k < m; ++k) s -= L(k, i) * b(k);
    b(i) = s / L(i, i);
  }
}

}  // namespace Impl
}  // namespace posterior
}  // namespace psgm

// Per-item outcome of a batched device computation (one PDE realisation, one
// Newton solve). Device code records it; host code counts and reports it.
// Non-physical results are flagged, never silently kept.
#pragma once

#include <cstdint>

namespace psgm {

enum class SolveStatus : std::uint8_t {
  ok = 0,             ///< finite, physical (c > 0), converged
  non_finite = 1,     ///< NaN or Inf in c or φ
  depleted = 2,       ///< c <= 0 somewhere: electrolyte depletion
  not_converged = 3,  ///< the nonlinear (Newton) solve did not converge
};

inline constexpr int num_solve_statuses = 4;

inline constexpr char const* to_string(SolveStatus s) {
  switch (s) {
    case SolveStatus::ok: return "ok";
    case SolveStatus::non_finite: return "non_finite";
    case SolveStatus::depleted: return "depleted";
    case SolveStatus::not_converged: return "not_converged";
  }
  return "unknown";
}

}  // namespace psgm

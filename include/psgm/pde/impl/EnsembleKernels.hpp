// Device kernels of the porous-electrode ensemble solver. Each function works
// on one realisation b ("lane") of a batched workspace; the equation numbers
// are those of docs/model.md. Included by impl/EnsembleSolver_Impl.hpp and by
// perf/bench_ensemble.cpp (which instantiates the layout/strategy variants
// compared in docs/performance.md).
#pragma once

#include <psgm/core/KokkosCompat.hpp>
#include <psgm/core/Status.hpp>
#include <psgm/pde/ElectrodeParameters.hpp>
#include <psgm/pde/impl/EnsembleConstants.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <limits>
#include <type_traits>

namespace psgm::pde::Impl {

/// Element (slot, i) of realisation b in a workspace. Three layouts:
///  * rank 4, (packs, slots, N, W) LayoutRight — psgm's choice: realisations
///    in packs of W, the W lanes of a pack adjacent for every (slot, cell) and
///    each pack's arrays contiguous (a few pages: no TLB or cache-set
///    thrashing, vector loads across lanes on CPUs, coalesced across threads
///    on GPUs);
///  * rank 3 LayoutLeft (B, N, slots): batch index fastest over the whole batch;
///  * rank 3 LayoutRight (B, slots, N): each realisation's arrays contiguous.
/// The rank-3 forms are measured against it in perf/bench_ensemble.cpp.
template <class WorkView, int Rank = WorkView::rank>
struct Lane {
  WorkView w;
  int b;
  KOKKOS_INLINE_FUNCTION Lane(WorkView const& work, int b_) : w(work), b(b_) {}
  KOKKOS_FORCEINLINE_FUNCTION double& operator()(int slot, int i) const {
    if constexpr (std::is_same_v<typename WorkView::array_layout, Kokkos::LayoutLeft>) {
      return w(b, i, slot);
    } else {
      return w(b, slot, i);
    }
  }
};

template <class WorkView>
struct Lane<WorkView, 4> {
  WorkView w;
  int pack, lane;
  KOKKOS_INLINE_FUNCTION Lane(WorkView const& work, int b)
      : w(work), pack(b / static_cast<int>(work.extent(3))), lane(b % static_cast<int>(work.extent(3))) {}
  KOKKOS_FORCEINLINE_FUNCTION double& operator()(int slot, int i) const { return w(pack, slot, i, lane); }
};

// ------------------------------------------------------------------ eqs. 5–6
/// Cell coefficients and harmonic face means; false if ε is not finite.
template <class L, class EpsView>
KOKKOS_INLINE_FUNCTION bool coefficients(L const& z, EpsView const& eps, int b, Constants const& k) {
  bool finite = true;
  double kap_prev = 0, dif_prev = 0;
  for (int i = 0; i < k.N; ++i) {
    double const e = eps(b, i);
    finite = finite && psgm::math::isfinite(e);
    double const pe = psgm::math::pow(e, k.bruggeman);
    double const kap = k.kappa0 * pe;  // eq. 5
    double const dif = k.D0 * pe;
    z(EPS, i) = e;
    z(AS, i) = k.a0 * (1 - e);
    if (i > 0) {  // eq. 6
      z(KF, i - 1) = 2 * kap_prev * kap / (kap_prev + kap);
      z(DF, i - 1) = 2 * dif_prev * dif / (dif_prev + dif);
    }
    kap_prev = kap;
    dif_prev = dif;
  }
  return finite;
}

// ------------------------------------------------------------------ eq. 7
/// Linear-kinetics potential, unshifted, by the Thomas algorithm (U is scratch).
template <class L, class PhisView>
KOKKOS_INLINE_FUNCTION void potential(L const& z, PhisView const& phis, double U0, double F_right, Constants const& k) {
  int const n = k.N;
  double const kdx2 = k.k_rn * k.dx2;
  double cp = 0, dp = 0;
  for (int i = 0; i < n; ++i) {
    double const kw = i > 0 ? z(KF, i - 1) : 0.0;
    double const ke = i < n - 1 ? z(KF, i) : 0.0;
    double const diag = kw + ke + z(AS, i) * kdx2;
    double rhs = z(AS, i) * kdx2 * (phis(i) - U0);
    if (i == n - 1) rhs += k.dx * F_right;
    double const den = diag + kw * cp;  // diag - a_i c'_{i-1}, a_i = -kw
    cp = -ke / den;
    dp = (rhs + kw * dp) / den;
    z(U, i) = cp;
    z(PHI, i) = dp;
  }
  for (int i = n - 2; i >= 0; --i) z(PHI, i) -= z(U, i) * z(PHI, i + 1);
}

/// Eq. 8: φ ← φ - φ_0.
template <class L>
KOKKOS_INLINE_FUNCTION void shift_potential(L const& z, Constants const& k) {
  double const phi0 = z(PHI, 0);
  for (int i = 0; i < k.N; ++i) z(PHI, i) -= phi0;
}

/// Eqs. 9–10: S_i = (1 - t+)/F a_s,i k_rn (φ_s(x_i) - φ_i - U0), written to slot `out`.
template <class L, class PhisView>
KOKKOS_INLINE_FUNCTION void linear_source(L const& z, PhisView const& phis, double U0, int out, Constants const& k) {
  for (int i = 0; i < k.N; ++i) {
    double const j = k.k_rn * (phis(i) - z(PHI, i) - U0);
    z(out, i) = k.s_coef * z(AS, i) * j;
  }
}

// ------------------------------------------------------------------ eqs. 11–12
/// Factors the constant implicit-Euler matrix of eq. 11 once: the time loop
/// then does c_i ← P_i c_i + Q_i - LL_i d_{i-1} forward and c_i -= U_i c_{i+1}
/// backward (eq. 12). The source must be in slot Q on entry.
template <class L>
KOKKOS_INLINE_FUNCTION void factor_time_step(L const& z, Constants const& k) {
  int const n = k.N - 1;  // unknowns c_0 .. c_{N-2}; c_{N-1} = c_right
  double const inv_dx2 = 1 / k.dx2;
  double u_prev = 0;
  for (int i = 0; i < n; ++i) {
    double const dw = i > 0 ? z(DF, i - 1) : 0.0;
    double const de = z(DF, i);
    double const a = -dw * inv_dx2;
    double const w = z(EPS, i) / k.dt;
    double const diag = w + (dw + de) * inv_dx2;
    double const m = 1 / (diag - a * u_prev);
    double rhs = z(Q, i);
    if (i == n - 1) rhs += de * inv_dx2 * k.c_right;  // Dirichlet neighbour moved to the right-hand side
    u_prev = i < n - 1 ? -de * inv_dx2 * m : 0.0;
    z(U, i) = u_prev;
    z(LL, i) = a * m;
    z(P, i) = m * w;
    z(Q, i) = m * rhs;
    z(C, i) = k.c0;
  }
  z(C, n) = k.c_right;
}

/// One implicit-Euler step of eq. 11 with the factors of factor_time_step.
template <class L>
KOKKOS_FORCEINLINE_FUNCTION void time_step(L const& z, int N) {
  int const n = N - 1;
  double d = 0;
  for (int i = 0; i < n; ++i) {
    d = z(P, i) * z(C, i) + z(Q, i) - z(LL, i) * d;
    z(C, i) = d;
  }
  for (int i = n - 2; i >= 0; --i) {
    d = z(C, i) - z(U, i) * d;
    z(C, i) = d;
  }
}

// ------------------------------------------------------------------ eq. 13
/// Steady concentration (D_eff c')' + S = 0 with c_{N-1} = c_right; the
/// source in slot Q. Thomas algorithm, U is scratch.
template <class L>
KOKKOS_INLINE_FUNCTION void steady_concentration(L const& z, Constants const& k) {
  int const n = k.N - 1;
  double const inv_dx2 = 1 / k.dx2;
  double cp = 0, dp = 0;
  for (int i = 0; i < n; ++i) {
    double const dw = i > 0 ? z(DF, i - 1) : 0.0;
    double const de = z(DF, i);
    double const diag = (dw + de) * inv_dx2;
    double rhs = z(Q, i);
    if (i == n - 1) rhs += de * inv_dx2 * k.c_right;
    double const den = diag + dw * inv_dx2 * cp;
    cp = i < n - 1 ? -de * inv_dx2 / den : 0.0;
    dp = (rhs + dw * inv_dx2 * dp) / den;
    z(U, i) = cp;
    z(C, i) = dp;
  }
  for (int i = n - 2; i >= 0; --i) z(C, i) -= z(U, i) * z(C, i + 1);
  z(C, n) = k.c_right;
}

// ------------------------------------------------------------------ §6.3 Butler–Volmer
/// Eq. 14 and its derivatives at cell i (c_i > 0).
KOKKOS_INLINE_FUNCTION void butler_volmer(double c, double phi, double phis, double U0, Constants const& k, double& j,
                                          double& djdc, double& djdphi) {
  double const eta = phis - phi - U0;
  double const pw = psgm::math::pow(c / k.c_ref, k.gamma);
  double const ea = psgm::math::exp(k.alpha_a * k.f * eta);
  double const ec = psgm::math::exp(-k.alpha_c * k.f * eta);
  j = k.i0 * pw * (ea - ec);
  djdc = k.gamma * j / c;
  djdphi = -k.i0 * pw * k.f * (k.alpha_a * ea + k.alpha_c * ec);
}

/// Residuals of eq. 15 at (C, PHI); stores them in RC/RP and the kinetics
/// derivatives in DJC/DJP when `store`. Returns the scaled RMS norm of eq. 16.
template <class L, class PhisView>
KOKKOS_INLINE_FUNCTION double bv_residual(L const& z, PhisView const& phis, double U0, double F_right, double w_scale,
                                          bool store, Constants const& k) {
  int const n = k.N;
  double const inv_dx2 = 1 / k.dx2;
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    double const c = z(C, i), phi = z(PHI, i);
    double j, djc, djp;
    butler_volmer(c, phi, phis(i), U0, k, j, djc, djp);
    double const kw = i > 0 ? z(KF, i - 1) : 0.0, ke = i < n - 1 ? z(KF, i) : 0.0;
    double rp = kw * (phi - (i > 0 ? z(PHI, i - 1) : 0.0)) + ke * (phi - (i < n - 1 ? z(PHI, i + 1) : 0.0)) -
                z(AS, i) * k.dx2 * j;
    if (i == n - 1) rp -= k.dx * F_right;
    double rc, ac;
    if (i < n - 1) {
      double const dw = i > 0 ? z(DF, i - 1) : 0.0, de = z(DF, i);
      double const w = w_scale * z(EPS, i);
      rc = w * (c - z(CPREV, i)) +
           (dw * (c - (i > 0 ? z(C, i - 1) : 0.0)) + de * (c - z(C, i + 1))) * inv_dx2 - k.s_coef * z(AS, i) * j;
      ac = w + (dw + de) * inv_dx2;
    } else {
      rc = c - k.c_right;
      ac = 1;
    }
    double const ap = kw + ke;
    double const sc = rc / (ac * k.c_ref), sp = rp / (ap * k.thermal_voltage);
    sum += sc * sc + sp * sp;
    if (store) {
      z(RC, i) = rc;
      z(RP, i) = rp;
      z(DJC, i) = djc;
      z(DJP, i) = djp;
    }
  }
  return psgm::math::sqrt(sum / (2 * n));
}

/// Solves J z = R (residuals in RC/RP) by block Thomas on the 2×2
/// block-tridiagonal Jacobian of eq. 16; z overwrites RC/RP. Off-diagonal
/// blocks are diagonal (diffusion couples c to c and φ to φ), so each
/// elimination step is a closed-form 2×2 inverse (no pivoting, like
/// KokkosBatched::SerialLU); see docs/model.md §6.3.
template <class L>
KOKKOS_INLINE_FUNCTION void bv_block_solve(L const& z, double w_scale, Constants const& k) {
  int const n = k.N;
  double const inv_dx2 = 1 / k.dx2;
  double x00 = 0, x01 = 0, x10 = 0, x11 = 0, yc = 0, yp = 0;  // X_{i-1}, y_{i-1}
  for (int i = 0; i < n; ++i) {
    double const as = z(AS, i), djc = z(DJC, i), djp = z(DJP, i);
    double const kw = i > 0 ? z(KF, i - 1) : 0.0, ke = i < n - 1 ? z(KF, i) : 0.0;
    double acc, acp, lc, uc;
    if (i < n - 1) {
      double const dw = i > 0 ? z(DF, i - 1) : 0.0, de = z(DF, i);
      acc = w_scale * z(EPS, i) + (dw + de) * inv_dx2 - k.s_coef * as * djc;
      acp = -k.s_coef * as * djp;
      lc = -dw * inv_dx2;
      uc = -de * inv_dx2;
    } else {
      acc = 1;
      acp = 0;
      lc = 0;
      uc = 0;
    }
    double const apc = -as * k.dx2 * djc;
    double const app = kw + ke - as * k.dx2 * djp;
    double const lp = -kw, up = -ke;
    // D' = D - L X_{i-1}, r' = R - L y_{i-1}
    double const a = acc - lc * x00, bb = acp - lc * x01, c = apc - lp * x10, d = app - lp * x11;
    double const rc = z(RC, i) - lc * yc, rp = z(RP, i) - lp * yp;
    double const inv_det = 1 / (a * d - bb * c);
    x00 = d * uc * inv_det;
    x01 = -bb * up * inv_det;
    x10 = -c * uc * inv_det;
    x11 = a * up * inv_det;
    yc = (d * rc - bb * rp) * inv_det;
    yp = (a * rp - c * rc) * inv_det;
    z(X00, i) = x00;
    z(X01, i) = x01;
    z(X10, i) = x10;
    z(X11, i) = x11;
    z(RC, i) = yc;
    z(RP, i) = yp;
  }
  for (int i = n - 2; i >= 0; --i) {
    double const zc = z(RC, i + 1), zp = z(RP, i + 1);
    z(RC, i) -= z(X00, i) * zc + z(X01, i) * zp;
    z(RP, i) -= z(X10, i) * zc + z(X11, i) * zp;
  }
}

/// Damped Newton for eq. 15 from the current (C, PHI); returns the
/// iterations taken, or -1 if it failed. history(k) = scaled residual before
/// iteration k (and after the last, where `final_residual`: without it, an
/// update that meets the tolerance is taken without evaluating the residual
/// at the new point, which nothing reads: transient steps before the last).
template <class L, class PhisView, class History>
KOKKOS_INLINE_FUNCTION int bv_newton(L const& z, PhisView const& phis, double U0, double F_right, double w_scale,
                                     History const& history, bool final_residual, Constants const& k) {
  int const n = k.N;
  int const hist_len = static_cast<int>(history.extent(0));
  double merit = bv_residual(z, phis, U0, F_right, w_scale, true, k);
  for (int it = 0; it < k.max_iterations; ++it) {
    if (it < hist_len) history(it) = merit;
    if (!psgm::math::isfinite(merit)) return -1;
    bv_block_solve(z, w_scale, k);  // RC/RP = z, the update is -z
    // Positivity of c (fraction to the boundary): c never drops by more
    // than 90 % in one step.
    double lambda = 1, update = 0;
    bool finite = true;
    for (int i = 0; i < n; ++i) {
      double const zc = z(RC, i), zp = z(RP, i);
      finite = finite && psgm::math::isfinite(zc) && psgm::math::isfinite(zp);
      if (zc > 0) lambda = psgm::math::min(lambda, 0.9 * z(C, i) / zc);
      update = psgm::math::max(update, psgm::math::max(psgm::math::fabs(zc) / k.c_ref,
                                                       psgm::math::fabs(zp) / k.thermal_voltage));
      z(CO, i) = z(C, i);
      z(PO, i) = z(PHI, i);
    }
    if (!finite) return -1;  // singular or overflowing Jacobian
    // Backtracking line search on the scaled residual (Armijo, halving).
    double trial = 0;
    bool accepted = false;
    for (int ls = 0; ls < 30; ++ls) {
      for (int i = 0; i < n; ++i) {
        z(C, i) = z(CO, i) - lambda * z(RC, i);
        z(PHI, i) = z(PO, i) - lambda * z(RP, i);
      }
      if (lambda * update <= k.tolerance && !final_residual) return it + 1;
      trial = bv_residual(z, phis, U0, F_right, w_scale, false, k);
      if (trial <= (1 - 1e-4 * lambda) * merit || lambda * update <= k.tolerance) {
        accepted = true;
        break;
      }
      lambda *= 0.5;
    }
    if (!accepted) return -1;
    if (lambda * update <= k.tolerance) {
      if (it + 1 < hist_len) history(it + 1) = trial;
      return it + 1;
    }
    merit = bv_residual(z, phis, U0, F_right, w_scale, true, k);
  }
  return -1;
}

/// Degree of the time extrapolation that starts each step of the
/// per-realisation transient Newton (the host packs' predictor,
/// docs/model.md §6.3, at a lower degree: every level is one more array a
/// GPU thread streams per step), and the slots of its time levels: c^{n−j}
/// for j = 1..D, then φ^{n−j} for j = 0..D (c^n is CPREV). These are the
/// host Newton's own slots, free in this solve.
constexpr int bv_portable_predictor_degree = 3;
constexpr int bv_portable_level_base = ZC;
static_assert(bv_portable_level_base + 2 * bv_portable_predictor_degree + 1 <= num_butler_volmer_slots,
              "slots for the per-realisation predictor's time levels");

/// Weight of u^{n−j} in the extrapolation of degree d to u^{n+1}:
/// (−1)^j C(d+1, j+1).
KOKKOS_INLINE_FUNCTION double bv_extrapolation_weight(int d, int j) {
  double b = 1;
  for (int t = 0; t < j + 1; ++t) b = b * (d + 1 - t) / (t + 1);
  return j % 2 ? -b : b;
}

// ------------------------------------------------------------------ output
/// Writes fields(b, 0, :) = c, fields(b, 1, :) = φ shifted to φ_0 = 0
/// (unless already shifted) and the status.
template <class L, class Fields>
KOKKOS_INLINE_FUNCTION psgm::SolveStatus write_fields(L const& z, Fields const& fields, int b, bool shift,
                                                      psgm::SolveStatus status, Constants const& k) {
  double const phi0 = shift ? z(PHI, 0) : 0.0;
  bool finite = true, positive = true;
  for (int i = 0; i < k.N; ++i) {
    double const c = z(C, i), phi = z(PHI, i) - phi0;
    fields(b, 0, i) = c;
    fields(b, 1, i) = phi;
    finite = finite && psgm::math::isfinite(c) && psgm::math::isfinite(phi);
    positive = positive && c > 0;
  }
  if (status != psgm::SolveStatus::ok) return status;
  if (!finite) return psgm::SolveStatus::non_finite;
  if (!positive) return psgm::SolveStatus::depleted;
  return psgm::SolveStatus::ok;
}

// ------------------------------------------------------------------ batched functors

/// Everything before the time loop, one realisation per thread: eqs. 5–10
/// and 12 (transient linear), or the complete solve for the steady state and
/// Butler–Volmer (eqs. 13–16).
template <class WorkView, class EpsView, class ScalarView, class PhisView, class Fields, class StatusView,
          class HistoryView, class CountView>
struct SetupOrSolve {
  WorkView work;
  EpsView eps;
  ScalarView U0, F_right;
  PhisView phis;
  Fields fields;
  StatusView status;
  HistoryView history;
  CountView iterations, total_iterations;
  Constants k;

  KOKKOS_INLINE_FUNCTION void operator()(int b) const {
    Lane<WorkView> const z(work, b);
    bool const finite = coefficients(z, eps, b, k);
    if (!finite) {
      for (int i = 0; i < k.N; ++i) fields(b, 0, i) = fields(b, 1, i) = k.nan;
      status(b) = psgm::SolveStatus::non_finite;
      return;
    }
    double const u0 = U0(b), fr = F_right(b);
    if (!k.butler_volmer) {
      potential(z, phis, u0, fr, k);
      if (!k.steady) {
        shift_potential(z, k);  // the reference convention: j from the shifted φ (eq. 9)
        linear_source(z, phis, u0, Q, k);
        factor_time_step(z, k);
        status(b) = psgm::SolveStatus::ok;  // completed by TimeLoop* and Finish
        return;
      }
      linear_source(z, phis, u0, Q, k);  // extensions: j from the unshifted φ
      steady_concentration(z, k);
      status(b) = write_fields(z, fields, b, true, psgm::SolveStatus::ok, k);
      return;
    }
    // Butler–Volmer: start from c = c0 (c_{N-1} = c_right) and zero
    // overpotential, φ = φ_s - U0, where the kinetics are finite and their
    // linearisation is the reference rate: the first Newton step is then the
    // linear-kinetics problem, damped by the line search where the
    // exponentials take over. (The linear-kinetics potential itself can imply
    // |η| of volts, where exp(α F η / RT) overflows.)
    for (int i = 0; i < k.N; ++i) {
      z(C, i) = i < k.N - 1 ? k.c0 : k.c_right;
      z(PHI, i) = phis(i) - u0;
    }
    auto hist = Kokkos::subview(history, b, Kokkos::ALL);
    int its = 0, total = 0;
    psgm::SolveStatus st = psgm::SolveStatus::ok;
    if (k.steady) {
      its = bv_newton(z, phis, u0, fr, 0.0, hist, true, k);
      total = its < 0 ? k.max_iterations : its;
    } else {
      double const w_scale = 1 / k.dt;
      // Each step starts from the polynomial through the last converged
      // levels, extrapolated to the new one (degree rising to D from the
      // third step; the initial φ is a guess, not a level), c kept at least
      // half of c^n: most steps then converge in one iteration instead of
      // about three. The level slots rotate; c^n is copied into CPREV (the
      // residual's previous level) and then into the oldest c slot.
      constexpr int D = bv_portable_predictor_degree;
      int lev_c[D + 1], lev_phi[D + 1];  // slots of c^{n−j}, φ^{n−j}
      for (int j = 0; j <= D; ++j) {
        lev_c[j] = j == 0 ? CPREV : bv_portable_level_base + j - 1;
        lev_phi[j] = bv_portable_level_base + D + j;
      }
      for (std::int64_t s = 0; s < k.num_steps && its >= 0; ++s) {
        int const degree = s < 2 ? 0 : static_cast<int>(s - 1 < D ? s - 1 : D);
        for (int i = 0; i < k.N; ++i) {
          double const c = z(C, i), phi = z(PHI, i);
          z(CPREV, i) = c;
          z(lev_phi[0], i) = phi;
          if (degree > 0) {
            double cg = bv_extrapolation_weight(degree, 0) * c, pg = bv_extrapolation_weight(degree, 0) * phi;
            for (int j = 1; j <= degree; ++j) {
              double const w = bv_extrapolation_weight(degree, j);
              cg += w * z(lev_c[j], i);
              pg += w * z(lev_phi[j], i);
            }
            z(C, i) = 0.5 * c < cg ? cg : c;
            z(PHI, i) = pg;
          }
        }
        its = bv_newton(z, phis, u0, fr, w_scale, hist, s + 1 == k.num_steps, k);
        total += its < 0 ? k.max_iterations : its;
        // c^n and φ^n become level 1 of the next step.
        int const oldest_c = lev_c[D], oldest_phi = lev_phi[D];
        for (int i = 0; i < k.N; ++i) z(oldest_c, i) = z(CPREV, i);
        for (int j = D; j > 1; --j) lev_c[j] = lev_c[j - 1];
        lev_c[1] = oldest_c;
        for (int j = D; j > 0; --j) lev_phi[j] = lev_phi[j - 1];
        lev_phi[0] = oldest_phi;
      }
    }
    if (its < 0) st = psgm::SolveStatus::not_converged;
    iterations(b) = its < 0 ? k.max_iterations : its;
    total_iterations(b) = total;
    status(b) = write_fields(z, fields, b, true, st, k);
  }
};

/// The implicit-Euler time loop (eq. 12), one realisation per thread.
template <class WorkView>
struct TimeLoopPerThread {
  WorkView work;
  int N;
  std::int64_t num_steps;
  KOKKOS_INLINE_FUNCTION void operator()(int b) const {
    Lane<WorkView> const z(work, b);
    for (std::int64_t s = 0; s < num_steps; ++s) time_step(z, N);
  }
};

/// The time loop with the realisations of a team in its vector lanes: for
/// each cell, one vector operation across `lanes` realisations (batch index
/// fastest in memory: contiguous loads on CPUs, coalesced on GPUs).
template <class ExecSpace, class WorkView>
struct TimeLoopTeamVector {
  using member_type = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
  WorkView work;
  int N, batch, lanes;
  std::int64_t num_steps;
  KOKKOS_INLINE_FUNCTION void operator()(member_type const& m) const {
    int const b0 = m.league_rank() * lanes;
    int const nb = psgm::math::min(lanes, batch - b0);
    int const n = N - 1;
    WorkView const w = work;
    for (std::int64_t s = 0; s < num_steps; ++s) {
      for (int i = 0; i < n; ++i) {
        Kokkos::parallel_for(Kokkos::ThreadVectorRange(m, nb), [&](int v) {
          Lane<WorkView> const z(w, b0 + v);
          double const d_prev = i > 0 ? z(C, i - 1) : 0.0;
          z(C, i) = z(P, i) * z(C, i) + z(Q, i) - z(LL, i) * d_prev;
        });
      }
      for (int i = n - 2; i >= 0; --i) {
        Kokkos::parallel_for(Kokkos::ThreadVectorRange(m, nb), [&](int v) {
          Lane<WorkView> const z(w, b0 + v);
          z(C, i) -= z(U, i) * z(C, i + 1);
        });
      }
    }
  }
};

/// The time loop for one pack of W realisations per thread on the rank-4
/// workspace (packs, slots, N, W): the lane loop innermost with a
/// compile-time trip count, so that the compiler vectorises it across
/// realisations. Padding lanes of the last pack compute on zeros.
template <int W, class WorkView>
struct TimeLoopPacked {
  WorkView work;
  int N;
  std::int64_t num_steps;
  KOKKOS_INLINE_FUNCTION void operator()(int pack) const {
    static_assert(WorkView::rank == 4, "TimeLoopPacked needs the (packs, slots, N, W) workspace");
    int const n = N - 1;
    double* const c = &work(pack, C, 0, 0);
    double const* const p = &work(pack, P, 0, 0);
    double const* const q = &work(pack, Q, 0, 0);
    double const* const l = &work(pack, LL, 0, 0);
    double const* const u = &work(pack, U, 0, 0);
    for (std::int64_t s = 0; s < num_steps; ++s) {
      {
        double d[W] = {};
        for (int i = 0; i < n; ++i) {
          int const o = i * W;
          for (int v = 0; v < W; ++v) {
            d[v] = p[o + v] * c[o + v] + q[o + v] - l[o + v] * d[v];
            c[o + v] = d[v];
          }
        }
      }
      for (int i = n - 2; i >= 0; --i) {
        int const o = i * W;
        for (int v = 0; v < W; ++v) c[o + v] -= u[o + v] * c[o + W + v];
      }
    }
  }
};

/// After the time loop: c_{N-1} = c_right, fields and status.
template <class WorkView, class Fields, class StatusView>
struct Finish {
  WorkView work;
  Fields fields;
  StatusView status;
  Constants k;
  KOKKOS_INLINE_FUNCTION void operator()(int b) const {
    if (status(b) != psgm::SolveStatus::ok) return;  // non-finite porosity: already reported
    Lane<WorkView> const z(work, b);
    z(C, k.N - 1) = k.c_right;
    status(b) = write_fields(z, fields, b, false, psgm::SolveStatus::ok, k);
  }
};

}  // namespace psgm::pde::Impl

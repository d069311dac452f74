// What every ensemble-solver kernel shares, host or device, and nothing that
// needs Kokkos: the slots of the per-realisation workspace and the constants
// of docs/model.md resolved on the host. Included by impl/EnsembleKernels.hpp
// (the portable Kokkos kernels) and by the ISA-dispatched host pack kernels
// (impl/EnsembleHostKernels.hpp, src/pde/ensemble_host_kernels.cpp), which
// must compile without Kokkos.
#pragma once

#include <psgm/pde/ElectrodeParameters.hpp>

#include <cstdint>
#include <limits>

namespace psgm::pde::Impl {

/// Slots of the per-realisation workspace arrays.
enum Slot : int {
  C = 0,    // concentration c_i (time loop: overwritten by the forward sweep)
  PHI = 1,  // potential φ_i
  P = 2,    // m_i ε_i/dt          (eq. 12, factored implicit-Euler matrix)
  Q = 3,    // m_i (S_i + boundary) (eq. 12)
  LL = 4,   // a_i m_i             (eq. 12)
  U = 5,    // c_i m_i             (eq. 12; Thomas scratch c'_i before)
  AS = 6,   // a_s,i               (eq. 5)
  DF = 7,   // D_{i+1/2}           (eq. 6)
  KF = 8,   // κ_{i+1/2}           (eq. 6)
  EPS = 9,  // ε_i
  num_linear_slots = 10,
  // Butler–Volmer Newton (§6.3)
  CO = 10, PO = 11, CPREV = 12, RC = 13, RP = 14, X00 = 15, X01 = 16, X10 = 17, X11 = 18, DJC = 19, DJP = 20,
  // The portable (per-realisation) Newton's: these and 7 of the host-only
  // slots below for its predictor's time levels (EnsembleKernels.hpp).
  num_butler_volmer_slots = 28,
  // Batched host Newton (EnsembleHostKernels.hpp; slots 21–27 hold the
  // portable Newton's time levels in its solves): the elimination of
  // the current point (then the Newton direction) in ZC/ZP, that of the trial
  // point in RC/RP, the trial point in CO/PO; the time levels n−1 (CPREV,
  // PM1), n−2 (CM2, PM2) and n−3 (CM3, PM3) for the predictor; the constant
  // inverse scales of the residual norm (eq. 16). DJC/DJP are the portable
  // kernels' only.
  ZC = 21, ZP = 22, CM2 = 23, PM1 = 24, SCI = 25, SPI = 26, PM2 = 27, CM3 = 28, PM3 = 29,
  // Batched host Newton only: the factorisation of the last full evaluation,
  // kept for the simplified (chord) Newton steps that reuse it: the inverse
  // D'^{-1} of each eliminated diagonal block (J00..J11; the blocks X00..X11
  // of the back substitution are the other half) and the c row's scaled
  // west coupling (JLC).
  J00 = 30, J01 = 31, J10 = 32, J11 = 33, JLC = 34,
  num_host_butler_volmer_slots = 35,
};

/// Every constant the kernels need, resolved on the host.
struct Constants {
  int N;
  std::int64_t num_steps;
  bool steady;
  bool butler_volmer;
  double dx, dx2, kappa0, D0, bruggeman, a0, k_rn, s_coef, c0, c_right, dt, G;
  double alpha_a, alpha_c, gamma, f, i0, c_ref, thermal_voltage, tolerance;
  int max_iterations;
  double nan;  // quiet NaN, for the fields of a realisation with a non-finite porosity

  static Constants from(ElectrodeParameters const& p) {
    Constants k{};
    k.N = p.N;
    k.num_steps = p.num_steps();
    k.steady = p.mode == ConcentrationMode::steady;
    k.butler_volmer = p.kinetics == Kinetics::butler_volmer;
    k.dx = p.dx();
    k.dx2 = k.dx * k.dx;
    k.kappa0 = p.kappa0;
    k.D0 = p.D0;
    k.bruggeman = p.bruggeman;
    k.a0 = p.a0;
    k.k_rn = p.k_rn;
    k.s_coef = (1 - p.t_plus) / p.faraday;
    k.c0 = p.c0;
    k.c_right = p.c_right;
    k.dt = p.dt;
    k.G = p.G;
    k.alpha_a = p.alpha_a;
    k.alpha_c = p.alpha_c;
    k.gamma = p.gamma;
    k.f = p.faraday / (p.gas_constant * p.temperature);
    k.i0 = p.effective_i0();
    k.c_ref = p.effective_c_ref();
    k.thermal_voltage = p.thermal_voltage();
    k.tolerance = p.newton_tolerance;
    k.max_iterations = p.newton_max_iterations;
    k.nan = std::numeric_limits<double>::quiet_NaN();
    return k;
  }
};

}  // namespace psgm::pde::Impl

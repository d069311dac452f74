// Every physical and numerical constant of the porous-electrode model
// (spec model.md §1, §3–6; docs/model.md). The defaults are the reference case.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace psgm::pde {

/// Reaction kinetics (docs/model.md eqs. 8 and 14).
enum class Kinetics {
  linear,         ///< j = k_rn η                                        (reference)
  butler_volmer,  ///< j = i0 (c/c_ref)^γ (exp(α_a F η/RT) - exp(-α_c F η/RT))
};

/// How c is computed (docs/model.md §5–6).
enum class ConcentrationMode {
  transient,  ///< int(T/dt) implicit-Euler steps from c0 to T              (reference)
  steady,     ///< the steady state, solved directly
};

struct ElectrodeParameters {
  // ---- domain and grid (§1)
  double L = 1e-4;  ///< electrode thickness [m]
  int N = 100;      ///< cells (>= 3)
  // ---- effective properties (§3)
  double kappa0 = 1.0;     ///< bulk electrolyte conductivity [S/m]
  double D0 = 3e-11;       ///< bulk diffusivity [m²/s]
  double bruggeman = 1.5;  ///< Bruggeman exponent b
  double a0 = 5e5;         ///< specific surface area scale [1/m]
  // ---- potential and reaction (§4–5)
  double k_rn = 0.1;     ///< linear reaction rate [S/m² per V... as in the spec]
  double G = 1e3;        ///< solid-potential gradient: φ_s(x) = -G x [V/m]
  // ---- concentration (§6)
  double t_plus = 0.4;             ///< transference number t+
  double faraday = 96485.33212;    ///< F [C/mol]
  double c0 = 1000.0;              ///< initial concentration [mol/m³]
  double c_right = 1000.0;         ///< Dirichlet value on the last cell [mol/m³]
  double dt = 0.1;                 ///< time step [s]
  double T = 100.0;                ///< final time [s]; int(T/dt) steps
  Kinetics kinetics = Kinetics::linear;
  ConcentrationMode mode = ConcentrationMode::transient;
  // ---- Butler–Volmer (§6 extension); defaults linearise to k_rn
  double alpha_a = 0.5;
  double alpha_c = 0.5;
  double gamma = 0.5;                      ///< concentration exponent
  double temperature = 298.15;             ///< [K]
  double gas_constant = 8.314462618;       ///< R [J/(mol K)]
  std::optional<double> c_ref;             ///< default: c0
  std::optional<double> i0;                ///< default: k_rn R T / F
  // ---- Newton (Butler–Volmer only)
  double newton_tolerance = 1e-10;  ///< on the scaled update: |δc|/c_ref and |δφ|/(RT/F)
  int newton_max_iterations = 50;

  /// Throws psgm::InvalidArgument naming the first offending field, its value
  /// and what is expected (N >= 3, positive lengths and constants, dt <= T,
  /// 0 <= t_plus < 1, finite values, ...).
  void validate() const;

  double dx() const { return L / N; }
  /// Number of time steps, computed as Python's int(T/dt): the IEEE double
  /// quotient truncated toward zero (100/0.1 rounds to exactly 1000.0; note
  /// int(0.3/0.1) == 2 in both).
  std::int64_t num_steps() const;
  /// Cell centres x_i = (x_f[i] + x_f[i+1]) / 2 with x_f = numpy.linspace(0, L, N+1)
  /// reproduced exactly (x_f[i] = i (L/N), x_f[N] = L).
  std::vector<double> cell_centres() const;
  double effective_c_ref() const { return c_ref.value_or(c0); }
  double effective_i0() const { return i0.value_or(k_rn * gas_constant * temperature / faraday); }
  double thermal_voltage() const { return gas_constant * temperature / faraday; }
};

char const* to_string(Kinetics kinetics);
char const* to_string(ConcentrationMode mode);
/// "linear" / "butler_volmer"; anything else throws psgm::InvalidArgument listing both.
Kinetics kinetics_from_string(std::string const& name);
/// "transient" / "steady"; anything else throws psgm::InvalidArgument listing both.
ConcentrationMode concentration_mode_from_string(std::string const& name);

}  // namespace psgm::pde

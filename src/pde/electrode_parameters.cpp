// Validation, grid and string forms of the electrode parameters (docs/model.md §1).
#include <psgm/core/Error.hpp>
#include <psgm/pde/ElectrodeParameters.hpp>

#include <cmath>

namespace psgm::pde {

namespace {
void positive(double v, char const* name, char const* what) {
  require(std::isfinite(v) && v > 0, "electrode parameter ", name, " = ", v, " must be finite and > 0 (", what, ")");
}
void finite(double v, char const* name) {
  require(std::isfinite(v), "electrode parameter ", name, " = ", v, " must be finite");
}
}  // namespace

void ElectrodeParameters::validate() const {
  positive(L, "L", "electrode thickness in m");
  require(N >= 3, "electrode parameter N = ", N, " must be >= 3 (cells of the grid)");
  positive(kappa0, "kappa0", "bulk conductivity in S/m");
  positive(D0, "D0", "bulk diffusivity in m^2/s");
  positive(bruggeman, "bruggeman", "Bruggeman exponent");
  positive(a0, "a0", "specific surface area in 1/m");
  positive(k_rn, "k_rn", "reaction rate");
  finite(G, "G");
  require(std::isfinite(t_plus) && t_plus >= 0 && t_plus < 1, "electrode parameter t_plus = ", t_plus,
          " must be in [0, 1) (transference number)");
  positive(faraday, "faraday", "Faraday constant in C/mol");
  positive(c0, "c0", "initial concentration in mol/m^3");
  positive(c_right, "c_right", "Dirichlet concentration in mol/m^3");
  positive(dt, "dt", "time step in s");
  positive(T, "T", "final time in s");
  require(mode == ConcentrationMode::steady || num_steps() >= 1, "electrode parameters: T = ", T, " and dt = ", dt,
          " give int(T/dt) = ", num_steps(), " time steps; expected dt <= T (at least one step)");
  if (kinetics == Kinetics::butler_volmer) {
    positive(alpha_a, "alpha_a", "anodic transfer coefficient");
    positive(alpha_c, "alpha_c", "cathodic transfer coefficient");
    require(std::isfinite(gamma) && gamma >= 0, "electrode parameter gamma = ", gamma, " must be finite and >= 0");
    positive(temperature, "temperature", "in K");
    positive(gas_constant, "gas_constant", "R in J/(mol K)");
    positive(effective_c_ref(), "c_ref", "reference concentration in mol/m^3");
    positive(effective_i0(), "i0", "exchange current");
    positive(newton_tolerance, "newton_tolerance", "scaled Newton update");
    require(newton_max_iterations >= 1, "electrode parameter newton_max_iterations = ", newton_max_iterations,
            " must be >= 1");
  }
}

std::int64_t ElectrodeParameters::num_steps() const {
  // Python's int(T / dt): the correctly rounded IEEE quotient, truncated
  // toward zero. 100 / 0.1 == 1000.0 exactly in binary64, so the reference
  // takes 1000 steps.
  return static_cast<std::int64_t>(T / dt);
}

std::vector<double> ElectrodeParameters::cell_centres() const {
  // numpy.linspace(0, L, N+1): x_f[i] = i * step + 0 with step = L / N, and
  // the last face set to L exactly; centres are (x_f[i] + x_f[i+1]) / 2.
  require(N >= 1, "electrode parameter N = ", N, " must be >= 3 (cells of the grid)");
  double const step = L / N;
  std::vector<double> faces(N + 1);
  for (int i = 0; i < N; ++i) faces[i] = i * step;
  faces[N] = L;
  std::vector<double> x(N);
  for (int i = 0; i < N; ++i) x[i] = (faces[i] + faces[i + 1]) / 2;
  return x;
}

char const* to_string(Kinetics kinetics) {
  switch (kinetics) {
    case Kinetics::linear: return "linear";
    case Kinetics::butler_volmer: return "butler_volmer";
  }
  return "unknown";
}

char const* to_string(ConcentrationMode mode) {
  switch (mode) {
    case ConcentrationMode::transient: return "transient";
    case ConcentrationMode::steady: return "steady";
  }
  return "unknown";
}

Kinetics kinetics_from_string(std::string const& name) {
  if (name == "linear") return Kinetics::linear;
  if (name == "butler_volmer") return Kinetics::butler_volmer;
  throw InvalidArgument(Impl::concat("unknown kinetics '", name, "': expected one of linear, butler_volmer"));
}

ConcentrationMode concentration_mode_from_string(std::string const& name) {
  if (name == "transient") return ConcentrationMode::transient;
  if (name == "steady") return ConcentrationMode::steady;
  throw InvalidArgument(Impl::concat("unknown concentration mode '", name, "': expected one of transient, steady"));
}

}  // namespace psgm::pde

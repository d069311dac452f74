// Parameters <-> root attributes of data set files (include/psgm/io/DatasetAttributes.hpp).
#include <psgm/core/Error.hpp>
#include <psgm/io/DatasetAttributes.hpp>

namespace psgm::io {

AttributeMap physics_attributes(pde::ElectrodeParameters const& e, gp::PorosityModel const& g) {
  AttributeMap a;
  a.set("L", e.L);
  a.set("N", e.N);
  a.set("kappa0", e.kappa0);
  a.set("D0", e.D0);
  a.set("bruggeman", e.bruggeman);
  a.set("a0", e.a0);
  a.set("k_rn", e.k_rn);
  a.set("G", e.G);
  a.set("t_plus", e.t_plus);
  a.set("faraday", e.faraday);
  a.set("c0", e.c0);
  a.set("c_right", e.c_right);
  a.set("dt", e.dt);
  a.set("T", e.T);
  a.set("num_steps", e.num_steps());
  a.set("time_integration", pde::to_string(e.mode));
  a.set("kinetics", pde::to_string(e.kinetics));
  a.set("alpha_a", e.alpha_a);
  a.set("alpha_c", e.alpha_c);
  a.set("gamma", e.gamma);
  a.set("temperature", e.temperature);
  a.set("gas_constant", e.gas_constant);
  a.set("c_ref", e.effective_c_ref());
  a.set("i0", e.effective_i0());
  a.set("newton_tolerance", e.newton_tolerance);
  a.set("newton_max_iterations", e.newton_max_iterations);
  a.set("gp_kernel", gp::to_string(g.kernel));
  a.set("gp_sigma", g.sigma);
  a.set("gp_nugget", g.nugget);
  a.set("gp_factorization", gp::to_string(g.factorization));
  a.set("porosity_map", gp::to_string(g.map));
  a.set("epsilon_min", g.epsilon_min);
  a.set("epsilon_max", g.epsilon_max);
  return a;
}

namespace {
// Enumerations stored as strings: a bad name is a malformed file (IoError).
template <class F>
auto parse_enum(AttributeMap const& a, std::string const& name, F&& from_string) {
  std::string const& value = a.get_string(name);
  try {
    return from_string(value);
  } catch (InvalidArgument const& e) {
    throw IoError((a.origin().empty() ? std::string() : a.origin() + ": ") + "attribute '" + name + "': " + e.what());
  }
}
}  // namespace

pde::ElectrodeParameters electrode_parameters_from(AttributeMap const& a) {
  pde::ElectrodeParameters e;
  e.L = a.get_double("L");
  e.N = static_cast<int>(a.get_int("N"));
  e.kappa0 = a.get_double("kappa0");
  e.D0 = a.get_double("D0");
  e.bruggeman = a.get_double("bruggeman");
  e.a0 = a.get_double("a0");
  e.k_rn = a.get_double("k_rn");
  e.G = a.get_double("G");
  e.t_plus = a.get_double("t_plus");
  e.faraday = a.get_double("faraday");
  e.c0 = a.get_double("c0");
  e.c_right = a.get_double("c_right");
  e.dt = a.get_double("dt");
  e.T = a.get_double("T");
  e.mode = parse_enum(a, "time_integration", pde::concentration_mode_from_string);
  e.kinetics = parse_enum(a, "kinetics", pde::kinetics_from_string);
  e.alpha_a = a.get_double("alpha_a");
  e.alpha_c = a.get_double("alpha_c");
  e.gamma = a.get_double("gamma");
  e.temperature = a.get_double("temperature");
  e.gas_constant = a.get_double("gas_constant");
  e.c_ref = a.get_double("c_ref");
  e.i0 = a.get_double("i0");
  e.newton_tolerance = a.get_double("newton_tolerance");
  e.newton_max_iterations = static_cast<int>(a.get_int("newton_max_iterations"));
  return e;
}

gp::PorosityModel porosity_model_from(AttributeMap const& a) {
  gp::PorosityModel g;
  g.kernel = parse_enum(a, "gp_kernel", gp::covariance_kernel_from_string);
  g.sigma = a.get_double("gp_sigma");
  g.nugget = a.get_double("gp_nugget");
  g.factorization = parse_enum(a, "gp_factorization", gp::factorization_from_string);
  g.map = parse_enum(a, "porosity_map", gp::porosity_map_from_string);
  g.epsilon_min = a.get_double("epsilon_min");
  g.epsilon_max = a.get_double("epsilon_max");
  return g;
}

}  // namespace psgm::io

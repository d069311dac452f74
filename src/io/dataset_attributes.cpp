// Parameters <-> root attributes of data set files (include/psgm/io/DatasetAttributes.hpp).
#include <psgm/core/Error.hpp>
#include <psgm/io/DatasetAttributes.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

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

namespace {
std::string show(AttributeMap::Value const& v) {
  std::ostringstream os;
  os.precision(17);
  std::visit(
      [&](auto const& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>)
          os << '"' << x << '"';
        else if constexpr (std::is_arithmetic_v<T>)
          os << x;
        else
          os << "(" << x.size() << " values)";
      },
      v);
  return os.str();
}

bool same_value(AttributeMap::Value const& a, AttributeMap::Value const& b) {
  auto number = [](AttributeMap::Value const& v, double& out) {
    if (auto const* d = std::get_if<double>(&v)) return out = *d, true;
    if (auto const* i = std::get_if<std::int64_t>(&v)) return out = double(*i), true;
    return false;
  };
  double x = 0, y = 0;
  if (number(a, x) && number(b, y))
    return x == y || std::fabs(x - y) <= 1e-12 * std::max(std::fabs(x), std::fabs(y));
  return a == b;
}
}  // namespace

void require_same_physics(AttributeMap const& reference, std::string const& what_reference,
                          AttributeMap const& other, std::string const& what_other, bool require_all) {
  std::vector<std::string> names;
  AttributeMap const all = physics_attributes(pde::ElectrodeParameters{}, gp::PorosityModel{});
  // The parameters first, then what is derived from them (so that the
  // message names k_rn rather than the i0 it implies).
  std::vector<std::string> const derived{"num_steps", "c_ref", "i0"};
  for (auto const& [name, value] : all.values())
    if (name != "gp_factorization" && std::find(derived.begin(), derived.end(), name) == derived.end())
      names.push_back(name);
  names.insert(names.end(), derived.begin(), derived.end());
  names.push_back("porosity_source");
  for (auto const& name : names) {
    bool const in_ref = reference.contains(name), in_other = other.contains(name);
    if (in_ref && !in_other) {
      require(!require_all, what_other, " has no attribute '", name, "' but ", what_reference, " has ", name, " = ",
              show(reference.at(name)), "; the ensembles must come from the same physics");
      continue;
    }
    if (!in_ref || !in_other) continue;
    require(same_value(reference.at(name), other.at(name)), "the physics differ: ", what_reference, " has ", name,
            " = ", show(reference.at(name)), " but ", what_other, " has ", name, " = ", show(other.at(name)),
            "; ensembles compared with each other must come from the same physics");
  }
}

}  // namespace psgm::io

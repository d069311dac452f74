// The sampler name table's functions, the shared parameters' checks and time
// grids (docs/sampling.md §1). Every per-method choice goes through
// Impl::with_method; the methods' own checks are in sde/samplers/.
#include <psgm/sde/SamplerConfig.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace psgm {
namespace sde {

namespace {

std::string format_double(double v) {
  std::ostringstream os;
  os.precision(17);
  if (std::isinf(v)) {
    os << (v > 0 ? "inf" : "-inf");
  } else {
    os << v;
    std::string s = os.str();
    // TOML floats need a '.' or an exponent.
    if (s.find_first_of(".eE") == std::string::npos) s += ".0";
    return s;
  }
  return os.str();
}

/// A parameter's value as TOML.
std::string toml_value(bool v) { return v ? "true" : "false"; }
std::string toml_value(int v) { return std::to_string(v); }
std::string toml_value(double v) { return format_double(v); }
std::string toml_value(TimeGrid v) { return std::string("\"") + to_string(v) + "\""; }

std::string join(std::vector<std::string> const& names) {
  std::string out;
  for (auto const& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

// ------------------------------------------------------------------ the name table
char const* to_string(SamplerKind kind) {
  return Impl::with_method(kind, [](auto method) { return decltype(method)::name; });
}

std::vector<std::string> sampler_names() {
  std::vector<std::string> out;
  Impl::for_each_method([&](auto method) { out.emplace_back(decltype(method)::name); });
  return out;
}

SamplerKind sampler_kind_from_string(std::string const& name) {
  std::size_t index = 0, found = SamplerMethods::size;
  std::vector<std::string> aliases;
  Impl::for_each_method([&](auto method) {
    using Method = decltype(method);
    if (name == Method::name) found = index;
    for (char const* alias : Method::aliases) {
      if (name == alias) found = index;
      aliases.emplace_back(alias);
    }
    ++index;
  });
  if (found < SamplerMethods::size) return static_cast<SamplerKind>(found);
  throw InvalidArgument("unknown sampler '" + name + "': expected one of " + join(sampler_names()) +
                        " (aliases: " + join(aliases) + ")");
}

std::vector<std::string> sampler_parameter_names() {
  std::vector<std::string> out;
  Impl::for_each_method([&](auto method) {
    typename decltype(method)::Config c;
    c.for_each_parameter([&](char const* key, auto&) {
      if (std::find(out.begin(), out.end(), key) == out.end()) out.emplace_back(key);
    });
  });
  return out;
}

// ------------------------------------------------------------------ SamplerConfig
void SamplerConfig::validate(DiffusionProcess const& process) const {
  Impl::with_method(kind, [&](auto method) { decltype(method)::validate(*this, process); });
}

bool SamplerConfig::is_stochastic() const {
  return Impl::with_method(kind, [&](auto method) { return decltype(method)::is_stochastic(*this); });
}

std::int64_t SamplerConfig::planned_nfe() const {
  return Impl::with_method(kind, [&](auto method) { return decltype(method)::planned_nfe(*this); });
}

std::string SamplerConfig::describe() const {
  return Impl::with_method(kind, [&](auto method) { return decltype(method)::describe(*this); });
}

std::string SamplerConfig::to_toml() const {
  std::ostringstream os;
  os << "name = \"" << to_string(kind) << "\"\n";
  SamplerConfig copy = *this;
  copy.for_each_parameter([&](char const* key, auto const& value) { os << key << " = " << toml_value(value) << "\n"; });
  return os.str();
}

std::vector<std::string> SamplerConfig::parameter_names() const {
  std::vector<std::string> out;
  SamplerConfig copy = *this;
  copy.for_each_parameter([&](char const* key, auto&) { out.emplace_back(key); });
  return out;
}

bool SamplerConfig::accepts(std::string const& key) const {
  auto const names = parameter_names();
  return std::find(names.begin(), names.end(), key) != names.end();
}

void SamplerConfig::require_accepts(std::string const& key) const {
  require(accepts(key), "sampler ", to_string(kind), " does not take '", key, "'; it takes ", join(parameter_names()),
          " (the others belong to other samplers: docs/sampling.md)");
}

// ------------------------------------------------------------------ shared parameters
void IntervalParameters::validate_interval(char const* name, DiffusionProcess const& process) const {
  process.validate();
  double const ts = start_time(process), te = end_time(process);
  double const lo = process.t_lo(), hi = process.t_hi();
  double const slack = 1e-12 * hi;
  char const* tname = process.type == model::SdeType::edm ? "sigma" : "t";
  require(std::isfinite(ts) && std::isfinite(te) && te < ts, name, ": the integration interval must run backwards, got ",
          tname, "_start = ", ts, ", ", tname, "_end = ", te, " (need ", tname, "_end < ", tname, "_start)");
  require(te >= lo - slack && ts <= hi + slack, name, ": the interval [", te, ", ", ts, "] leaves the ",
          to_string(process.type), " process's [", lo, ", ", hi,
          "]; the model was trained only there (leave t_start/t_end at 0 for the full interval)");
}

void IntervalParameters::describe_interval(std::ostream& os) const {
  if (t_start != 0) os << " t_start=" << t_start;
  if (t_end != 0) os << " t_end=" << t_end;
}

void FixedStepParameters::validate_steps(char const* name, int min_steps) const {
  require(steps >= min_steps, name, ": steps = ", steps, " must be >= ", min_steps);
  require(rho > 0 && std::isfinite(rho), name, ": rho = ", rho, " must be finite and > 0");
}

std::vector<double> FixedStepParameters::fixed_step_grid(DiffusionProcess const& process, int intervals) const {
  return make_time_grid(process, grid, intervals, start_time(process), end_time(process), rho);
}

void FixedStepParameters::describe_steps(std::ostream& os) const {
  os << " steps=" << steps << " grid=" << to_string(grid);
  if (grid == TimeGrid::karras) os << " rho=" << rho;
}

// ------------------------------------------------------------------ time grids
char const* to_string(TimeGrid grid) {
  switch (grid) {
    case TimeGrid::quadratic: return "quadratic";
    case TimeGrid::uniform: return "uniform";
    case TimeGrid::log_snr: return "log_snr";
    case TimeGrid::karras: return "karras";
  }
  return "unknown";
}

TimeGrid time_grid_from_string(std::string const& name) {
  if (name == "quadratic") return TimeGrid::quadratic;
  if (name == "uniform") return TimeGrid::uniform;
  if (name == "log_snr") return TimeGrid::log_snr;
  if (name == "karras") return TimeGrid::karras;
  throw InvalidArgument("unknown time grid '" + name + "': expected quadratic, uniform, log_snr or karras");
}

std::vector<double> make_time_grid(DiffusionProcess const& process, TimeGrid grid, int steps, double t_start,
                                   double t_end, double rho) {
  require(steps >= 1, "time grid: steps = ", steps, " must be >= 1");
  require(t_end < t_start && t_end > 0, "time grid: need 0 < t_end < t_start, got t_end = ", t_end,
          ", t_start = ", t_start);
  require(rho > 0, "time grid: rho = ", rho, " must be > 0");
  std::vector<double> t(static_cast<std::size_t>(steps) + 1);
  double const k = steps;
  switch (grid) {
    case TimeGrid::quadratic:
      for (int n = 0; n <= steps; ++n) {
        double const w = 1.0 - n / k;
        t[n] = t_end + (t_start - t_end) * w * w;
      }
      break;
    case TimeGrid::uniform:
      for (int n = 0; n <= steps; ++n) t[n] = t_start + (n / k) * (t_end - t_start);
      break;
    case TimeGrid::log_snr: {
      double const l0 = process.lambda(t_start), l1 = process.lambda(t_end);
      for (int n = 0; n <= steps; ++n) t[n] = process.time_of_lambda(l0 + (n / k) * (l1 - l0));
      break;
    }
    case TimeGrid::karras: {
      double const a = std::pow(process.sigma(t_start), 1.0 / rho), b = std::pow(process.sigma(t_end), 1.0 / rho);
      for (int n = 0; n <= steps; ++n) t[n] = process.time_of_sigma(std::pow(a + (n / k) * (b - a), rho));
      break;
    }
  }
  // The end points exactly (the inverse maps round).
  t.front() = t_start;
  t.back() = t_end;
  for (int n = 0; n < steps; ++n)
    require(t[n + 1] < t[n], "time grid '", to_string(grid), "' with ", steps, " steps is not strictly decreasing at step ",
            n, " (t = ", t[n], ", next ", t[n + 1], "): too many steps for the interval in double precision");
  return t;
}

}  // namespace sde
}  // namespace psgm

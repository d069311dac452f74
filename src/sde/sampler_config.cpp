// Sampler names, parameter validation, time grids (docs/sampling.md §1).
#include <psgm/sde/SamplerConfig.hpp>

#include <cmath>
#include <sstream>

namespace psgm {
namespace sde {

namespace {
struct KindName {
  SamplerKind kind;
  char const* name;
};
constexpr KindName kind_names[] = {
    {SamplerKind::euler_maruyama, "euler_maruyama"}, {SamplerKind::stochastic_heun, "stochastic_heun"},
    {SamplerKind::predictor_corrector, "predictor_corrector"}, {SamplerKind::ode_heun, "ode_heun"},
    {SamplerKind::ode_dopri5, "ode_dopri5"}, {SamplerKind::dpm_solver_2m, "dpm_solver_2m"},
    {SamplerKind::edm_heun, "edm_heun"},
};
constexpr KindName kind_aliases[] = {
    {SamplerKind::stochastic_heun, "reference"}, {SamplerKind::euler_maruyama, "em"},
    {SamplerKind::predictor_corrector, "pc"},    {SamplerKind::ode_heun, "heun"},
    {SamplerKind::ode_dopri5, "dopri5"},         {SamplerKind::dpm_solver_2m, "dpmpp_2m"},
    {SamplerKind::edm_heun, "edm"},
};

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
}  // namespace

char const* to_string(SamplerKind kind) {
  for (auto const& k : kind_names)
    if (k.kind == kind) return k.name;
  return "unknown";
}

std::vector<std::string> sampler_names() {
  std::vector<std::string> out;
  for (auto const& k : kind_names) out.emplace_back(k.name);
  return out;
}

SamplerKind sampler_kind_from_string(std::string const& name) {
  for (auto const& k : kind_names)
    if (name == k.name) return k.kind;
  for (auto const& k : kind_aliases)
    if (name == k.name) return k.kind;
  std::string known;
  for (auto const& k : kind_names) known += std::string(known.empty() ? "" : ", ") + k.name;
  throw InvalidArgument("unknown sampler '" + name + "': expected one of " + known +
                        " (aliases: reference, em, pc, heun, dopri5, dpmpp_2m, edm)");
}

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

SamplerConfig SamplerConfig::defaults(SamplerKind kind) {
  SamplerConfig c;
  c.kind = kind;
  switch (kind) {
    case SamplerKind::euler_maruyama:
    case SamplerKind::stochastic_heun:
    case SamplerKind::predictor_corrector:
      c.steps = 1000;
      c.grid = TimeGrid::quadratic;
      break;
    case SamplerKind::ode_heun:
      c.steps = 100;
      c.grid = TimeGrid::quadratic;
      break;
    case SamplerKind::ode_dopri5: break;
    case SamplerKind::dpm_solver_2m:
      c.steps = 20;
      c.grid = TimeGrid::log_snr;
      break;
    case SamplerKind::edm_heun:
      c.steps = 18;
      c.grid = TimeGrid::karras;
      break;
  }
  return c;
}

double SamplerConfig::start_time(DiffusionProcess const& process) const {
  return t_start == 0.0 ? process.t_hi() : t_start;
}
double SamplerConfig::end_time(DiffusionProcess const& process) const {
  return t_end == 0.0 ? process.t_lo() : t_end;
}

void SamplerConfig::validate(DiffusionProcess const& process) const {
  process.validate();
  char const* name = to_string(kind);
  double const ts = start_time(process), te = end_time(process);
  double const lo = process.t_lo(), hi = process.t_hi();
  double const slack = 1e-12 * hi;
  char const* tname = process.type == SdeType::edm ? "sigma" : "t";
  require(std::isfinite(ts) && std::isfinite(te) && te < ts, name, ": the integration interval must run backwards, got ",
          tname, "_start = ", ts, ", ", tname, "_end = ", te, " (need ", tname, "_end < ", tname, "_start)");
  require(te >= lo - slack && ts <= hi + slack, name, ": the interval [", te, ", ", ts, "] leaves the ",
          to_string(process.type), " process's [", lo, ", ", hi,
          "]; the model was trained only there (leave t_start/t_end at 0 for the full interval)");
  if (kind != SamplerKind::ode_dopri5) {
    int const min_steps = kind == SamplerKind::edm_heun ? 2 : 1;
    require(steps >= min_steps, name, ": steps = ", steps, " must be >= ", min_steps);
    require(rho > 0 && std::isfinite(rho), name, ": rho = ", rho, " must be finite and > 0");
  }
  switch (kind) {
    case SamplerKind::predictor_corrector:
      require(corrector_steps >= 0, name, ": corrector_steps = ", corrector_steps, " must be >= 0");
      require(snr > 0 && std::isfinite(snr), name, ": snr = ", snr,
              " must be finite and > 0 (Song et al. use 0.16; it sets the Langevin step size)");
      break;
    case SamplerKind::ode_dopri5:
      require(rtol > 0 && rtol < 1, name, ": rtol = ", rtol, " must be in (0, 1)");
      require(atol > 0 && std::isfinite(atol), name, ": atol = ", atol, " must be finite and > 0");
      require(initial_step >= 0 && initial_step <= 1, name, ": initial_step = ", initial_step,
              " must be in [0, 1] (a fraction of the interval; 0 = automatic)");
      require(safety > 0 && safety <= 1, name, ": safety = ", safety, " must be in (0, 1]");
      require(min_factor > 0 && min_factor < 1 && max_factor > 1 && std::isfinite(max_factor), name,
              ": need 0 < min_factor < 1 < max_factor, got min_factor = ", min_factor, ", max_factor = ",
              max_factor);
      require(max_iterations >= 1, name, ": max_iterations = ", max_iterations, " must be >= 1");
      break;
    case SamplerKind::edm_heun:
      require(s_churn >= 0 && std::isfinite(s_churn), name, ": s_churn = ", s_churn, " must be finite and >= 0");
      require(s_tmin >= 0 && s_tmax >= s_tmin, name, ": need 0 <= s_tmin <= s_tmax, got s_tmin = ", s_tmin,
              ", s_tmax = ", s_tmax);
      require(s_noise >= 0 && std::isfinite(s_noise), name, ": s_noise = ", s_noise, " must be finite and >= 0");
      break;
    default: break;
  }
}

bool SamplerConfig::is_stochastic() const {
  switch (kind) {
    case SamplerKind::euler_maruyama:
    case SamplerKind::stochastic_heun:
    case SamplerKind::predictor_corrector: return true;
    case SamplerKind::edm_heun: return s_churn > 0 && s_noise > 0;
    default: return false;
  }
}

std::int64_t SamplerConfig::planned_nfe() const {
  std::int64_t const k = steps;
  switch (kind) {
    case SamplerKind::euler_maruyama: return k;
    case SamplerKind::stochastic_heun: return 2 * k;
    case SamplerKind::predictor_corrector: return k * (1 + corrector_steps);
    case SamplerKind::ode_heun: return 2 * k;
    case SamplerKind::ode_dopri5: return -1;
    case SamplerKind::dpm_solver_2m: return k;
    case SamplerKind::edm_heun: return 2 * k - 1;
  }
  return -1;
}

std::string SamplerConfig::describe() const {
  std::ostringstream os;
  os.precision(6);
  os << to_string(kind);
  if (kind == SamplerKind::ode_dopri5) {
    os << " rtol=" << rtol << " atol=" << atol;
  } else {
    os << " steps=" << steps << " grid=" << to_string(grid);
    if (grid == TimeGrid::karras) os << " rho=" << rho;
  }
  if (kind == SamplerKind::predictor_corrector) os << " corrector_steps=" << corrector_steps << " snr=" << snr;
  if (kind == SamplerKind::edm_heun && s_churn > 0)
    os << " s_churn=" << s_churn << " s_tmin=" << s_tmin << " s_tmax=" << s_tmax << " s_noise=" << s_noise;
  if (t_start != 0) os << " t_start=" << t_start;
  if (t_end != 0) os << " t_end=" << t_end;
  return os.str();
}

std::string SamplerConfig::to_toml() const {
  std::ostringstream os;
  os << "name = \"" << to_string(kind) << "\"\n";
  os << "t_start = " << format_double(t_start) << "\n";
  os << "t_end = " << format_double(t_end) << "\n";
  if (kind == SamplerKind::ode_dopri5) {
    os << "rtol = " << format_double(rtol) << "\n";
    os << "atol = " << format_double(atol) << "\n";
    os << "initial_step = " << format_double(initial_step) << "\n";
    os << "safety = " << format_double(safety) << "\n";
    os << "min_factor = " << format_double(min_factor) << "\n";
    os << "max_factor = " << format_double(max_factor) << "\n";
    os << "max_iterations = " << max_iterations << "\n";
    return os.str();
  }
  os << "steps = " << steps << "\n";
  os << "grid = \"" << to_string(grid) << "\"\n";
  os << "rho = " << format_double(rho) << "\n";
  if (kind == SamplerKind::predictor_corrector) {
    os << "corrector_steps = " << corrector_steps << "\n";
    os << "snr = " << format_double(snr) << "\n";
  }
  if (kind == SamplerKind::edm_heun) {
    os << "s_churn = " << format_double(s_churn) << "\n";
    os << "s_tmin = " << format_double(s_tmin) << "\n";
    os << "s_tmax = " << format_double(s_tmax) << "\n";
    os << "s_noise = " << format_double(s_noise) << "\n";
  }
  return os.str();
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

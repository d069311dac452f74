#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/core/Random.hpp>
#include <psgm/pde/Conditions.hpp>

#include <Kokkos_Core.hpp>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace psgm::pde {

void validate_condition(Condition const& c, std::string const& where) {
  require(std::isfinite(c.l) && c.l > 0, where, ": correlation length l = ", c.l, " must be finite and > 0 [m]");
  require(std::isfinite(c.U0), where, ": applied voltage U0 = ", c.U0, " must be finite [V]");
  require(std::isfinite(c.F_right), where, ": applied current F_right = ", c.F_right, " must be finite");
}

char const* to_string(Spacing spacing) {
  switch (spacing) {
    case Spacing::uniform: return "uniform";
    case Spacing::log_uniform: return "log_uniform";
  }
  return "unknown";
}

Spacing spacing_from_string(std::string const& name) {
  if (name == "uniform") return Spacing::uniform;
  if (name == "log_uniform") return Spacing::log_uniform;
  throw InvalidArgument("unknown spacing '" + name + "': expected 'uniform' or 'log_uniform'");
}

ConditionRanges ConditionRanges::reference(double L) {
  require(std::isfinite(L) && L > 0, "electrode thickness L = ", L, " must be finite and > 0 [m]");
  ConditionRanges r;
  r.l_min = L / 50;
  r.l_max = L / 5;
  return r;
}

void ConditionRanges::validate() const {
  auto check = [](char const* name, double lo, double hi) {
    require(std::isfinite(lo) && std::isfinite(hi), "condition range ", name, " = [", lo, ", ", hi,
            "]: bounds must be finite");
    require(lo <= hi, "condition range ", name, " = [", lo, ", ", hi, "]: expected ", name, "_min <= ", name,
            "_max");
  };
  check("l", l_min, l_max);
  check("U0", U0_min, U0_max);
  check("F_right", F_right_min, F_right_max);
  require(l_min > 0, "condition range l = [", l_min, ", ", l_max, "]: l_min must be > 0 (a correlation length)");
}

namespace {

// u in [0, 1) with 53 random bits. Taken from urand64() (the XorShift64*
// output, stable across Kokkos versions) rather than drand(), whose scaling
// includes 1.0 and has changed between releases.
double uniform01(Kokkos::Random_XorShift64<Kokkos::DefaultHostExecutionSpace>& gen) {
  return static_cast<double>(gen.urand64() >> 11) * 0x1.0p-53;
}

double draw(double lo, double hi, Spacing spacing, double u) {
  if (lo == hi) return lo;
  if (spacing == Spacing::log_uniform) return lo * std::pow(hi / lo, u);
  return lo + u * (hi - lo);
}

std::vector<Condition> draw_conditions(ConditionRanges const& ranges, std::int64_t count, std::uint64_t seed,
                                       std::uint64_t first_item) {
  ranges.validate();
  require(count >= 0, "number of conditions = ", count, " must be >= 0");
  std::vector<Condition> out(static_cast<std::size_t>(count));
  for (std::int64_t k = 0; k < count; ++k) {
    auto gen = psgm::random::make_generator<Kokkos::DefaultHostExecutionSpace>(seed, psgm::random::conditions,
                                                                           first_item + std::uint64_t(k));
    double const ul = uniform01(gen);
    double const uu = uniform01(gen);
    double const uf = uniform01(gen);
    out[k] = {draw(ranges.l_min, ranges.l_max, ranges.l_spacing, ul),
              draw(ranges.U0_min, ranges.U0_max, Spacing::uniform, uu),
              draw(ranges.F_right_min, ranges.F_right_max, Spacing::uniform, uf)};
  }
  return out;
}

}  // namespace

std::vector<Condition> random_conditions(ConditionRanges const& ranges, std::int64_t count, std::uint64_t seed) {
  psgm::ScopedRegion region("psgm::pde::random_conditions");
  return draw_conditions(ranges, count, seed, 0);
}

std::vector<Condition> reference_conditions(std::uint64_t seed, double L) {
  return random_conditions(ConditionRanges::reference(L), reference_num_conditions, seed);
}

std::vector<Condition> heldout_conditions(ConditionRanges const& ranges, std::int64_t count, std::uint64_t seed) {
  psgm::ScopedRegion region("psgm::pde::heldout_conditions");
  return draw_conditions(ranges, count, seed, heldout_item_offset);
}

Condition reference_evaluation_condition(double L) {
  require(std::isfinite(L) && L > 0, "electrode thickness L = ", L, " must be finite and > 0 [m]");
  return {L / 10, 0.0, 25.0};
}

std::vector<Condition> conditions_from_rows(std::vector<std::vector<double>> const& rows, std::string const& source) {
  std::vector<Condition> out;
  out.reserve(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    require(rows[i].size() == 3, source, ": row ", i, " has ", rows[i].size(),
            " values; expected 3 (l, U0, F_right)");
    Condition const c{rows[i][0], rows[i][1], rows[i][2]};
    validate_condition(c, source + ": row " + std::to_string(i));
    out.push_back(c);
  }
  return out;
}

namespace {

std::string trim(std::string const& s) {
  auto const b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  auto const e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// Whole-field parse: "1e-5" yes, "1e-5x" or "" no.
bool parse_number(std::string const& text, double& value) {
  std::string const t = trim(text);
  if (t.empty()) return false;
  char* end = nullptr;
  errno = 0;
  value = std::strtod(t.c_str(), &end);
  return end == t.c_str() + t.size() && errno != ERANGE;
}

}  // namespace

std::vector<Condition> read_conditions_csv(std::string const& path) {
  psgm::ScopedRegion region("psgm::pde::read_conditions_csv");
  std::ifstream in(path);
  require<IoError>(static_cast<bool>(in), "conditions file '", path, "' cannot be opened (missing or unreadable)");
  std::vector<Condition> out;
  std::string line;
  int line_no = 0;
  bool first_content = true;
  while (std::getline(in, line)) {
    ++line_no;
    std::string const t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    std::vector<std::string> fields;
    std::stringstream ss(t);
    std::string field;
    while (std::getline(ss, field, ',')) fields.push_back(field);
    double first_value = 0;
    if (first_content && !fields.empty() && !parse_number(fields[0], first_value)) {
      first_content = false;  // a header line such as "l,U0,F_right"
      continue;
    }
    first_content = false;
    require(fields.size() == 3, "conditions file '", path, "', line ", line_no, ": found ", fields.size(),
            " comma-separated values in '", t, "'; expected 3 (l, U0, F_right)");
    double v[3];
    for (int k = 0; k < 3; ++k)
      require(parse_number(fields[k], v[k]), "conditions file '", path, "', line ", line_no, ": '",
              trim(fields[k]), "' is not a number");
    Condition const c{v[0], v[1], v[2]};
    validate_condition(c, "conditions file '" + path + "', line " + std::to_string(line_no));
    out.push_back(c);
  }
  require(!out.empty(), "conditions file '", path, "' holds no conditions; expected lines 'l, U0, F_right'");
  return out;
}

}  // namespace psgm::pde

// Observations and their linear operator (include/psgm/posterior/Observations.hpp).
#include <psgm/core/Error.hpp>
#include <psgm/posterior/Observations.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace psgm {
namespace posterior {

namespace {

std::string trim(std::string s) {
  auto const not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

std::vector<std::string> split(std::string const& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) out.push_back(trim(cell));
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

double parse_number(std::string const& text, std::string const& what, std::string const& where) {
  char* end = nullptr;
  double const v = std::strtod(text.c_str(), &end);
  require(!text.empty() && end == text.c_str() + text.size(), where, ": ", what, " '", text, "' is not a number");
  return v;
}

std::string describe(std::vector<std::string> const& names) {
  std::string s;
  for (std::size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i] + " (" + std::to_string(i) + ")";
  return s;
}

}  // namespace

ObservationOperator::ObservationOperator(std::vector<Observation> observations, std::vector<double> const& grid,
                                         int channels)
    : observations_(std::move(observations)), channels_(channels), num_points_(static_cast<int>(grid.size())) {
  require(channels >= 1, "observations: the fields have ", channels, " channels; expected at least 1");
  require(grid.size() >= 2, "observations: the grid has ", grid.size(), " points; expected at least 2");
  for (std::size_t i = 0; i < grid.size(); ++i)
    require(std::isfinite(grid[i]) && (i == 0 || grid[i] > grid[i - 1]),
            "observations: the grid must be finite and increasing (point ", i, " is ", grid[i], ")");
  std::size_t const m = observations_.size();
  index_.resize(2 * m);
  weight_.resize(2 * m);
  double const lo = grid.front(), hi = grid.back();
  int const N = num_points_;
  for (std::size_t j = 0; j < m; ++j) {
    auto const& o = observations_[j];
    require(o.channel >= 0 && o.channel < channels, "observation ", j, ": channel ", o.channel,
            " does not exist; the fields have channels 0 to ", channels - 1);
    require(std::isfinite(o.x) && o.x >= lo && o.x <= hi, "observation ", j, ": position x = ", o.x,
            " is outside the grid [", lo, ", ", hi, "] (psgm interpolates between grid points, it does not extrapolate)");
    require(std::isfinite(o.value), "observation ", j, ": value ", o.value, " is not finite");
    require(std::isfinite(o.noise_std) && o.noise_std > 0, "observation ", j, ": noise standard deviation ",
            o.noise_std, " must be finite and > 0 (an exact observation is the limit of a small one)");
    // The interval [x_i, x_{i+1}] holding o.x (the last interval for x = x_{N-1}).
    auto const it = std::upper_bound(grid.begin(), grid.end(), o.x);
    int i = static_cast<int>(it - grid.begin()) - 1;
    i = std::clamp(i, 0, N - 2);
    double const t = (o.x - grid[std::size_t(i)]) / (grid[std::size_t(i + 1)] - grid[std::size_t(i)]);
    std::int64_t const base = std::int64_t(o.channel) * N;
    index_[2 * j] = base + i;
    index_[2 * j + 1] = base + i + 1;
    weight_[2 * j] = 1.0 - t;
    weight_[2 * j + 1] = t;
  }
}

double ObservationOperator::log_likelihood(double const* x) const {
  double s = 0;
  for (int j = 0; j < size(); ++j) {
    auto const& o = observations_[std::size_t(j)];
    double const r = (o.value - apply(j, x)) / o.noise_std;
    s += r * r;
  }
  return -0.5 * s;
}

int channel_index(std::string const& name, std::vector<std::string> const& channel_names, std::string const& where) {
  for (std::size_t i = 0; i < channel_names.size(); ++i)
    if (channel_names[i] == name) return static_cast<int>(i);
  char* end = nullptr;
  long const i = std::strtol(name.c_str(), &end, 10);
  if (!name.empty() && end == name.c_str() + name.size() && i >= 0 && i < long(channel_names.size()))
    return static_cast<int>(i);
  throw InvalidArgument(Impl::concat(where, ": unknown channel '", name, "'; the fields have ",
                                     describe(channel_names)));
}

std::vector<Observation> parse_observations_csv(std::string const& text, std::vector<std::string> const& channel_names,
                                                std::string const& where) {
  std::vector<Observation> out;
  std::stringstream in(text);
  std::string line;
  int number = 0;
  int col_channel = -1, col_x = -1, col_value = -1, col_noise = -1;
  std::size_t columns = 0;
  bool header = false;
  while (std::getline(in, line)) {
    ++number;
    if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty()) continue;
    auto const cells = split(line);
    std::string const at = where + ", line " + std::to_string(number);
    if (!header) {
      for (std::size_t c = 0; c < cells.size(); ++c) {
        int* slot = cells[c] == "channel"     ? &col_channel
                    : cells[c] == "x"         ? &col_x
                    : cells[c] == "value"     ? &col_value
                    : cells[c] == "noise_std" ? &col_noise
                                              : nullptr;
        require(slot != nullptr, at, ": unknown column '", cells[c],
                "'; the header names the columns channel, x, value, noise_std");
        require(*slot < 0, at, ": column '", cells[c], "' appears twice");
        *slot = static_cast<int>(c);
      }
      require(col_channel >= 0 && col_x >= 0 && col_value >= 0 && col_noise >= 0, at,
              ": the header must name the four columns channel, x, value, noise_std");
      columns = cells.size();
      header = true;
      continue;
    }
    require(cells.size() == columns, at, ": ", cells.size(), " values; the header has ", columns, " columns");
    Observation o;
    o.channel = channel_index(cells[std::size_t(col_channel)], channel_names, at);
    o.x = parse_number(cells[std::size_t(col_x)], "position x", at);
    o.value = parse_number(cells[std::size_t(col_value)], "value", at);
    o.noise_std = parse_number(cells[std::size_t(col_noise)], "noise_std", at);
    require(std::isfinite(o.x) && std::isfinite(o.value), at, ": position and value must be finite");
    require(std::isfinite(o.noise_std) && o.noise_std > 0, at, ": noise_std = ", o.noise_std, " must be finite and > 0");
    out.push_back(o);
  }
  require(header, where, ": no header line 'channel,x,value,noise_std'");
  require(!out.empty(), where, ": no observations after the header");
  return out;
}

std::string to_csv(std::vector<Observation> const& observations, std::vector<std::string> const& channel_names) {
  std::ostringstream os;
  os.precision(17);
  os << "channel,x,value,noise_std\n";
  for (auto const& o : observations) {
    if (o.channel >= 0 && o.channel < int(channel_names.size()))
      os << channel_names[std::size_t(o.channel)];
    else
      os << o.channel;
    os << ',' << o.x << ',' << o.value << ',' << o.noise_std << '\n';
  }
  return os.str();
}

std::vector<Observation> read_observations_csv(std::string const& path,
                                               std::vector<std::string> const& channel_names) {
  std::ifstream in(path);
  require<IoError>(static_cast<bool>(in), "observations: cannot read '", path, "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_observations_csv(ss.str(), channel_names, path);
}

}  // namespace posterior
}  // namespace psgm

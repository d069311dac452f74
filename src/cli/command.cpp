#include "Command.hpp"

#include <psgm/core/Error.hpp>
#include <psgm/posterior/Observations.hpp>

#include <toml++/toml.h>

#include <atomic>
#include <csignal>
#include <cmath>
#include <filesystem>
#include <cstdio>
#include <iostream>
#include <limits>
#include <sstream>
#include <unistd.h>

namespace psgm {
namespace cli {

std::vector<Command>& registry() {
  static std::vector<Command> commands;
  return commands;
}

RegisterCommand::RegisterCommand(std::string name, std::string description,
                                 std::function<std::function<int()>(CLI::App&)> setup) {
  registry().push_back({std::move(name), std::move(description), std::move(setup)});
}

// ------------------------------------------------------------------ interruption
namespace {
std::atomic<bool> g_interrupted{false};
std::atomic<int> g_signal{0};
int g_depth = 0;  // InterruptScopes alive (the CLI is single-threaded where it opens them)
extern "C" void psgm_cli_on_signal(int sig) {
  g_signal = sig;
  g_interrupted = true;
}
}  // namespace

InterruptScope::InterruptScope()
    : old_int_(std::signal(SIGINT, psgm_cli_on_signal)), old_term_(std::signal(SIGTERM, psgm_cli_on_signal)) {
  if (g_depth++ == 0) {
    g_interrupted = false;
    g_signal = 0;
  }
}
InterruptScope::~InterruptScope() {
  --g_depth;
  std::signal(SIGINT, old_int_);
  std::signal(SIGTERM, old_term_);
}
bool InterruptScope::interrupted() { return g_interrupted; }
int InterruptScope::signal_number() { return g_signal; }
int InterruptScope::interrupted_exit_code() { return 128 + (g_signal != 0 ? int(g_signal) : SIGINT); }

// ------------------------------------------------------------------ Config
namespace {

void merge_into(toml::table& dst, toml::table const& src) {
  for (auto const& [key, node] : src) {
    if (auto const* sub = node.as_table()) {
      if (auto* existing = dst.get_as<toml::table>(key)) {
        merge_into(*existing, *sub);
        continue;
      }
    }
    dst.insert_or_assign(key, node);
  }
}

void collect_keys(toml::table const& t, std::string const& prefix, std::vector<std::string>& out) {
  for (auto const& [key, node] : t) {
    std::string const full = prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    if (auto const* sub = node.as_table())
      collect_keys(*sub, full, out);
    else
      out.push_back(full);
  }
}

toml::table parse_toml(std::string const& text, std::string const& where) {
  try {
    return toml::parse(text, where);
  } catch (toml::parse_error const& e) {
    std::ostringstream os;
    os << where << ": invalid TOML at line " << e.source().begin.line << ", column " << e.source().begin.column
       << ": " << e.description();
    throw InvalidArgument(os.str());
  }
}

}  // namespace

struct Config::Document {
  toml::table table;
  /// The node at a dotted key (nullptr if absent); marks the key as used.
  static toml::node const* find(Config const& cfg, std::string const& dotted) {
    cfg.used_.insert(dotted);
    return cfg.doc_->table.at_path(dotted).node();
  }
};

Config::Config() : doc_(std::make_shared<Document>()) {}

Config Config::load(std::string const& preset, std::vector<std::pair<std::string, std::string>> const& presets,
                    std::string const& file, std::vector<std::string> const& overrides) {
  Config cfg;
  bool found = false;
  std::string names;
  for (auto const& [name, text] : presets) {
    names += (names.empty() ? "" : ", ") + name;
    if (name == preset) {
      cfg.doc_->table = parse_toml(text, "preset '" + name + "'");
      found = true;
    }
  }
  require(found, "unknown preset '", preset, "': expected one of ", names);
  if (!file.empty()) {
    toml::table user;
    try {
      user = toml::parse_file(file);
    } catch (toml::parse_error const& e) {
      std::ostringstream os;
      os << "configuration file '" << file << "': " << e.description() << " (line " << e.source().begin.line << ")";
      throw InvalidArgument(os.str());
    }
    merge_into(cfg.doc_->table, user);
  }
  for (auto const& o : overrides) {
    auto const eq = o.find('=');
    require(eq != std::string::npos && eq > 0, "--set '", o, "': expected KEY=VALUE, e.g. --set solver.N=200");
    std::string const key = o.substr(0, eq);
    std::string value = o.substr(eq + 1);
    // Parse the value as TOML; a bare word that is not valid TOML is a string.
    toml::table parsed;
    try {
      parsed = toml::parse("v = " + value);
    } catch (toml::parse_error const&) {
      parsed = toml::table{{"v", value}};
    }
    // Build the nested table for the dotted key.
    toml::table patch;
    toml::table* cur = &patch;
    std::string rest = key;
    for (;;) {
      auto const dot = rest.find('.');
      if (dot == std::string::npos) {
        cur->insert_or_assign(rest, *parsed.get("v"));
        break;
      }
      auto [it, inserted] = cur->insert_or_assign(rest.substr(0, dot), toml::table{});
      cur = it->second.as_table();
      rest = rest.substr(dot + 1);
    }
    merge_into(cfg.doc_->table, patch);
  }
  return cfg;
}

bool Config::has(std::string const& dotted) const { return Document::find(*this, dotted) != nullptr; }

template <class T>
T Config::get(std::string const& dotted) const {
  auto const* node = Document::find(*this, dotted);
  require(node != nullptr, "configuration: missing key '", dotted, "'");
  if constexpr (std::is_same_v<T, double>) {
    if (auto v = node->value<double>()) return *v;
    require(false, "configuration: '", dotted, "' must be a number");
  } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    auto v = node->value<std::int64_t>();
    if (!v && node->is_floating_point()) {
      // 1e12 is a TOML float: say what it is, and whether it would fit at all.
      double const d = *node->value<double>();
      require(false, "configuration: '", dotted, "' = ", d, " must be an integer (written without exponent or point)");
    }
    require(v.has_value(), "configuration: '", dotted, "' must be an integer");
    // Every integer is range-checked against the type it is stored in.
    if constexpr (std::is_unsigned_v<T>)
      require(*v >= 0, "configuration: '", dotted, "' = ", *v, " must be >= 0");
    else
      require(*v >= std::int64_t(std::numeric_limits<T>::min()) && *v <= std::int64_t(std::numeric_limits<T>::max()),
              "configuration: '", dotted, "' = ", *v, " is out of range: at most ", std::numeric_limits<T>::max());
    return static_cast<T>(*v);
  } else if constexpr (std::is_same_v<T, bool>) {
    auto v = node->value<bool>();
    require(v.has_value(), "configuration: '", dotted, "' must be true or false");
    return *v;
  } else {
    auto v = node->value<std::string>();
    require(v.has_value(), "configuration: '", dotted, "' must be a string");
    return *v;
  }
  return T{};
}

template <class T>
T Config::get_or(std::string const& dotted, T fallback) const {
  return Document::find(*this, dotted) ? get<T>(dotted) : fallback;
}

template double Config::get<double>(std::string const&) const;
template int Config::get<int>(std::string const&) const;
template std::int64_t Config::get<std::int64_t>(std::string const&) const;
template std::uint64_t Config::get<std::uint64_t>(std::string const&) const;
template bool Config::get<bool>(std::string const&) const;
template std::string Config::get<std::string>(std::string const&) const;
template double Config::get_or<double>(std::string const&, double) const;
template int Config::get_or<int>(std::string const&, int) const;
template std::int64_t Config::get_or<std::int64_t>(std::string const&, std::int64_t) const;
template std::uint64_t Config::get_or<std::uint64_t>(std::string const&, std::uint64_t) const;
template bool Config::get_or<bool>(std::string const&, bool) const;
template std::string Config::get_or<std::string>(std::string const&, std::string) const;

std::vector<double> Config::get_doubles(std::string const& dotted) const {
  auto const* node = Document::find(*this, dotted);
  require(node != nullptr, "configuration: missing key '", dotted, "'");
  auto const* arr = node->as_array();
  require(arr != nullptr, "configuration: '", dotted, "' must be an array of numbers");
  std::vector<double> out;
  for (auto const& e : *arr) {
    auto v = e.value<double>();
    require(v.has_value(), "configuration: '", dotted, "' must contain only numbers");
    out.push_back(*v);
  }
  return out;
}

std::vector<std::vector<double>> Config::get_double_rows(std::string const& dotted) const {
  auto const* node = Document::find(*this, dotted);
  require(node != nullptr, "configuration: missing key '", dotted, "'");
  auto const* arr = node->as_array();
  require(arr != nullptr, "configuration: '", dotted, "' must be an array of arrays of numbers");
  std::vector<std::vector<double>> rows;
  for (auto const& row : *arr) {
    auto const* r = row.as_array();
    require(r != nullptr, "configuration: '", dotted, "' must be an array of arrays of numbers");
    std::vector<double> vals;
    for (auto const& e : *r) {
      auto v = e.value<double>();
      require(v.has_value(), "configuration: '", dotted, "' must contain only numbers");
      vals.push_back(*v);
    }
    rows.push_back(std::move(vals));
  }
  return rows;
}

std::vector<std::string> Config::get_strings(std::string const& dotted) const {
  auto const* node = Document::find(*this, dotted);
  require(node != nullptr, "configuration: missing key '", dotted, "'");
  auto const* arr = node->as_array();
  require(arr != nullptr, "configuration: '", dotted, "' must be an array of strings");
  std::vector<std::string> out;
  for (auto const& e : *arr) {
    auto v = e.value<std::string>();
    require(v.has_value(), "configuration: '", dotted, "' must contain only strings");
    out.push_back(*v);
  }
  return out;
}

void Config::reject_unknown_keys() const {
  std::vector<std::string> keys;
  collect_keys(doc_->table, "", keys);
  std::string unknown, known;
  for (auto const& k : keys)
    if (!used_.count(k)) unknown += (unknown.empty() ? "" : ", ") + k;
  for (auto const& k : used_) known += (known.empty() ? "" : ", ") + k;
  require(unknown.empty(), "configuration: unknown key(s) ", unknown, "; known keys: ", known);
}

std::string Config::to_toml() const {
  std::ostringstream os;
  os << doc_->table;
  return os.str();
}

std::shared_ptr<ConfigOptions> add_config_options(CLI::App& app, std::string default_preset,
                                                  std::vector<std::string> const& preset_names) {
  auto opts = std::make_shared<ConfigOptions>();
  opts->preset = std::move(default_preset);
  std::string names;
  for (auto const& n : preset_names) names += (names.empty() ? "" : ", ") + n;
  app.add_option("--preset", opts->preset, "built-in configuration to start from (" + names + ")")
      ->capture_default_str();
  app.add_option("-c,--config", opts->file, "TOML file merged over the preset")->check(CLI::ExistingFile);
  app.add_option("--set", opts->overrides, "override one key, e.g. --set solver.N=200 (repeatable)");
  return opts;
}

// ------------------------------------------------------------------ Progress
std::string format_duration(double s) {
  char buf[64];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%.1f s", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%dm %02ds", int(s) / 60, int(s) % 60);
  else
    std::snprintf(buf, sizeof buf, "%dh %02dm", int(s) / 3600, (int(s) / 60) % 60);
  return buf;
}

Progress::Progress(std::string label, std::int64_t total, std::string unit, bool enabled, double interval)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      enabled_(enabled && is_root_process()),  // one progress display per job
      interval_(interval),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(std::int64_t done, std::string const& extra) {
  auto const now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_).count() < interval_) return;
  last_ = now;
  print(done, extra, false);
}

void Progress::finish(std::string const& extra) { print(total_, extra, true); }

void Progress::print(std::int64_t done, std::string const& extra, bool final) {
  last_done_ = done;
  if (!enabled_) return;
  double const t = elapsed_seconds();
  double const rate = t > 0 ? done / t : 0.0;
  double const eta = rate > 0 ? (total_ - done) / rate : 0.0;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s: %lld/%lld (%5.1f%%) %.3g %s/s, %s %s", label_.c_str(), (long long)done,
                (long long)total_, total_ > 0 ? 100.0 * done / total_ : 100.0, rate, unit_.c_str(),
                final ? "took" : "ETA", format_duration(final ? t : eta).c_str());
  std::cerr << buf << (extra.empty() ? "" : "  ") << extra << '\n';
}

// --------------------------------------------------------------- observations
std::vector<posterior::Observation> read_observations(std::string const& path, std::vector<std::string> const& channels) {
  if (std::filesystem::path(path).extension() != ".toml") return posterior::read_observations_csv(path, channels);
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (toml::parse_error const& e) {
    std::ostringstream os;
    os << path << ": invalid TOML at line " << e.source().begin.line << ": " << e.description();
    throw InvalidArgument(os.str());
  }
  for (auto const& [key, node] : t)
    require(key.str() == "observation", path, ": unknown key '", key.str(),
            "'; the file holds [[observation]] tables (channel, x, value, noise_std)");
  auto const* list = t["observation"].as_array();
  require(list && !list->empty(), path, ": no [[observation]] tables (each with channel, x, value, noise_std)");
  std::vector<posterior::Observation> out;
  for (std::size_t j = 0; j < list->size(); ++j) {
    std::string const where = path + ", observation " + std::to_string(j);
    auto const* row = list->get(j)->as_table();
    require(row != nullptr, where, ": expected a table with channel, x, value, noise_std");
    for (auto const& [key, node] : *row)
      require(key.str() == "channel" || key.str() == "x" || key.str() == "value" || key.str() == "noise_std", where,
              ": unknown key '", key.str(), "'; expected channel, x, value, noise_std");
    auto number = [&](char const* name) {
      auto const v = (*row)[name].value<double>();
      require(v.has_value(), where, ": ", name, " is missing or not a number");
      return *v;
    };
    posterior::Observation o;
    if (auto const name = (*row)["channel"].value<std::string>())
      o.channel = posterior::channel_index(*name, channels, where);
    else if (auto const index = (*row)["channel"].value<std::int64_t>())
      o.channel = posterior::channel_index(std::to_string(*index), channels, where);
    else
      throw InvalidArgument(where + ": channel is missing (a name or an index)");
    o.x = number("x");
    o.value = number("value");
    o.noise_std = number("noise_std");
    require(std::isfinite(o.value) && std::isfinite(o.x), where, ": position and value must be finite");
    require(std::isfinite(o.noise_std) && o.noise_std > 0, where, ": noise_std = ", o.noise_std,
            " must be finite and > 0");
    out.push_back(o);
  }
  return out;
}

}  // namespace cli
}  // namespace psgm

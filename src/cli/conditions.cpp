// Conditions listed by a command's configuration (Command.hpp): shared by
// psgm generate and psgm sample.
#include "Command.hpp"

#include <psgm/core/Error.hpp>
#include <psgm/io/Dataset.hpp>
#include <psgm/pde/Conditions.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

namespace psgm {
namespace cli {

std::vector<pde::Condition> listed_conditions(Config const& cfg, std::string const& source) {
  if (source == "list") {
    require(cfg.has("conditions.list"), "configuration: conditions.source = 'list' needs conditions.list, "
            "e.g. [[1e-5, 0.0, 25.0]]");
    auto conditions = pde::conditions_from_rows(cfg.get_double_rows("conditions.list"), "conditions.list");
    require(!conditions.empty(), "configuration: conditions.list is empty; expected [[l, U0, F_right], ...]");
    return conditions;
  }
  require(source == "file", "listed_conditions: conditions.source = '", source, "' is neither 'list' nor 'file'");
  require(cfg.has("conditions.file"), "configuration: conditions.source = 'file' needs conditions.file "
          "(CSV 'l,U0,F_right' or HDF5)");
  std::string const file = cfg.get<std::string>("conditions.file");
  if (configuration_check_only() && !std::filesystem::exists(file)) {
    cfg.get_or<std::string>("conditions.dataset", "/conditions");  // a known key
    return {pde::Condition{1e-5, 0.0, 25.0}};
  }
  std::string ext = std::filesystem::path(file).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".csv" || ext == ".txt") return pde::read_conditions_csv(file);
  return io::read_conditions_hdf5(file, cfg.get_or<std::string>("conditions.dataset", "/conditions"));
}

namespace {

std::string column_list(model::ConditionSchema const& schema) {
  std::string out;
  for (auto const& n : schema.names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string trimmed(std::string const& s) {
  auto const b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r") + 1 - b);
}

bool parse_double(std::string const& text, double& value) {
  std::string const t = trimmed(text);
  if (t.empty()) return false;
  char* end = nullptr;
  value = std::strtod(t.c_str(), &end);
  return end == t.c_str() + t.size();
}

void check_row(model::ConditionSchema const& schema, double const* row, std::string const& where) {
  try {
    schema.transform(row);
  } catch (InvalidArgument const& e) {
    throw InvalidArgument(where + ": " + e.what());
  }
}

// CSV lines of K comma-separated numbers; '#' comments; an optional header
// line naming the columns.
std::vector<double> read_condition_table_csv(std::string const& path, model::ConditionSchema const& schema) {
  std::ifstream in(path);
  require<IoError>(static_cast<bool>(in), "conditions file '", path, "' cannot be opened (missing or unreadable)");
  std::size_t const K = static_cast<std::size_t>(schema.size());
  std::vector<double> table;
  std::string line;
  int line_no = 0;
  bool first_content = true;
  while (std::getline(in, line)) {
    ++line_no;
    std::string const t = trimmed(line);
    if (t.empty() || t[0] == '#') continue;
    std::vector<std::string> fields;
    std::stringstream ss(t);
    std::string field;
    while (std::getline(ss, field, ',')) fields.push_back(trimmed(field));
    double v = 0;
    std::string const where = "conditions file '" + path + "', line " + std::to_string(line_no);
    if (first_content && !fields.empty() && !parse_double(fields[0], v)) {
      first_content = false;
      require(fields == schema.names, where, ": the header '", t, "' does not name the model's columns (",
              column_list(schema), ")");
      continue;
    }
    first_content = false;
    require(fields.size() == K, where, ": found ", fields.size(), " comma-separated values in '", t, "'; expected ",
            K, " (", column_list(schema), ")");
    std::size_t const first = table.size();
    for (auto const& f : fields) {
      require(parse_double(f, v), where, ": '", f, "' is not a number");
      table.push_back(v);
    }
    check_row(schema, table.data() + first, where);
  }
  require(!table.empty(), "conditions file '", path, "' holds no conditions; expected lines '", column_list(schema),
          "'");
  return table;
}

}  // namespace

std::vector<double> listed_condition_table(Config const& cfg, std::string const& source,
                                           model::ConditionSchema const& schema) {
  if (schema == model::ConditionSchema::porous_electrode()) {
    std::vector<double> table;
    for (auto const& c : listed_conditions(cfg, source)) table.insert(table.end(), {c.l, c.U0, c.F_right});
    return table;
  }
  std::size_t const K = static_cast<std::size_t>(schema.size());
  if (source == "list") {
    require(cfg.has("conditions.list"), "configuration: conditions.source = 'list' needs conditions.list, rows of ",
            K, " values (", column_list(schema), ")");
    std::vector<double> table;
    auto const rows = cfg.get_double_rows("conditions.list");
    for (std::size_t m = 0; m < rows.size(); ++m) {
      std::string const where = "conditions.list row " + std::to_string(m);
      require(rows[m].size() == K, where, " has ", rows[m].size(), " values; expected ", K, " (",
              column_list(schema), ")");
      table.insert(table.end(), rows[m].begin(), rows[m].end());
      check_row(schema, table.data() + m * K, where);
    }
    require(!table.empty(), "configuration: conditions.list is empty; expected rows of ", K, " values (",
            column_list(schema), ")");
    return table;
  }
  require(source == "file", "listed_condition_table: conditions.source = '", source,
          "' is neither 'list' nor 'file'");
  require(cfg.has("conditions.file"), "configuration: conditions.source = 'file' needs conditions.file (CSV '",
          column_list(schema), "' or HDF5)");
  std::string const file = cfg.get<std::string>("conditions.file");
  std::string ext = std::filesystem::path(file).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".csv" || ext == ".txt") return read_condition_table_csv(file, schema);
  return io::read_condition_table_hdf5(file, schema, cfg.get_or<std::string>("conditions.dataset", "/conditions"));
}

bool& configuration_check_only() {
  static bool check_only = false;
  return check_only;
}

void require_condition_keys_match(Config const& cfg, std::string const& source) {
  for (auto const& [key, reader] : {std::pair<char const*, char const*>{"conditions.list", "list"},
                                    {"conditions.file", "file"},
                                    {"conditions.dataset", "file"}})
    require(!cfg.has(key) || source == reader, "configuration: ", key, " is set, but conditions.source = '", source,
            "' does not use it (set conditions.source = '", reader, "')");
}

}  // namespace cli
}  // namespace psgm

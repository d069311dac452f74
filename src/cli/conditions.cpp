// Conditions listed by a command's configuration (Command.hpp): shared by
// psgm generate and psgm sample.
#include "Command.hpp"

#include <psgm/core/Error.hpp>
#include <psgm/io/Dataset.hpp>
#include <psgm/pde/Conditions.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
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

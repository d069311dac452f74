// Small helpers shared by the benchmarks in perf/.
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace psgm_bench {

/// "1,64,500" -> {1, 64, 500} (command-line lists of sizes).
inline std::vector<int> parse_list(std::string const& s) {
  std::vector<int> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::stoi(item));
  return out;
}

}  // namespace psgm_bench

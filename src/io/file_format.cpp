// psgm::io::file_format and find_partial_files (psgm/io/FileFormat.hpp).
#include <psgm/io/FileFormat.hpp>

#include "Hdf5.hpp"

#include <algorithm>
#include <filesystem>

namespace psgm::io {

std::string file_format(std::string const& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return "";
  Impl::ErrorSilencer quiet;
  if (H5Fis_hdf5(path.c_str()) <= 0) return "";
  Impl::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!file.valid()) return "";
  try {
    auto const a = Impl::read_attributes(file, "'" + path + "'");
    return a.contains("format") ? a.get_string("format") : std::string();
  } catch (Error const&) {
    return "";
  }
}

std::vector<std::string> find_partial_files(std::string const& directory) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
    std::string const name = it->path().filename().string();
    if (name.size() < 2 || name[0] != '.') continue;
    if (name.find(".partial-") == std::string::npos && name.find(".tmp-") == std::string::npos) continue;
    if (!it->is_regular_file(ec)) continue;
    out.push_back(it->path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace psgm::io

// What every psgm test includes.
//
// PSGM_BACKEND_TEST_CASE("name", "[tags]") { ... } declares a test body once;
// it is instantiated for every enabled execution space, available inside the
// body as `ExecSpace` (and `MemSpace` for its memory space). CTest reports each
// instance separately ("<module>/name - Kokkos::OpenMP").
#pragma once

#include <psgm_test/TestSpaces.hpp>

#include "psgm_test_paths.hpp"

#include <catch2/catch.hpp>

#include <Kokkos_Core.hpp>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <string>

#define PSGM_BACKEND_TEST_CASE(name, tags)                                      \
  TEMPLATE_TEST_CASE(name, tags, PSGM_TEST_EXECUTION_SPACES)

namespace psgm_test {

/// A fresh scratch directory for one test's files, under the build tree.
inline std::filesystem::path scratch_dir(std::string const& test_name) {
  char const* env = std::getenv("PSGM_TEST_TMPDIR");
  std::filesystem::path root = env ? env : (std::filesystem::temp_directory_path() / "psgm-tests");
  std::string clean = test_name;
  for (char& c : clean)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) c = '_';
  auto dir = root / clean;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

/// Path of a file in the source tree (e.g. "tests/data/foo.h5").
inline std::filesystem::path source_path(std::string const& relative) {
  return std::filesystem::path(source_dir()) / relative;
}

}  // namespace psgm_test

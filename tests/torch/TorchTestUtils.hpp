// Helpers of the LibTorch tests: raw arrays for the Python side, running
// tests/torch/torch_reference.py, random inputs.
#pragma once

#include <psgm/core/Random.hpp>
#include <psgm_test_paths.hpp>

#include <catch2/catch.hpp>

#include <Kokkos_Core.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace psgm_test {

template <class T>
void write_raw(std::string const& path, T const* data, std::size_t n) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<char const*>(data), static_cast<std::streamsize>(n * sizeof(T)));
  REQUIRE(out.good());
}

template <class T>
std::vector<T> read_raw(std::string const& path, std::size_t n) {
  std::vector<T> v(n);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(T)));
  REQUIRE(in.gcount() == static_cast<std::streamsize>(n * sizeof(T)));
  return v;
}

#ifdef PSGM_TEST_PYTHON
/// Runs tests/torch/torch_reference.py with `args`; fails the test on a non-zero exit.
inline void run_python_reference(std::string const& args) {
  std::string const cmd = std::string("PYTHONPATH='") + psgm_test::source_dir() + "/python' '" + PSGM_TEST_PYTHON +
                          "' '" + psgm_test::source_dir() + "/tests/torch/torch_reference.py' " + args;
  INFO("running: " << cmd);
  REQUIRE(std::system(cmd.c_str()) == 0);
}
/// Runs python/psgm/convert.py with `args`.
inline void run_converter(std::string const& args) {
  std::string const cmd = std::string("'") + PSGM_TEST_PYTHON + "' '" + psgm_test::source_dir() + "/python/psgm/convert.py' " + args;
  INFO("running: " << cmd);
  REQUIRE(std::system(cmd.c_str()) == 0);
}
#endif

/// Uniform values in [lo, hi) from (seed, item).
template <class T>
void fill_uniform(T* data, std::size_t n, std::uint64_t seed, double lo, double hi) {
  auto g = psgm::random::make_generator<Kokkos::DefaultHostExecutionSpace>(seed, 123, 0);
  for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<T>(lo + (hi - lo) * g.drand());
}
template <class T>
void fill_normal(T* data, std::size_t n, std::uint64_t seed) {
  auto g = psgm::random::make_generator<Kokkos::DefaultHostExecutionSpace>(seed, 124, 0);
  for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<T>(g.normal());
}

}  // namespace psgm_test

// Shared by the workflow tests.
#pragma once

#include <ProfilingRecorder.hpp>

#include <cstring>
#include <string>
#include <vector>

namespace psgm_test {

/// Kernels labelled neither psgm:: nor by Kokkos or KokkosKernels (the
/// porosity sampler's KokkosBlas::gemm carries KokkosKernels' own label).
inline std::vector<std::string> foreign_kernels(ProfilingRecorder const& recorder) {
  std::vector<std::string> foreign;
  for (auto const& k : recorder.unlabelled_kernels())
    if (k.rfind("KokkosBlas", 0) != 0) foreign.push_back(k);
  return foreign;
}

/// Same length and the same bits (NaN payloads and signed zeros included).
inline bool bitwise_equal(std::vector<double> const& a, std::vector<double> const& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

}  // namespace psgm_test

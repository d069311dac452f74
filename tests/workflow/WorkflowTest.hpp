// Shared by the workflow tests.
#pragma once

#include <ProfilingRecorder.hpp>

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

}  // namespace psgm_test

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

/// One team launch with generous scratch before recording: Kokkos allocates
/// (and grows) its per-thread team scratch (unlabelled on OpenMP,
/// "Kokkos::Serial::scratch_mem" on Serial) on the first launch of the
/// process that needs it, which would otherwise be inside the recording
/// (tests/gp does the same).
template <class ExecSpace>
void warm_up_team_scratch(ExecSpace const& space) {
  Kokkos::parallel_for(
      "psgm::test::warm_up_teams",
      Kokkos::TeamPolicy<ExecSpace>(space, 1, Kokkos::AUTO)
          .set_scratch_size(0, Kokkos::PerTeam(1 << 17), Kokkos::PerThread(1 << 14)),
      KOKKOS_LAMBDA(typename Kokkos::TeamPolicy<ExecSpace>::member_type const&) {});
  space.fence();
}

}  // namespace psgm_test

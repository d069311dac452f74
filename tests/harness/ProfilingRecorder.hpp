// Records what Kokkos Tools would see while it is alive: profiling regions,
// kernel launches and View allocations, by label. Tests use it to check that
// public entry points open a region and that every kernel and View psgm
// creates carries a "psgm::" label.
#pragma once

#include <psgm/core/ExecutionSpaces.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace psgm_test {

class ProfilingRecorder {
 public:
  ProfilingRecorder() {
    instance() = this;
    namespace KT = Kokkos::Tools::Experimental;
    KT::set_push_region_callback([](char const* name) { instance()->regions.emplace_back(name); });
    KT::set_pop_region_callback([]() {});
    KT::set_begin_parallel_for_callback(
        [](char const* name, uint32_t, uint64_t* id) { *id = 0; instance()->kernels.emplace_back(name); });
    KT::set_end_parallel_for_callback([](uint64_t) {});
    KT::set_begin_parallel_reduce_callback(
        [](char const* name, uint32_t, uint64_t* id) { *id = 0; instance()->kernels.emplace_back(name); });
    KT::set_end_parallel_reduce_callback([](uint64_t) {});
    KT::set_begin_parallel_scan_callback(
        [](char const* name, uint32_t, uint64_t* id) { *id = 0; instance()->kernels.emplace_back(name); });
    KT::set_end_parallel_scan_callback([](uint64_t) {});
    KT::set_allocate_data_callback([](Kokkos::Profiling::SpaceHandle, char const* label, void const*, uint64_t) {
      instance()->allocations.emplace_back(label);
    });
    KT::set_deallocate_data_callback([](Kokkos::Profiling::SpaceHandle, char const*, void const*, uint64_t) {});
  }
  ~ProfilingRecorder() {
    namespace KT = Kokkos::Tools::Experimental;
    KT::set_push_region_callback(nullptr);
    KT::set_pop_region_callback(nullptr);
    KT::set_begin_parallel_for_callback(nullptr);
    KT::set_end_parallel_for_callback(nullptr);
    KT::set_begin_parallel_reduce_callback(nullptr);
    KT::set_end_parallel_reduce_callback(nullptr);
    KT::set_begin_parallel_scan_callback(nullptr);
    KT::set_end_parallel_scan_callback(nullptr);
    KT::set_allocate_data_callback(nullptr);
    KT::set_deallocate_data_callback(nullptr);
    instance() = nullptr;
  }
  ProfilingRecorder(ProfilingRecorder const&) = delete;
  ProfilingRecorder& operator=(ProfilingRecorder const&) = delete;

  bool has_region(std::string const& name) const {
    return std::find(regions.begin(), regions.end(), name) != regions.end();
  }
  /// Kernel names that do not start with `prefix` (Kokkos' own internal
  /// kernels, e.g. View initialisation "Kokkos::View::initialization [...]",
  /// are labelled after the View and checked through it).
  std::vector<std::string> unlabelled_kernels(std::string const& prefix = "psgm::") const {
    std::vector<std::string> out;
    for (auto const& k : kernels)
      if (k.rfind(prefix, 0) != 0 && k.rfind("Kokkos::", 0) != 0) out.push_back(k);
    return out;
  }
  std::vector<std::string> unlabelled_allocations(std::string const& prefix = "psgm::") const {
    std::vector<std::string> out;
    for (auto const& a : allocations)
      if (a.rfind(prefix, 0) != 0) out.push_back(a);
    return out;
  }

  std::vector<std::string> regions, kernels, allocations;

 private:
  static ProfilingRecorder*& instance() {
    static ProfilingRecorder* p = nullptr;
    return p;
  }
};

/// One team launch with generous scratch before recording: Kokkos allocates
/// (and grows) its per-thread team scratch (unlabelled on OpenMP,
/// "Kokkos::Serial::scratch_mem" on Serial) on the first launch of the
/// process that needs it, which would otherwise be inside the recording
/// (the gp and workflow tests use it).
template <class ExecSpace>
void warm_up_team_scratch(ExecSpace const& space) {
  // Host spaces size one scratch pool per thread on the first launch that
  // needs more: ask for more than any psgm or KokkosBlas kernel does. On GPUs
  // level-0 scratch is shared memory (48 KiB a block by default, nothing is
  // allocated; Kokkos throws above it): the first team launch allocates only
  // the zero-sized level-1 pool.
  auto policy = Kokkos::TeamPolicy<ExecSpace>(space, 1, Kokkos::AUTO);
  if constexpr (psgm::is_host_accessible_v<typename ExecSpace::memory_space>)
    policy.set_scratch_size(0, Kokkos::PerTeam(1 << 17), Kokkos::PerThread(1 << 14));
  else
    policy.set_scratch_size(0, Kokkos::PerTeam(1 << 14));
  Kokkos::parallel_for("psgm::test::warm_up_teams", policy,
                       KOKKOS_LAMBDA(typename Kokkos::TeamPolicy<ExecSpace>::member_type const&) {});
  space.fence();
}

}  // namespace psgm_test

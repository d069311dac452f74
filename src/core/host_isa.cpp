// The CPU probe behind psgm's instruction-set dispatch (psgm/core/impl/HostIsa.hpp).
#include <psgm/core/impl/HostIsa.hpp>

namespace psgm::Impl {

namespace {

HostIsa detect() {
#if PSGM_HOST_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw"))
    return HostIsa::avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return HostIsa::avx2;
#endif
  return HostIsa::baseline;
}

}  // namespace

HostIsa host_isa() {
  static HostIsa const chosen = detect();
  return chosen;
}

}  // namespace psgm::Impl

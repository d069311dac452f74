// The CPU probe behind psgm's instruction-set dispatch (psgm/core/impl/HostIsa.hpp).
#include <psgm/core/impl/HostIsa.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

namespace psgm::Impl {

namespace {

HostIsa probe() {
#if PSGM_HOST_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw"))
    return HostIsa::avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return HostIsa::avx2;
#endif
  return HostIsa::baseline;
}

char const* name(HostIsa isa) {
  return isa == HostIsa::avx512 ? "avx512" : isa == HostIsa::avx2 ? "avx2" : "baseline";
}

/// The CPU's best, or a lower one the environment asks for: PSGM_HOST_ISA =
/// baseline, avx2 or avx512 (to compare the variants' results, to reproduce
/// another machine's, and for tests/score/kernel_sweep.cpp). A variant the
/// CPU lacks is not chosen; an unknown name is reported and ignored.
HostIsa detect() {
  HostIsa const best = probe();
  char const* env = std::getenv("PSGM_HOST_ISA");
  if (env == nullptr || *env == '\0') return best;
  for (HostIsa isa : {HostIsa::baseline, HostIsa::avx2, HostIsa::avx512})
    if (std::strcmp(env, name(isa)) == 0) return isa < best ? isa : best;
  std::fprintf(stderr, "psgm: PSGM_HOST_ISA='%s' is not one of baseline, avx2, avx512; using %s\n", env, name(best));
  return best;
}

}  // namespace

HostIsa host_isa() {
  static HostIsa const chosen = detect();
  return chosen;
}

}  // namespace psgm::Impl

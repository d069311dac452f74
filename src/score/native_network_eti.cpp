// Explicit instantiation of the native backend's engine (the kernels) for
// float and double on every enabled execution space (docs/design.md §2, ETI).
#include <psgm/score/impl/NativeNetwork_Impl.hpp>

namespace psgm {
namespace score {

char const* to_string(NativeKernels k) {
  switch (k) {
    case NativeKernels::automatic: return "automatic";
    case NativeKernels::portable: return "portable";
    case NativeKernels::host_tiles: return "host_tiles";
  }
  return "unknown";
}

}  // namespace score
}  // namespace psgm

#define PSGM_SCORE_NATIVE_NETWORK_ETI(Space)                          \
  template class psgm::score::Impl::NativeNetwork<Space, float>; \
  template class psgm::score::Impl::NativeNetwork<Space, double>;
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_SCORE_NATIVE_NETWORK_ETI)
#undef PSGM_SCORE_NATIVE_NETWORK_ETI

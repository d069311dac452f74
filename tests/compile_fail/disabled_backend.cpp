// Compile-fail test (see tests/CMakeLists.txt): instantiating a score model on
// a backend that this psgm was built without must fail with a static_assert
// naming the CMake option. With PSGM_COMPILE_FAIL_CONTROL the same code uses
// the always-available native backend and must compile.
#include <psgm/score/Backend.hpp>

#ifdef PSGM_COMPILE_FAIL_CONTROL
using Backend = psgm::score::Native<Kokkos::DefaultHostExecutionSpace>;
static_assert(psgm::score::is_backend_enabled_v<Backend>);
#else
using Backend = psgm::score::LibTorch;
#endif

// Instantiating the backend requirement is what every ScoreModel, sampler and
// trainer does for its backend.
template struct psgm::score::Impl::RequireBackend<Backend>;

int psgm_compile_fail_probe() { return psgm::score::is_backend_enabled_v<Backend> ? 1 : 0; }

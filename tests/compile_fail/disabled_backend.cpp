// Compile-fail test (see tests/CMakeLists.txt): instantiating a score model on
// a backend that this psgm was built without must fail with a static_assert
// naming the CMake option. With PSGM_COMPILE_FAIL_CONTROL the same code uses
// the always-available native backend and must compile, so the failure
// cannot come from anything but the disabled backend.
#include <psgm/score/Backend.hpp>
#include <psgm/score/NativeScoreModel.hpp>

#ifdef PSGM_COMPILE_FAIL_CONTROL
using Backend = psgm::score::Native<Kokkos::DefaultHostExecutionSpace>;
static_assert(psgm::score::is_backend_enabled_v<Backend>);
#else
using Backend = psgm::score::LibTorch;
#endif

// What every sampler and trainer does with its backend: instantiate the
// ScoreModel (a complete type only for a compiled-in backend).
using Model = psgm::score::ScoreModel<Backend, float>;
static_assert(sizeof(Model) > 0, "the score model of an enabled backend is a complete type");
static_assert(std::is_same_v<typename Model::scalar_type, float>);

int psgm_compile_fail_probe() { return psgm::score::is_backend_enabled_v<Backend> ? 1 : 0; }

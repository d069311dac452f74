// The compile-time score-backend policy: traits report what is compiled in.
// (That a disabled backend fails to compile is the "build: disabled backend"
// test in tests/CMakeLists.txt.)
#include <psgm/Config.hpp>
#include <psgm/score/Backend.hpp>

#include <psgm_test.hpp>

PSGM_BACKEND_TEST_CASE("the native backend is available on every execution space", "[core][policy]") {
  using Backend = psgm::score::Native<TestType>;
  STATIC_REQUIRE(psgm::score::is_backend_v<Backend>);
  STATIC_REQUIRE(psgm::score::is_backend_enabled_v<Backend>);
  STATIC_REQUIRE(std::is_same_v<typename Backend::execution_space, TestType>);
}

TEST_CASE("the LibTorch backend is enabled exactly when PSGM_ENABLE_TORCH is", "[core][policy]") {
  STATIC_REQUIRE(psgm::score::is_backend_v<psgm::score::LibTorch>);
  STATIC_REQUIRE(psgm::score::is_backend_enabled_v<psgm::score::LibTorch> == bool(PSGM_ENABLE_TORCH));
  STATIC_REQUIRE_FALSE(psgm::score::is_backend_v<int>);
}

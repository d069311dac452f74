// The Kokkos compatibility layer: math functions evaluated on each backend
// against the C++ standard library on the host; profiling regions reach
// Kokkos Tools; errors carry their message.
#include <psgm/core/Error.hpp>
#include <psgm/core/ExecutionSpaces.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/core/Runtime.hpp>

#include <ProfilingRecorder.hpp>
#include <psgm_test.hpp>

#include <cmath>

PSGM_BACKEND_TEST_CASE("math functions agree with the standard library", "[core][compat]") {
  using ExecSpace = TestType;
  ExecSpace space;
  int const n = 257;
  Kokkos::View<double* [9], typename ExecSpace::memory_space> out(Kokkos::view_alloc(space, "psgm::test::out"), n);
  Kokkos::parallel_for(
      "psgm::test::math", Kokkos::RangePolicy<ExecSpace>(space, 0, n), KOKKOS_LAMBDA(int i) {
        double const x = -40.0 + 80.0 * i / (n - 1);
        out(i, 0) = psgm::math::exp(x / 8);
        out(i, 1) = psgm::math::log(1.0 + x * x);
        out(i, 2) = psgm::math::tanh(x / 4);
        out(i, 3) = psgm::math::erf(x / 10);
        out(i, 4) = psgm::math::sigmoid(x);
        out(i, 5) = psgm::math::silu(x / 4);
        out(i, 6) = psgm::math::normal_cdf(x / 10);
        out(i, 7) = psgm::math::sin(x) * psgm::math::cos(x);
        out(i, 8) = psgm::math::isfinite(x / (x - x + 1)) ? 1.0 : 0.0;
      });
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, out);
  for (int i = 0; i < n; ++i) {
    double const x = -40.0 + 80.0 * i / (n - 1);
    CHECK(h(i, 0) == Approx(std::exp(x / 8)).epsilon(1e-14));
    CHECK(h(i, 1) == Approx(std::log(1.0 + x * x)).epsilon(1e-14));
    CHECK(h(i, 2) == Approx(std::tanh(x / 4)).epsilon(1e-14).margin(1e-15));
    CHECK(h(i, 3) == Approx(std::erf(x / 10)).epsilon(1e-14).margin(1e-15));
    CHECK(h(i, 4) == Approx(1.0 / (1.0 + std::exp(-x))).epsilon(1e-14).margin(1e-300));
    CHECK(h(i, 5) == Approx(x / 4 / (1.0 + std::exp(-x / 4))).epsilon(1e-14).margin(1e-15));
    CHECK(h(i, 6) == Approx(0.5 * std::erfc(-x / 10 / std::sqrt(2.0))).epsilon(1e-14).margin(1e-300));
    CHECK(h(i, 7) == Approx(std::sin(x) * std::cos(x)).epsilon(1e-13).margin(1e-15));
    CHECK(h(i, 8) == 1.0);
  }
}

PSGM_BACKEND_TEST_CASE("sigmoid neither overflows nor loses its tails", "[core][compat]") {
  using ExecSpace = TestType;
  ExecSpace space;
  Kokkos::View<double[4], typename ExecSpace::memory_space> out(Kokkos::view_alloc(space, "psgm::test::out"));
  Kokkos::parallel_for(
      "psgm::test::sigmoid", Kokkos::RangePolicy<ExecSpace>(space, 0, 1), KOKKOS_LAMBDA(int) {
        out(0) = psgm::math::sigmoid(-800.0);
        out(1) = psgm::math::sigmoid(800.0);
        out(2) = psgm::math::sigmoid(-30.0);
        out(3) = psgm::math::sigmoid(0.0);
      });
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, out);
  CHECK(h(0) == 0.0);
  CHECK(h(1) == 1.0);
  CHECK(h(2) == Approx(std::exp(-30.0) / (1 + std::exp(-30.0))).epsilon(1e-14));
  CHECK(h(3) == 0.5);
}

TEST_CASE("profiling regions reach Kokkos Tools", "[core][compat]") {
  psgm_test::ProfilingRecorder recorder;
  {
    psgm::ScopedRegion region("psgm::test::region");
  }
  CHECK(recorder.has_region("psgm::test::region"));
}

TEST_CASE("require() throws the requested type with the whole message", "[core][errors]") {
  double l = -1.0;
  try {
    psgm::require(l > 0, "correlation length l = ", l, " must be > 0");
    FAIL("no exception");
  } catch (psgm::InvalidArgument const& e) {
    CHECK(std::string(e.what()) == "correlation length l = -1 must be > 0");
  }
  CHECK_THROWS_AS(psgm::require<psgm::IoError>(false, "x"), psgm::IoError);
  CHECK_NOTHROW(psgm::require(true, "never"));
}

TEST_CASE("build info names the version and every execution space", "[core]") {
  std::string const info = psgm::build_info();
  CHECK(info.find(psgm::version()) != std::string::npos);
#define PSGM_IMPL_CHECK(Space) CHECK(info.find(Space::name()) != std::string::npos);
  PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_IMPL_CHECK)
#undef PSGM_IMPL_CHECK
}

// Built by cmake/PsgmBuildInstalledProject.cmake against the installed psgm package.
// Exercises the public API through the umbrella header on the default
// execution space and exits non-zero if anything is off.
#include <psgm/psgm.hpp>

#include <cstdio>

int main() {
  psgm::ScopeGuard guard;
  using Space = Kokkos::DefaultExecutionSpace;
  Space space;
  int n = 1000;
  Kokkos::View<double*, Space::memory_space> x(Kokkos::view_alloc(space, "consumer::x"), n);
  Kokkos::parallel_for(
      "consumer::fill", Kokkos::RangePolicy<Space>(space, 0, n),
      KOKKOS_LAMBDA(int i) { x(i) = psgm::math::sigmoid(double(i - n / 2) / 100.0); });
  double sum = 0;
  Kokkos::parallel_reduce(
      "consumer::sum", Kokkos::RangePolicy<Space>(space, 0, n),
      KOKKOS_LAMBDA(int i, double& s) { s += x(i); }, sum);
  // sigmoid is odd about 1/2, so the symmetric sum is n/2 up to the one unpaired point.
  bool ok = sum > 0.49 * n && sum < 0.51 * n;
  std::printf("%s\nconsumer: sum = %.6f (%s)\n", psgm::build_info().c_str(), sum, ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}

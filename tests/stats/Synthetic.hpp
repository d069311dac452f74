// Synthetic ensembles with known distributions for the metrics tests.
//
// Every field is μ(x) + s(x) (shift + scale · u(x)), where u is a smooth
// Gaussian random field with u(x) ~ N(0, 1) at every point:
//   u(x) = (Σ_{k=0}^{3} z_k cos(π k x) / (1 + k) + 0.05 e(x)) / sqrt(Σ_k cos²(π k x)/(1 + k)² + 0.05²),
// z_k, e(x) independent N(0, 1). Channel 0 mimics c (μ ≈ 998.5, s ≈ 5,
// last cell pinned to 1000 exactly, as the Dirichlet condition does), channel 1
// mimics φ (μ ≈ 2e-3, s ≈ 3e-3, first cell exactly 0, as the shift does).
// So a shift δ gives a mean error of exactly δ and a scale a a spread error of
// |a - 1| (in expectation), and a band of the model covers PDE values with
// probability 2Φ(1.96/a) - 1.
#pragma once

#include <psgm/core/Random.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>
#include <cstdint>

namespace psgm_test {

using HostFields = Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace>;

struct SyntheticSpec {
  double shift = 0.0;  ///< mean offset in units of s(x)
  double scale = 1.0;  ///< spread factor
  bool pin = true;     ///< pin c's last cell to 1000 and φ's first to 0
};

inline double synthetic_mean(int channel, double x) { return channel == 0 ? 998.5 - 1.5 * x * x : 2e-3 + 1e-3 * x; }
inline double synthetic_spread(int channel, double x) { return channel == 0 ? 5.0 * (1.2 - x) : 3e-3 * (0.5 + x); }

/// n fields on N points, drawn with `seed` (a test-only stream).
inline HostFields synthetic_ensemble(int n, int N, std::uint64_t seed, SyntheticSpec const& spec = {}) {
  HostFields f("psgm::test::synthetic", n, 2, N);
  double const pi = 3.14159265358979323846;
  for (int s = 0; s < n; ++s) {
    auto gen = psgm::random::make_generator<Kokkos::DefaultHostExecutionSpace>(seed, 1000, s);
    for (int ch = 0; ch < 2; ++ch) {
      double z[4];
      for (double& v : z) v = gen.normal();
      for (int i = 0; i < N; ++i) {
        double const x = (i + 0.5) / N;
        double g = 0.0, var = 0.05 * 0.05;
        for (int k = 0; k < 4; ++k) {
          double const b = std::cos(pi * k * x) / (1.0 + k);
          g += z[k] * b;
          var += b * b;
        }
        g += 0.05 * gen.normal();
        double const u = g / std::sqrt(var);
        f(s, ch, i) = synthetic_mean(ch, x) + synthetic_spread(ch, x) * (spec.shift + spec.scale * u);
      }
    }
    if (spec.pin) {
      f(s, 0, N - 1) = 1000.0;
      f(s, 1, 0) = 0.0;
    }
  }
  return f;
}

/// A copy of host fields in the memory space of ExecSpace.
template <class ExecSpace>
Kokkos::View<double***, Kokkos::LayoutRight, typename ExecSpace::memory_space> to_space(ExecSpace const& space,
                                                                                        HostFields const& h) {
  Kokkos::View<double***, Kokkos::LayoutRight, typename ExecSpace::memory_space> d(
      Kokkos::view_alloc(space, "psgm::test::fields"), h.extent(0), h.extent(1), h.extent(2));
  Kokkos::deep_copy(space, d, h);
  space.fence();
  return d;
}

}  // namespace psgm_test

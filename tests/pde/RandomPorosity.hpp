// Porosity fields for the solver tests: B rows of N values uniform in
// [0.2, 0.5], reproducible from the seed.
#pragma once

#include <random>
#include <vector>

namespace psgm_test {

inline std::vector<std::vector<double>> random_porosity(int B, int N, unsigned seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(0.2, 0.5);
  std::vector<std::vector<double>> eps(B, std::vector<double>(N));
  for (auto& row : eps)
    for (auto& e : row) e = u(gen);
  return eps;
}

}  // namespace psgm_test

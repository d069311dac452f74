// Test helpers shared by tests/score and tests/torch: a small synthetic data
// set with a learnable, condition-dependent distribution, written through
// psgm::io::DatasetWriter, and small model descriptions.
#pragma once

#include <psgm/core/Random.hpp>
#include <psgm/io/Dataset.hpp>
#include <psgm/model/ModelDescription.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace psgm_test {

/// M conditions × R realisations on N points. Sample (k, r):
///   c(x) = 1000 (1 + 0.3 U0 x + 0.1 ξ1 cos(πx) + 0.02 ξ2),
///   φ(x) = 1e-3 F_right x² + 0.05 ξ3 sin(πx),   x = (i + ½)/N,
/// with ξ ~ N(0, 1) from (seed, item). Every `bad_every`-th sample (if > 0)
/// is stored with status depleted and NaN fields, to check they are skipped.
struct SyntheticData {
  int N = 16;
  int M = 8;
  int R = 16;
  std::uint64_t seed = 11;
  int bad_every = 0;

  std::vector<psgm::pde::Condition> conditions() const {
    std::vector<psgm::pde::Condition> c;
    for (int k = 0; k < M; ++k)
      c.push_back({2e-6 * (1 + k), -0.2 + 0.4 * k / std::max(1, M - 1), 50.0 * ((k * 5) % M) / M});
    return c;
  }
  std::int64_t size() const { return std::int64_t(M) * R; }

  void write(std::string const& path) const {
    std::vector<double> x;
    for (int i = 0; i < N; ++i) x.push_back((i + 0.5) * 1e-4 / N);
    auto const conds = conditions();
    psgm::io::AttributeMap attrs;
    attrs.set("seed", std::int64_t(seed));
    attrs.set("N", N);
    psgm::io::DatasetWriterOptions options;
    options.overwrite = true;
    options.store_porosity = false;
    psgm::io::DatasetWriter w(path, x, conds, attrs, options);
    std::int64_t const n = size();
    Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace> f("psgm::test::fields", n, 2, N);
    Kokkos::View<std::int64_t*, Kokkos::HostSpace> idx("psgm::test::index", n);
    Kokkos::View<psgm::SolveStatus*, Kokkos::HostSpace> st("psgm::test::status", n);
    for (std::int64_t s = 0; s < n; ++s) {
      int const k = static_cast<int>(s % M);  // conditions interleaved in the file
      auto g = psgm::random::make_generator<Kokkos::DefaultHostExecutionSpace>(seed, 99, std::uint64_t(s));
      double const xi1 = g.normal(), xi2 = g.normal(), xi3 = g.normal();
      bool const bad = bad_every > 0 && s % bad_every == bad_every - 1;
      for (int i = 0; i < N; ++i) {
        double const xx = (i + 0.5) / N;
        f(s, 0, i) = bad ? std::nan("") : 1000.0 * (1 + 0.3 * conds[k].U0 * xx + 0.1 * xi1 * std::cos(M_PI * xx) + 0.02 * xi2);
        f(s, 1, i) = bad ? std::nan("") : 1e-3 * conds[k].F_right * xx * xx + 0.05 * xi3 * std::sin(M_PI * xx);
      }
      idx(s) = k;
      st(s) = bad ? psgm::SolveStatus::depleted : psgm::SolveStatus::ok;
    }
    w.append(f, idx, st);
    w.commit();
  }
};

/// A small architecture for fast tests (every feature of the reference kept).
inline psgm::model::FilmCnnConfig tiny_architecture(int num_points = 16) {
  psgm::model::FilmCnnConfig a;
  a.num_points = num_points;
  a.width = 8;
  a.num_blocks = 2;
  a.kernel_size = 3;
  a.num_frequencies = 4;
  a.film_hidden = 16;
  a.film_layers = 3;
  return a;
}

/// Weights with every tensor random (also the zero-initialised ones), so
/// that every path of the network matters in comparisons.
inline psgm::model::ParameterSet random_parameters(psgm::model::FilmCnnConfig const& a, std::uint64_t seed,
                                                   std::string const& dtype, double scale = 0.2) {
  auto set = psgm::model::ParameterSet::zeros(a);
  set.dtype = dtype;
  for (std::size_t p = 0; p < set.values.size(); ++p) {
    auto g = psgm::random::make_generator<Kokkos::DefaultHostExecutionSpace>(seed, 77, p);
    double const fan_in = set.shapes[p].shape.size() > 1 ? double(set.values[p].size() / set.shapes[p].shape[0]) : 8.0;
    for (auto& v : set.values[p]) {
      double const w = scale * (2 * g.drand() - 1) * std::sqrt(3.0 / fan_in);
      v = dtype == "float32" ? double(float(w)) : w;
    }
  }
  return set;
}

/// A valid description around `weights`.
inline psgm::model::ModelDescription make_description(psgm::model::FilmCnnConfig const& a,
                                                      psgm::model::ParameterSet weights) {
  psgm::model::ModelDescription m;
  m.architecture = a;
  m.weights = std::move(weights);
  m.normalization.field_mean = {1000.0, 0.01};
  m.normalization.field_std = {100.0, 0.05};
  m.normalization.cond_min = {std::log(2e-6), -0.2, 0.0};
  m.normalization.cond_max = {std::log(2e-5), 0.2, 50.0};
  return m;
}

}  // namespace psgm_test

// An independent host reference of the FiLM-CNN (docs/design.md §5) for the
// native backend's tests: plain loops in double over the canonical weights
// of psgm::model::parameter_shapes, written from the spec, sharing nothing
// with the kernels (no padding, no packing, no tiles, no row tables).
#pragma once

#include <psgm/model/ModelDescription.hpp>
#include <psgm/score/impl/NativeNetwork.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

namespace psgm_test {

/// Random weights of `config` on a scale that keeps activations O(1) and
/// makes every part of the network matter: U(-1/√fan_in, 1/√fan_in) like
/// PyTorch, but with FiLM's last layer and the output affine at a scale of
/// 0.3 instead of ~0, so γ, β, the gains and offsets are not negligible.
/// Values are rounded to `dtype` ("float32"/"float64").
inline psgm::model::ParameterSet native_random_parameters(psgm::model::FilmCnnConfig const& config, std::uint64_t seed,
                                                   std::string const& dtype) {
  auto set = psgm::model::ParameterSet::zeros(config);
  set.dtype = dtype;
  std::mt19937_64 rng(seed);
  for (std::size_t p = 0; p < set.shapes.size(); ++p) {
    auto const& s = set.shapes[p];
    double bound;
    if (s.name.rfind("out_affine", 0) == 0 || s.name.find("film.layers." + std::to_string(config.film_layers - 1)) !=
                                                   std::string::npos)
      bound = 0.3;
    else {
      std::int64_t fan_in = 1;
      if (s.shape.size() >= 2)
        for (std::size_t d = 1; d < s.shape.size(); ++d) fan_in *= s.shape[d];
      else  // a bias: the fan-in of its weight (the shape before it)
        for (std::size_t d = 1; d < set.shapes[p - 1].shape.size(); ++d) fan_in *= set.shapes[p - 1].shape[d];
      bound = 1.0 / std::sqrt(double(fan_in));
    }
    std::uniform_real_distribution<double> u(-bound, bound);
    for (double& v : set.values[p]) {
      v = u(rng);
      if (dtype == "float32") v = static_cast<double>(static_cast<float>(v));
    }
  }
  return set;
}

inline double silu(double x) { return x / (1.0 + std::exp(-x)); }
inline double silu_d(double x) {
  double const s = 1.0 / (1.0 + std::exp(-x));
  return s * (1 + x * (1 - s));
}

/// F(x, t, cond) of one sample: x (C, N) row-major, cond (cond_dim); returns (C, N).
inline std::vector<double> reference_forward(psgm::model::FilmCnnConfig const& c, psgm::model::ParameterSet const& p,
                                             double const* x, double t, double const* cond) {
  int const C = c.channels, N = c.num_points, W = c.width, K = c.kernel_size, pad = (K - 1) / 2, F = c.num_frequencies;
  int const Z = c.z_dim();
  std::vector<double> z(Z);
  for (int i = 0; i < c.cond_dim; ++i) z[i] = cond[i];
  for (int k = 0; k < F; ++k) {
    double const arg = t * std::ldexp(2 * M_PI, k);
    z[c.cond_dim + k] = std::sin(arg);
    z[c.cond_dim + F + k] = std::cos(arg);
  }
  auto const& lw = p["lift.weight"];
  auto const& lb = p["lift.bias"];
  std::vector<double> h(std::size_t(W) * N);  // h[o][n]
  for (int o = 0; o < W; ++o)
    for (int n = 0; n < N; ++n) {
      double s = lb[o];
      for (int ch = 0; ch < C; ++ch) s += lw[o * C + ch] * x[ch * N + n];
      h[o * N + n] = s;
    }
  auto conv = [&](std::vector<double> const& w, std::vector<double> const& b, std::vector<double> const& in) {
    std::vector<double> out(std::size_t(W) * N);
    for (int o = 0; o < W; ++o)
      for (int n = 0; n < N; ++n) {
        double s = b[o];
        for (int i = 0; i < W; ++i)
          for (int k = 0; k < K; ++k) {
            int const m = std::min(std::max(n + k - pad, 0), N - 1);  // replicate padding
            s += w[(std::size_t(o) * W + i) * K + k] * in[i * N + m];
          }
        out[o * N + n] = s;
      }
    return out;
  };
  for (int b = 0; b < c.num_blocks; ++b) {
    std::string const pre = "blocks." + std::to_string(b) + ".";
    std::vector<double> f = z;
    for (int l = 0; l < c.film_layers; ++l) {
      std::string const lp = pre + "film.layers." + std::to_string(l) + ".";
      auto const& w = p[lp + "weight"];
      auto const& bias = p[lp + "bias"];
      int const in = int(f.size()), out = int(bias.size());
      std::vector<double> g(out);
      for (int j = 0; j < out; ++j) {
        double s = bias[j];
        for (int i = 0; i < in; ++i) s += w[std::size_t(j) * in + i] * f[i];
        g[j] = l + 1 < c.film_layers ? silu(s) : s;
      }
      f = g;
    }
    auto const a1 = conv(p[pre + "conv1.weight"], p[pre + "conv1.bias"], h);
    std::vector<double> u(a1.size());
    for (int o = 0; o < W; ++o)
      for (int n = 0; n < N; ++n) u[o * N + n] = silu(a1[o * N + n] * (1 + f[o]) + f[W + o]);
    auto const a2 = conv(p[pre + "conv2.weight"], p[pre + "conv2.bias"], u);
    for (int o = 0; o < W; ++o)
      for (int n = 0; n < N; ++n) h[o * N + n] += silu(a2[o * N + n] * (1 + f[o]) + f[W + o]);
  }
  auto const& pw = p["proj.weight"];
  auto const& pb = p["proj.bias"];
  auto const& ow = p["out_affine.weight"];
  auto const& ob = p["out_affine.bias"];
  std::vector<double> go(2 * C);
  for (int j = 0; j < 2 * C; ++j) {
    double s = ob[j];
    for (int i = 0; i < Z; ++i) s += ow[std::size_t(j) * Z + i] * z[i];
    go[j] = s;
  }
  std::vector<double> out(std::size_t(C) * N);
  for (int ch = 0; ch < C; ++ch)
    for (int n = 0; n < N; ++n) {
      double s = pb[ch];
      for (int o = 0; o < W; ++o) s += pw[ch * W + o] * h[o * N + n];
      out[ch * N + n] = s * (1 + go[ch]) + go[C + ch];
    }
  return out;
}

/// A batch of inputs on the host, drawn from a fixed seed.
struct ReferenceBatch {
  int B = 0, C = 0, N = 0, cond_dim = 0;
  std::vector<double> x, t, cond, a, y;

  ReferenceBatch(psgm::model::FilmCnnConfig const& c, int batch, std::uint64_t seed, bool round_to_float)
      : B(batch), C(c.channels), N(c.num_points), cond_dim(c.cond_dim) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal;
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    auto r = [&](double v) { return round_to_float ? double(float(v)) : v; };
    for (int i = 0; i < B * C * N; ++i) x.push_back(r(normal(rng)));
    for (int i = 0; i < B * C * N; ++i) y.push_back(r(normal(rng)));
    for (int b = 0; b < B; ++b) t.push_back(r(1e-4 + (1 - 1e-4) * uniform(rng)));
    for (int b = 0; b < B; ++b) a.push_back(r(0.2 + uniform(rng)));
    for (int i = 0; i < B * cond_dim; ++i) cond.push_back(r(uniform(rng)));
  }

  std::vector<double> forward(psgm::model::FilmCnnConfig const& c, psgm::model::ParameterSet const& p) const {
    std::vector<double> out;
    for (int b = 0; b < B; ++b) {
      auto const o = reference_forward(c, p, x.data() + std::size_t(b) * C * N, t[b], cond.data() + b * cond_dim);
      out.insert(out.end(), o.begin(), o.end());
    }
    return out;
  }
  /// The unified DSM loss mean (a F − y)² (psgm/score/Trainer.hpp).
  double loss(psgm::model::FilmCnnConfig const& c, psgm::model::ParameterSet const& p) const {
    auto const F = forward(c, p);
    double s = 0;
    for (int b = 0; b < B; ++b)
      for (int e = 0; e < C * N; ++e) {
        double const r = a[b] * F[std::size_t(b) * C * N + e] - y[std::size_t(b) * C * N + e];
        s += r * r;
      }
    return s / (double(B) * C * N);
  }
};

/// max |a - b| / max |b|.
inline double relative_max_error(std::vector<double> const& a, std::vector<double> const& b) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num = std::max(num, std::abs(a[i] - b[i]));
    den = std::max(den, std::abs(b[i]));
  }
  return den > 0 ? num / den : num;
}

/// The native kernel paths that run on Space: both on host spaces, the
/// portable one on devices.
template <class Space>
std::vector<psgm::score::NativeKernels> native_kernel_paths() {
  if constexpr (std::is_same_v<typename Space::memory_space, Kokkos::HostSpace>)
    return {psgm::score::NativeKernels::portable, psgm::score::NativeKernels::host_tiles};
  else
    return {psgm::score::NativeKernels::portable};
}

inline std::vector<psgm::model::FilmCnnConfig> native_test_configs() {
  std::vector<psgm::model::FilmCnnConfig> cs;
  psgm::model::FilmCnnConfig a;  // small, everything a multiple of nothing
  a.num_points = 11;
  a.width = 20;
  a.num_blocks = 2;
  a.kernel_size = 5;
  a.num_frequencies = 3;
  a.film_hidden = 24;
  a.film_layers = 3;
  cs.push_back(a);
  psgm::model::FilmCnnConfig b;  // the reference's kernel and depth of FiLM, narrow
  b.num_points = 13;
  b.width = 16;
  b.num_blocks = 3;
  b.kernel_size = 7;
  b.num_frequencies = 16;
  b.film_hidden = 32;
  b.film_layers = 4;
  cs.push_back(b);
  psgm::model::FilmCnnConfig c;  // replicate padding wider than the grid, one FiLM layer, 3 channels
  c.channels = 3;
  c.num_points = 4;
  c.width = 9;
  c.num_blocks = 1;
  c.kernel_size = 9;
  c.num_frequencies = 2;
  c.cond_dim = 2;
  c.film_hidden = 8;
  c.film_layers = 1;
  cs.push_back(c);
  psgm::model::FilmCnnConfig d;  // 1x1 convolutions, no blocks
  d.num_points = 5;
  d.width = 6;
  d.num_blocks = 0;
  d.kernel_size = 1;
  d.num_frequencies = 1;
  cs.push_back(d);
  return cs;
}

}  // namespace psgm_test

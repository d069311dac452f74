// Condition-aware whitening and the conditional Gaussian emulator
// (include/psgm/model/): exact round trips, pinned points restored exactly,
// the emulator recovers a known conditional Gaussian within Monte-Carlo
// bounds, shapes come from the data (C = 3 channels, K = 4 conditions).
#include <psgm_test.hpp>

#include <psgm/core/Error.hpp>
#include <psgm/core/Random.hpp>
#include <psgm/model/GaussianEmulator.hpp>
#include <psgm/model/Whitening.hpp>

#include <Kokkos_Core.hpp>
#include <Kokkos_Random.hpp>

#include <cmath>
#include <vector>

namespace {

using psgm::model::ConditionSchema;
using psgm::model::Whitening;
using psgm::model::WhiteningData;
using psgm::model::WhiteningOptions;

/// A known conditional Gaussian family on C channels x N points with K
/// condition columns (column 0 logarithmic): mean, spread and an AR(1)
/// correlation along the grid; channel 1 point 0 is pinned at 0, the last
/// point of channel 0 at 3.5 (like psgm's gauge and Dirichlet value).
struct Family {
  int C, N, K;
  double rho = 0.8;

  std::vector<double> features(double const* u) const {
    std::vector<double> f(static_cast<std::size_t>(K));
    f[0] = std::log(u[0]);
    for (int k = 1; k < K; ++k) f[std::size_t(k)] = u[k];
    return f;
  }
  bool pinned(int c, int i) const { return (c == 1 && i == 0) || (c == 0 && i == N - 1); }
  double mean(double const* u, int c, int i) const {
    if (c == 1 && i == 0) return 0.0;
    if (c == 0 && i == N - 1) return 3.5;
    auto const f = features(u);
    double s = 10.0 * (c + 1) + std::sin(0.3 * i + f[0]) * 5.0;
    for (int k = 1; k < K; ++k) s += (k + 1) * f[std::size_t(k)] * std::cos(0.2 * i * k);
    return s;
  }
  double spread(double const* u, int c, int i) const {
    if (pinned(c, i)) return 0.0;
    auto const f = features(u);
    return 0.2 * (1.0 + 0.5 * c) * std::exp(0.3 * std::sin(f[0] + 0.1 * i) + (K > 1 ? 0.2 * f[1] : 0.0));
  }
  /// A draw: AR(1) along each channel's grid, with the generator given.
  template <class Gen>
  void draw(double const* u, Gen& g, double* x) const {
    for (int c = 0; c < C; ++c) {
      double e = g.normal();
      for (int i = 0; i < N; ++i) {
        if (i > 0) e = rho * e + std::sqrt(1 - rho * rho) * g.normal();
        x[c * N + i] = mean(u, c, i) + spread(u, c, i) * e;
      }
    }
  }
};

struct Data {
  std::vector<double> fields, conditions;
  std::vector<std::int64_t> cond_of;
};

Data make_data(Family const& fam, int M, int per_condition, std::uint64_t seed) {
  Data d;
  auto g = psgm::random::make_generator<Kokkos::DefaultHostExecutionSpace>(seed, 99, 0);
  for (int m = 0; m < M; ++m) {
    d.conditions.push_back(std::exp(std::log(1e-6) + (std::log(1e-4) - std::log(1e-6)) * g.drand()));
    for (int k = 1; k < fam.K; ++k) d.conditions.push_back(-1.0 + 2.0 * g.drand());
  }
  std::vector<double> x(std::size_t(fam.C * fam.N));
  for (int m = 0; m < M; ++m)
    for (int r = 0; r < per_condition; ++r) {
      fam.draw(d.conditions.data() + std::size_t(m) * fam.K, g, x.data());
      d.fields.insert(d.fields.end(), x.begin(), x.end());
      d.cond_of.push_back(m);
    }
  return d;
}

ConditionSchema schema_for(int K) {
  ConditionSchema s;
  for (int k = 0; k < K; ++k) {
    s.names.push_back(k == 0 ? "l" : "u" + std::to_string(k));
    s.units.push_back(k == 0 ? "m" : "1");
    s.log.push_back(k == 0 ? 1 : 0);
  }
  return s;
}

}  // namespace

TEST_CASE("model/digamma matches known values", "[model]") {
  double const gamma = 0.57721566490153286;
  CHECK(psgm::model::digamma(1.0) == Approx(-gamma).epsilon(1e-13));
  CHECK(psgm::model::digamma(0.5) == Approx(-gamma - 2 * std::log(2.0)).epsilon(1e-13));
  CHECK(psgm::model::digamma(10.0) == Approx(2.2517525890667211).epsilon(1e-13));
  CHECK(psgm::model::digamma(12.0) - psgm::model::digamma(11.0) == Approx(1.0 / 11).epsilon(1e-12));
  CHECK_THROWS_AS(psgm::model::digamma(0.0), psgm::InvalidArgument);
}

TEST_CASE("model/whitening round trip is exact and restores pinned points exactly", "[model]") {
  Family const fam{2, 12, 3};
  Data const d = make_data(fam, 40, 8, 1);
  WhiteningData const data{fam.C, fam.N, &d.fields, &d.cond_of, &d.conditions};
  Whitening const w = psgm::model::fit_whitening(schema_for(fam.K), data, WhiteningOptions{});
  REQUIRE(w.num_free() == fam.C * fam.N - 2);
  CHECK(w.components == w.num_free());
  // the free points are exactly the non-pinned ones
  for (int p : w.free_points) CHECK_FALSE(fam.pinned(p / fam.N, p % fam.N));
  std::vector<double> latent(std::size_t(w.components)), back(std::size_t(fam.C * fam.N));
  for (int s = 0; s < 20; ++s) {
    double const* x = d.fields.data() + std::size_t(s) * fam.C * fam.N;
    double const* u = d.conditions.data() + std::size_t(d.cond_of[std::size_t(s)]) * fam.K;
    w.encode(u, x, latent.data());
    w.decode(u, latent.data(), nullptr, back.data());
    for (int p = 0; p < fam.C * fam.N; ++p) {
      if (fam.pinned(p / fam.N, p % fam.N))
        CHECK(back[std::size_t(p)] == x[p]);  // bitwise: restored from the exact constant
      else
        CHECK(back[std::size_t(p)] == Approx(x[p]).epsilon(1e-12).margin(1e-12));
    }
  }
  // The latent coordinates are white over the training set (log_std form,
  // the default: the basis is the pooled second moment of z itself).
  std::vector<double> m2(std::size_t(w.components), 0.0);
  std::int64_t const n = std::int64_t(d.cond_of.size());
  for (std::int64_t s = 0; s < n; ++s) {
    w.encode(d.conditions.data() + d.cond_of[std::size_t(s)] * fam.K, d.fields.data() + s * fam.C * fam.N,
             latent.data());
    for (int k = 0; k < w.components; ++k) m2[std::size_t(k)] += latent[std::size_t(k)] * latent[std::size_t(k)] / n;
  }
  for (int k = 0; k < w.components; ++k) CHECK(m2[std::size_t(k)] == Approx(1.0).epsilon(1e-9));
  // level_shape form: the basis is that of the pooled correlation of the
  // per-condition standardised residuals (eigenvalues sum to F), and the
  // round trip is as exact.
  {
    WhiteningOptions o;
    o.spread_form = psgm::model::SpreadForm::level_shape;
    Whitening const wl = psgm::model::fit_whitening(schema_for(fam.K), data, o);
    double trace = 0;
    for (double l : wl.eigenvalues) trace += l;
    CHECK(trace == Approx(double(wl.num_free())).epsilon(1e-9));
    for (int s = 0; s < 20; ++s) {
      double const* x = d.fields.data() + std::size_t(s) * fam.C * fam.N;
      double const* u = d.conditions.data() + std::size_t(d.cond_of[std::size_t(s)]) * fam.K;
      wl.encode(u, x, latent.data());
      wl.decode(u, latent.data(), nullptr, back.data());
      for (int p = 0; p < fam.C * fam.N; ++p)
        CHECK(back[std::size_t(p)] == Approx(x[p]).epsilon(1e-12).margin(1e-12));
    }
  }
  // Truncation keeps the leading coordinates and reports what they explain.
  WhiteningOptions o;
  o.components = 5;
  Whitening const w5 = psgm::model::fit_whitening(schema_for(fam.K), data, o);
  CHECK(w5.components == 5);
  CHECK(w5.explained_variance() > 0.5);
  CHECK(w5.explained_variance() < 1.0);
}

TEST_CASE("model/whitening refuses unusable data with a clear message", "[model]") {
  Family const fam{2, 6, 2};
  Data d = make_data(fam, 2, 5, 3);
  WhiteningData const data{fam.C, fam.N, &d.fields, &d.cond_of, &d.conditions};
  CHECK_THROWS_WITH(psgm::model::fit_whitening(schema_for(fam.K), data, WhiteningOptions{}),
                    Catch::Contains("at least 3 conditions with 2 or more samples"));
  Data bad = make_data(fam, 5, 3, 4);
  bad.conditions[0] = -1.0;  // a logarithmic column must be > 0
  WhiteningData const bad_data{fam.C, fam.N, &bad.fields, &bad.cond_of, &bad.conditions};
  CHECK_THROWS_WITH(psgm::model::fit_whitening(schema_for(fam.K), bad_data, WhiteningOptions{}),
                    Catch::Contains("must be > 0"));
}

TEST_CASE("model/the Gaussian emulator recovers a known conditional Gaussian (C = 3, K = 4)", "[model]") {
  // Shapes from the data: 3 channels, 4 condition columns.
  Family const fam{3, 10, 4};
  Data const d = make_data(fam, 150, 30, 5);
  WhiteningData const data{fam.C, fam.N, &d.fields, &d.cond_of, &d.conditions};
  Whitening const w = psgm::model::fit_whitening(schema_for(fam.K), data, WhiteningOptions{});
  psgm::model::GaussianEmulator<Kokkos::DefaultHostExecutionSpace> emulator(w);
  // A held-out condition inside the training box.
  double const u[4] = {1e-5, 0.2, -0.3, 0.1};
  REQUIRE(w.is_in_training_range(u));
  int const n = 4000, P = fam.C * fam.N;
  Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> cond("cond", n, 4);
  for (int b = 0; b < n; ++b)
    for (int k = 0; k < 4; ++k) cond(b, k) = u[k];
  Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace> out("out", n, fam.C, fam.N);
  emulator.sample(Kokkos::DefaultHostExecutionSpace(), cond, 11, 0, out);
  std::vector<double> mean(std::size_t(P), 0.0), sd(std::size_t(P), 0.0);
  for (int b = 0; b < n; ++b)
    for (int p = 0; p < P; ++p) mean[std::size_t(p)] += out.data()[std::size_t(b) * P + p] / n;
  for (int b = 0; b < n; ++b)
    for (int p = 0; p < P; ++p) {
      double const e = out.data()[std::size_t(b) * P + p] - mean[std::size_t(p)];
      sd[std::size_t(p)] += e * e / (n - 1);
    }
  // Bounds: the regression over 150 conditions x 30 samples of a mean that
  // moves by ~25 spreads across the conditions (per-condition mean noise
  // 0.18 σ, its cross-validated error printed below) plus Monte Carlo
  // (0.016 σ for the mean, 1.1 % for σ at n = 4000).
  std::string cv_errors;
  for (auto const& part : w.mean.parts) cv_errors += " " + std::to_string(std::sqrt(part.cv_error));
  INFO("leave-one-condition-out error of the mean, per channel (spreads):" << cv_errors);
  double mean_abs = 0;
  int free = 0;
  for (int c = 0; c < fam.C; ++c)
    for (int i = 0; i < fam.N; ++i) {
      int const p = c * fam.N + i;
      double const s_true = fam.spread(u, c, i);
      if (fam.pinned(c, i)) {
        for (int b = 0; b < n; ++b) CHECK(out.data()[std::size_t(b) * P + p] == fam.mean(u, c, i));
        continue;
      }
      double const e = std::abs(mean[std::size_t(p)] - fam.mean(u, c, i)) / s_true;
      CHECK(e < 0.3);
      mean_abs += e;
      ++free;
      CHECK(std::sqrt(sd[std::size_t(p)]) / s_true == Approx(1.0).margin(0.08));
    }
  CHECK(mean_abs / free < 0.12);
  // The neighbour correlation along the grid is the family's rho.
  double corr = 0;
  int pairs = 0;
  for (int c = 0; c < fam.C; ++c)
    for (int i = 1; i + 2 < fam.N; ++i) {
      int const p = c * fam.N + i, q = p + 1;
      double cov = 0;
      for (int b = 0; b < n; ++b)
        cov += (out.data()[std::size_t(b) * P + p] - mean[std::size_t(p)]) *
               (out.data()[std::size_t(b) * P + q] - mean[std::size_t(q)]) / (n - 1);
      corr += cov / std::sqrt(sd[std::size_t(p)] * sd[std::size_t(q)]);
      ++pairs;
    }
  CHECK(corr / pairs == Approx(fam.rho).margin(0.05));
  // Same seed, same draws; another first_sample, other draws.
  Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace> again("again", 4, fam.C, fam.N);
  emulator.sample(Kokkos::DefaultHostExecutionSpace(), Kokkos::subview(cond, std::make_pair(0, 4), Kokkos::ALL), 11,
                  0, again);
  for (int p = 0; p < 4 * P; ++p) CHECK(again.data()[p] == out.data()[p]);
}

TEST_CASE("model/the level-shape spread follows a sensitivity that changes sign", "[model]") {
  // x_i = m_i(u) + (u1 − t_i) ξ + 0.05 η_i with ξ, η_i ~ N(0, 1): σ_i² =
  // (u1 − t_i)² + 0.05² is a smooth quadratic in u1, while log σ_i has a
  // valley 3 units deep and 0.1 wide at u1 = t_i (the porous electrode's c
  // near c0 when the net flux changes sign, docs/training.md). The log-sigma
  // form is fitted beside it for the record (0.031 against 0.025 here; on the
  // electrode's validation conditions 0.063 against 0.034, docs/results.md).
  int const N = 12, K = 2, M = 160, R = 40;
  auto t = [&](int i) { return -0.8 + 1.6 * i / (N - 1); };
  auto sigma_true = [&](double u1, int i) { return std::sqrt((u1 - t(i)) * (u1 - t(i)) + 0.05 * 0.05); };
  Data d;
  auto g = psgm::random::make_generator<Kokkos::DefaultHostExecutionSpace>(17, 99, 0);
  std::vector<double> x(static_cast<std::size_t>(N));
  for (int m = 0; m < M; ++m) {
    double const l = std::exp(std::log(1e-6) + (std::log(1e-4) - std::log(1e-6)) * g.drand());
    double const u1 = -1.0 + 2.0 * g.drand();
    d.conditions.push_back(l);
    d.conditions.push_back(u1);
    for (int r = 0; r < R; ++r) {
      double const xi = g.normal();
      for (int i = 0; i < N; ++i)
        x[std::size_t(i)] = 2.0 * u1 + std::sin(0.4 * i) + (u1 - t(i)) * xi + 0.05 * g.normal();
      d.fields.insert(d.fields.end(), x.begin(), x.end());
      d.cond_of.push_back(m);
    }
  }
  WhiteningData const data{1, N, &d.fields, &d.cond_of, &d.conditions};
  auto error_of = [&](psgm::model::SpreadForm form) {
    WhiteningOptions o;
    o.spread_form = form;
    Whitening const w = psgm::model::fit_whitening(schema_for(K), data, o);
    CHECK(w.spread_form == form);
    // The spread error of docs/metrics.md (relative L2 over the points),
    // averaged over conditions between the training ones.
    double total = 0;
    int const T = 25;
    std::vector<double> mu(static_cast<std::size_t>(N)), sigma(static_cast<std::size_t>(N));
    for (int k = 0; k < T; ++k) {
      double const u[2] = {1e-5, -0.9 + 1.8 * (k + 0.5) / T};
      w.moments(u, mu.data(), sigma.data());
      double num = 0, den = 0;
      for (int i = 0; i < N; ++i) {
        double const s = sigma_true(u[1], i);
        num += (sigma[std::size_t(i)] - s) * (sigma[std::size_t(i)] - s);
        den += s * s;
      }
      total += std::sqrt(num / den) / T;
    }
    return total;
  };
  double const ratio = error_of(psgm::model::SpreadForm::level_shape);
  double const logs = error_of(psgm::model::SpreadForm::log_std);
  INFO("spread error: variance ratio " << ratio << ", log sigma " << logs);
  // The sampling noise of the per-condition spreads at R = 40 is 11 %; the
  // regression over 160 conditions averages it down.
  CHECK(ratio < 0.04);
  CHECK(logs < 0.2);  // the comparison form still works
}

TEST_CASE("model/each channel's spread is regressed with its own length scales", "[model]") {
  // Channel 0's spread varies with u1 only, channel 1's with u2 only (as c's
  // level follows U0 and φ's follows F_right): one (ℓ, λ) for both would have
  // to be short in both features. Fitted per channel, each part's length scale
  // is long in the feature its channel ignores.
  int const N = 8, K = 3, M = 200, R = 30;
  Data d;
  auto g = psgm::random::make_generator<Kokkos::DefaultHostExecutionSpace>(23, 99, 0);
  auto level = [](double const* u, int c) { return c == 0 ? 0.6 * std::sin(2.5 * u[1]) : 0.6 * std::sin(2.5 * u[2]); };
  std::vector<double> x(static_cast<std::size_t>(2 * N));
  for (int m = 0; m < M; ++m) {
    double const u[3] = {std::exp(std::log(1e-6) + (std::log(1e-4) - std::log(1e-6)) * g.drand()),
                         -1.0 + 2.0 * g.drand(), -1.0 + 2.0 * g.drand()};
    d.conditions.insert(d.conditions.end(), u, u + 3);
    for (int r = 0; r < R; ++r) {
      for (int c = 0; c < 2; ++c)
        for (int i = 0; i < N; ++i)
          x[std::size_t(c * N + i)] = 3.0 * c + u[1] + std::exp(level(u, c)) * (1.0 + 0.1 * i) * g.normal();
      d.fields.insert(d.fields.end(), x.begin(), x.end());
      d.cond_of.push_back(m);
    }
  }
  WhiteningData const data{2, N, &d.fields, &d.cond_of, &d.conditions};
  WhiteningOptions o;
  o.spread_form = psgm::model::SpreadForm::level_shape;
  Whitening const w = psgm::model::fit_whitening(schema_for(K), data, o);
  REQUIRE(w.spread_level.parts.size() == 2);
  REQUIRE(w.spread_shape.parts.size() == 2);
  CHECK(w.mean.parts.size() == 1);
  auto const& l0 = w.spread_level.parts[0].length_scales;
  auto const& l1 = w.spread_level.parts[1].length_scales;
  INFO("level length scales: channel 0 (" << l0[0] << ", " << l0[1] << ", " << l0[2] << "), channel 1 (" << l1[0]
                                          << ", " << l1[1] << ", " << l1[2] << ")");
  CHECK(l0[2] > 2 * l0[1]);  // channel 0 ignores u2
  CHECK(l1[1] > 2 * l1[2]);  // channel 1 ignores u1
  // The regressed level between the training conditions: within the sampling
  // noise of a level from 30 samples (about 0.13 in log σ per condition), averaged down.
  double worst = 0;
  std::vector<double> mu(static_cast<std::size_t>(2 * N)), sigma(static_cast<std::size_t>(2 * N));
  for (int k = 0; k < 20; ++k) {
    double const u[3] = {1e-5, -0.8 + 1.6 * (k % 5) / 4.0, -0.8 + 1.6 * (k / 5) / 3.0};
    w.moments(u, mu.data(), sigma.data());
    for (int c = 0; c < 2; ++c) {
      double const want = level(u, c) + std::log(1.0 + 0.1 * 3);
      worst = std::max(worst, std::abs(std::log(sigma[std::size_t(c * N + 3)]) - want));
    }
  }
  INFO("largest log sigma error at point 3: " << worst);
  CHECK(worst < 0.08);
}

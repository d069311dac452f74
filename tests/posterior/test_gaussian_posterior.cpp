// Observations and the exact posterior of the conditional Gaussian emulator
// (include/psgm/posterior/): the latent-space Matheron update against an
// independent dense x-space Kalman reference, Monte-Carlo bounds on its
// draws, huge noise leaves the prior, an exact probe pins the field, bad
// observations are refused with a clear message.
#include <psgm_test.hpp>

#include <psgm/core/Error.hpp>
#include <psgm/core/Random.hpp>
#include <psgm/model/GaussianEmulator.hpp>
#include <psgm/model/Whitening.hpp>
#include <psgm/posterior/GaussianPosterior.hpp>
#include <psgm/posterior/Observations.hpp>
#include <psgm/posterior/PosteriorSampler.hpp>
#include <psgm/score/NativeScoreModel.hpp>

#include <Kokkos_Core.hpp>
#include <Kokkos_Random.hpp>

#include <cmath>
#include <vector>

namespace {

using psgm::model::Whitening;
using psgm::posterior::Observation;
using psgm::posterior::ObservationOperator;
using HostView3 = Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace>;
using HostCond = Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace>;

constexpr int C = 2, N = 12, K = 2;

/// A conditional Gaussian family: AR(1) along the grid, mean and spread
/// moving with the condition; channel 1 point 0 pinned at 0 (a gauge).
struct Family {
  double rho = 0.85;
  bool pinned(int c, int i) const { return c == 1 && i == 0; }
  double mean(double const* u, int c, int i) const {
    return pinned(c, i) ? 0.0 : 2.0 * (c + 1) + std::sin(0.4 * i + std::log(u[0])) + u[1] * std::cos(0.3 * i);
  }
  double spread(double const* u, int c, int i) const {
    return pinned(c, i) ? 0.0 : 0.3 * (1.0 + 0.4 * c) * std::exp(0.2 * u[1] + 0.05 * i);
  }
};

Whitening fit(Family const& fam) {
  std::vector<double> fields, conditions;
  std::vector<std::int64_t> cond_of;
  auto g = psgm::random::make_generator<Kokkos::DefaultHostExecutionSpace>(7, 99, 0);
  int const M = 40, R = 25;
  for (int m = 0; m < M; ++m) {
    conditions.push_back(std::exp(std::log(1e-6) + (std::log(1e-4) - std::log(1e-6)) * g.drand()));
    conditions.push_back(-1.0 + 2.0 * g.drand());
  }
  for (int m = 0; m < M; ++m)
    for (int r = 0; r < R; ++r) {
      double const* u = conditions.data() + 2 * m;
      for (int c = 0; c < C; ++c) {
        double e = g.normal();
        for (int i = 0; i < N; ++i) {
          if (i > 0) e = fam.rho * e + std::sqrt(1 - fam.rho * fam.rho) * g.normal();
          fields.push_back(fam.mean(u, c, i) + fam.spread(u, c, i) * e);
        }
      }
      cond_of.push_back(m);
    }
  psgm::model::ConditionSchema schema;
  schema.names = {"l", "u"};
  schema.units = {"m", "1"};
  schema.log = {1, 0};
  psgm::model::WhiteningData data{C, N, &fields, &cond_of, &conditions};
  return psgm::model::fit_whitening(schema, data, psgm::model::WhiteningOptions{});
}

std::vector<double> grid() {
  std::vector<double> x(N);
  for (int i = 0; i < N; ++i) x[std::size_t(i)] = (i + 0.5) / N;
  return x;
}

/// The emulator's prior covariance in x space, dense (C·N)²: σ_p σ_q (B Bᵀ)_pq
/// on the free points, zero at pinned ones.
std::vector<double> prior_covariance(Whitening const& w, double const* sigma) {
  int const P = C * N, F = w.num_free();
  std::vector<double> cov(std::size_t(P) * P, 0.0);
  for (int a = 0; a < F; ++a)
    for (int b = 0; b < F; ++b) {
      double s = 0;
      for (int k = 0; k < F; ++k)
        s += w.basis[std::size_t(a) * F + k] * w.basis[std::size_t(b) * F + k] * w.eigenvalues[std::size_t(k)];
      int const p = w.free_points[std::size_t(a)], q = w.free_points[std::size_t(b)];
      cov[std::size_t(p) * P + q] = sigma[p] * sigma[q] * s;
    }
  return cov;
}

/// Dense Kalman update in x space (an independent reference): mean μ + C Hᵀ
/// S⁻¹ (y − Hμ), covariance C − C Hᵀ S⁻¹ H C, S = H C Hᵀ + R solved by
/// Gauss-Jordan elimination.
void dense_posterior(ObservationOperator const& H, std::vector<double> const& mu, std::vector<double> const& cov,
                     std::vector<double>& mean, std::vector<double>& sd) {
  int const P = C * N, m = H.size();
  std::vector<double> Hm(std::size_t(m) * P, 0.0);
  for (int j = 0; j < m; ++j)
    for (int t = 0; t < 2; ++t) Hm[std::size_t(j) * P + H.index(j, t)] += H.weight(j, t);
  std::vector<double> CHt(std::size_t(P) * m, 0.0);  // (P, m)
  for (int p = 0; p < P; ++p)
    for (int j = 0; j < m; ++j)
      for (int q = 0; q < P; ++q) CHt[std::size_t(p) * m + j] += cov[std::size_t(p) * P + q] * Hm[std::size_t(j) * P + q];
  std::vector<double> S(std::size_t(m) * m, 0.0), Sinv(std::size_t(m) * m, 0.0);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < m; ++j)
      for (int q = 0; q < P; ++q) S[std::size_t(i) * m + j] += Hm[std::size_t(i) * P + q] * CHt[std::size_t(q) * m + j];
    double const s = H.observations()[std::size_t(i)].noise_std;
    S[std::size_t(i) * m + i] += s * s;
    Sinv[std::size_t(i) * m + i] = 1.0;
  }
  for (int c = 0; c < m; ++c) {  // Gauss-Jordan with partial pivoting
    int piv = c;
    for (int r = c + 1; r < m; ++r)
      if (std::abs(S[std::size_t(r) * m + c]) > std::abs(S[std::size_t(piv) * m + c])) piv = r;
    for (int k = 0; k < m; ++k) {
      std::swap(S[std::size_t(c) * m + k], S[std::size_t(piv) * m + k]);
      std::swap(Sinv[std::size_t(c) * m + k], Sinv[std::size_t(piv) * m + k]);
    }
    double const d = S[std::size_t(c) * m + c];
    for (int k = 0; k < m; ++k) {
      S[std::size_t(c) * m + k] /= d;
      Sinv[std::size_t(c) * m + k] /= d;
    }
    for (int r = 0; r < m; ++r) {
      if (r == c) continue;
      double const f = S[std::size_t(r) * m + c];
      for (int k = 0; k < m; ++k) {
        S[std::size_t(r) * m + k] -= f * S[std::size_t(c) * m + k];
        Sinv[std::size_t(r) * m + k] -= f * Sinv[std::size_t(c) * m + k];
      }
    }
  }
  std::vector<double> innov(static_cast<std::size_t>(m));
  for (int j = 0; j < m; ++j) innov[std::size_t(j)] = H.observations()[std::size_t(j)].value - H.apply(j, mu.data());
  mean.assign(std::size_t(P), 0.0);
  sd.assign(std::size_t(P), 0.0);
  for (int p = 0; p < P; ++p) {
    double gain_innov = 0, reduction = 0;
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < m; ++j) {
        gain_innov += CHt[std::size_t(p) * m + i] * Sinv[std::size_t(i) * m + j] * innov[std::size_t(j)];
        reduction += CHt[std::size_t(p) * m + i] * Sinv[std::size_t(i) * m + j] * CHt[std::size_t(p) * m + j];
      }
    mean[std::size_t(p)] = mu[std::size_t(p)] + gain_innov;
    sd[std::size_t(p)] = std::sqrt(std::max(cov[std::size_t(p) * P + p] - reduction, 0.0));
  }
}

HostView3 draw(psgm::posterior::GaussianPosterior<Kokkos::DefaultHostExecutionSpace>& post, double const* u, int n,
               std::uint64_t seed) {
  HostCond cond("cond", n, K);
  for (int b = 0; b < n; ++b)
    for (int k = 0; k < K; ++k) cond(b, k) = u[k];
  HostView3 out("out", n, C, N);
  Kokkos::View<psgm::SolveStatus*, Kokkos::HostSpace> status("status", n);
  post.sample(Kokkos::DefaultHostExecutionSpace(), cond, seed, 0, out, status);
  for (int b = 0; b < n; ++b) REQUIRE(status(b) == psgm::SolveStatus::ok);
  return out;
}

}  // namespace

TEST_CASE("posterior/observations interpolate linearly and refuse bad probes", "[posterior]") {
  auto const x = grid();
  ObservationOperator const H({{0, x[3], 1.0, 0.1}, {1, 0.5 * (x[5] + x[6]), 2.0, 0.2}, {1, x[N - 1], 0.0, 1.0}}, x,
                              C);
  std::vector<double> f(static_cast<std::size_t>(C * N));
  for (int p = 0; p < C * N; ++p) f[std::size_t(p)] = 3.0 * p + 1.0;  // linear in the index: interpolation is exact
  CHECK(H.apply(0, f.data()) == Approx(3.0 * 3 + 1.0));
  CHECK(H.apply(1, f.data()) == Approx(3.0 * (N + 5.5) + 1.0));
  CHECK(H.apply(2, f.data()) == Approx(3.0 * (2 * N - 1) + 1.0));
  CHECK(H.log_likelihood(f.data()) ==
        Approx(-0.5 * (std::pow((1.0 - 10.0) / 0.1, 2) + std::pow((2.0 - H.apply(1, f.data())) / 0.2, 2) +
                       std::pow(H.apply(2, f.data()) / 1.0, 2))));

  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(ObservationOperator({{0, 1.2, 1.0, 0.1}}, x, C), Contains("outside the grid"));
  CHECK_THROWS_WITH(ObservationOperator({{0, x[0] - 1e-3, 1.0, 0.1}}, x, C), Contains("outside the grid"));
  CHECK_THROWS_WITH(ObservationOperator({{2, 0.5, 1.0, 0.1}}, x, C), Contains("channel 2 does not exist"));
  CHECK_THROWS_WITH(ObservationOperator({{0, 0.5, 1.0, 0.0}}, x, C), Contains("must be finite and > 0"));
  CHECK_THROWS_WITH(ObservationOperator({{0, 0.5, 1.0, -1.0}}, x, C), Contains("must be finite and > 0"));
  CHECK_THROWS_WITH(ObservationOperator({{0, 0.5, std::nan(""), 0.1}}, x, C), Contains("is not finite"));
  CHECK_THROWS_WITH(ObservationOperator({{0, std::nan(""), 1.0, 0.1}}, x, C), Contains("outside the grid"));

  std::vector<std::string> const names{"c", "phi"};
  auto const obs = psgm::posterior::parse_observations_csv(
      "# two probes\nx, channel, noise_std, value\n0.25, phi, 0.01, -0.5\n0.5,0,0.1,1.5  # by index\n", names, "t.csv");
  REQUIRE(obs.size() == 2);
  CHECK(obs[0].channel == 1);
  CHECK(obs[0].x == 0.25);
  CHECK(obs[0].value == -0.5);
  CHECK(obs[0].noise_std == 0.01);
  CHECK(obs[1].channel == 0);
  CHECK_THROWS_WITH(psgm::posterior::parse_observations_csv("channel,x,value,noise_std\nT,0.5,1,0.1\n", names, "t.csv"),
                    Contains("t.csv, line 2: unknown channel 'T'") && Contains("c (0), phi (1)"));
  CHECK_THROWS_WITH(psgm::posterior::parse_observations_csv("channel,x,value\nc,0.5,1\n", names, "t.csv"),
                    Contains("four columns"));
  CHECK_THROWS_WITH(psgm::posterior::parse_observations_csv("channel,x,value,noise_std\nc,0.5,1,-2\n", names, "t.csv"),
                    Contains("noise_std = -2 must be finite and > 0"));
  CHECK_THROWS_WITH(psgm::posterior::parse_observations_csv("channel,x,value,noise_std\nc,0.5,nan,1\n", names, "t.csv"),
                    Contains("must be finite"));
  CHECK_THROWS_WITH(psgm::posterior::parse_observations_csv("channel,x,value,noise_std\nc,0.5x,1,1\n", names, "t.csv"),
                    Contains("position x '0.5x' is not a number"));
  CHECK_THROWS_WITH(psgm::posterior::parse_observations_csv("channel,x,value,noise_std\n", names, "t.csv"),
                    Contains("no observations"));
}

TEST_CASE("posterior/the emulator's exact posterior matches a dense Kalman update and its draws", "[posterior]") {
  Family const fam;
  Whitening const w = fit(fam);
  REQUIRE(w.components == w.num_free());
  auto const x = grid();
  double const u[K] = {1e-5, 0.3};
  int const P = C * N;
  std::vector<double> mu(static_cast<std::size_t>(P)), sigma(static_cast<std::size_t>(P));
  w.moments(u, mu.data(), sigma.data());
  // Probes: c at a grid point and between two, φ between two (both channels).
  ObservationOperator const H({{0, x[2], mu[2] + 0.3, 0.05}, {0, 0.5 * (x[7] + x[8]), mu[7] - 0.2, 0.1},
                               {1, 0.3 * x[4] + 0.7 * x[5], mu[N + 5] + 0.4, 0.08}},
                              x, C);
  std::vector<double> mean(static_cast<std::size_t>(P)), sd(static_cast<std::size_t>(P)), ref_mean, ref_sd;
  psgm::posterior::gaussian_posterior_moments(w, H, u, mean.data(), sd.data());
  dense_posterior(H, mu, prior_covariance(w, sigma.data()), ref_mean, ref_sd);
  for (int p = 0; p < P; ++p) {
    CHECK(mean[std::size_t(p)] == Approx(ref_mean[std::size_t(p)]).epsilon(1e-10).margin(1e-12));
    CHECK(sd[std::size_t(p)] == Approx(ref_sd[std::size_t(p)]).epsilon(1e-8).margin(1e-12));
  }
  // The probes pull the field: the posterior spread at a probed point is
  // below the prior's and below the probe's noise.
  CHECK(sd[2] < std::min(sigma[2], 0.05));

  // Draws: Monte-Carlo bounds at n = 4000 (mean 4.5 standard errors, spread 5 %).
  psgm::posterior::GaussianPosterior<Kokkos::DefaultHostExecutionSpace> post(w, H);
  int const n = 4000;
  auto const out = draw(post, u, n, 3);
  for (int p = 0; p < P; ++p) {
    double m1 = 0, m2 = 0;
    for (int b = 0; b < n; ++b) m1 += out.data()[std::size_t(b) * P + p] / n;
    for (int b = 0; b < n; ++b) m2 += std::pow(out.data()[std::size_t(b) * P + p] - m1, 2) / (n - 1);
    if (sd[std::size_t(p)] == 0) {  // the pinned point stays exactly at μ
      CHECK(m2 == 0.0);
      CHECK(m1 == mu[std::size_t(p)]);
      continue;
    }
    CHECK(std::abs(m1 - mean[std::size_t(p)]) < 4.5 * sd[std::size_t(p)] / std::sqrt(double(n)));
    CHECK(std::sqrt(m2) == Approx(sd[std::size_t(p)]).epsilon(0.05));
  }
  // Reproducible: the same seed gives the same draws.
  auto const again = draw(post, u, 3, 3);
  for (int p = 0; p < 3 * P; ++p) CHECK(again.data()[p] == out.data()[p]);
}

TEST_CASE("posterior/huge noise leaves the prior, an exact probe pins the field", "[posterior]") {
  Family const fam;
  Whitening const w = fit(fam);
  auto const x = grid();
  double const u[K] = {3e-6, -0.4};
  int const P = C * N, n = 200;
  std::vector<double> mu(static_cast<std::size_t>(P)), sigma(static_cast<std::size_t>(P));
  w.moments(u, mu.data(), sigma.data());

  // Noise of 1e8: the posterior is the prior, draw by draw (the same prior
  // draw 0 as the emulator's; Matheron's update moves a draw by about
  // |G| ε / s, 1e-8 of a spread here).
  ObservationOperator const vague({{0, x[4], mu[4] + 1.0, 1e8}, {1, x[6], mu[N + 6] - 1.0, 1e8}}, x, C);
  psgm::posterior::GaussianPosterior<Kokkos::DefaultHostExecutionSpace> post(w, vague);
  auto const out = draw(post, u, n, 5);
  psgm::model::GaussianEmulator<Kokkos::DefaultHostExecutionSpace> emulator(w);
  HostCond cond("cond", n, K);
  for (int b = 0; b < n; ++b)
    for (int k = 0; k < K; ++k) cond(b, k) = u[k];
  HostView3 prior("prior", n, C, N);
  emulator.sample(Kokkos::DefaultHostExecutionSpace(), cond, 5, 0, prior);
  double worst = 0;
  for (int b = 0; b < n; ++b)
    for (int p = 0; p < P; ++p)
      if (sigma[std::size_t(p)] > 0)
        worst = std::max(worst, std::abs(out.data()[std::size_t(b) * P + p] - prior.data()[std::size_t(b) * P + p]) /
                                    sigma[std::size_t(p)]);
  CHECK(worst < 1e-6);

  // A single probe with noise 1e-9 of a spread, between two grid points:
  // every draw reads the observed value there.
  double const target = mu[9] + 2.0 * sigma[9];
  double const xp = 0.25 * x[9] + 0.75 * x[10];
  ObservationOperator const exact({{0, xp, target, 1e-9 * sigma[9]}}, x, C);
  psgm::posterior::GaussianPosterior<Kokkos::DefaultHostExecutionSpace> pinned(w, exact);
  auto const fixed = draw(pinned, u, n, 6);
  for (int b = 0; b < n; ++b) CHECK(std::abs(exact.apply(0, fixed.data() + std::size_t(b) * P) - target) < 1e-6 * sigma[9]);
  // Far from the probe the field still varies.
  double m1 = 0, m2 = 0;
  for (int b = 0; b < n; ++b) m1 += fixed.data()[std::size_t(b) * P + 1] / n;
  for (int b = 0; b < n; ++b) m2 += std::pow(fixed.data()[std::size_t(b) * P + 1] - m1, 2) / (n - 1);
  CHECK(std::sqrt(m2) > 0.3 * sigma[1]);

  // Observations on another grid are refused.
  std::vector<double> other(N + 1);
  for (int i = 0; i <= N; ++i) other[std::size_t(i)] = double(i) / N;
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH((psgm::posterior::GaussianPosterior<Kokkos::DefaultHostExecutionSpace>(
                        w, ObservationOperator({{0, 0.5, 1.0, 0.1}}, other, C))),
                    Contains("13 points; the model's fields have 2 and 12"));
}

TEST_CASE("posterior/a zero residual network guided by the probes draws the emulator's exact posterior",
          "[posterior]") {
  // A whitened network with every weight zero is the emulator (its EDM
  // denoiser x / (1 + σ²) is N(0, I)'s), where the guidance is exact: the
  // guided sampler must draw gaussian_posterior_moments, with all F latent
  // coordinates learned and with r < F (the tail conditioned by Matheron's
  // update given the network's coordinates).
  using HostSpace = Kokkos::DefaultHostExecutionSpace;
  using NativeModel = psgm::score::ScoreModel<psgm::score::Native<HostSpace>, double>;
  Family const fam;
  Whitening const w = fit(fam);
  auto const x = grid();
  double const u[K] = {2e-5, 0.1};
  int const P = C * N, n = 3000;
  std::vector<double> mu(static_cast<std::size_t>(P)), sigma(static_cast<std::size_t>(P));
  w.moments(u, mu.data(), sigma.data());
  ObservationOperator const H({{0, 0.5 * (x[3] + x[4]), mu[3] + 0.25, 0.05}, {1, x[8], mu[N + 8] - 0.3, 0.1}}, x, C);
  std::vector<double> mean(static_cast<std::size_t>(P)), sd(static_cast<std::size_t>(P));
  psgm::posterior::gaussian_posterior_moments(w, H, u, mean.data(), sd.data());
  auto const guidance = GENERATE(psgm::posterior::Guidance::prior_covariance, psgm::posterior::Guidance::jacobian);
  for (int r : {w.num_free(), w.num_free() / 3}) {
    INFO("network coordinates r = " << r << " of F = " << w.num_free() << ", guidance "
                                    << psgm::posterior::to_string(guidance));
    psgm::model::ModelDescription d;
    d.whitening = w;
    d.whitening->components = r;
    d.architecture.channels = r;
    d.architecture.num_points = 1;
    d.architecture.cond_dim = K;
    d.architecture.width = 16;
    d.architecture.num_blocks = 1;
    d.architecture.kernel_size = 1;
    d.architecture.num_frequencies = 4;
    d.architecture.film_hidden = 16;
    d.architecture.film_layers = 1;
    d.sde.type = psgm::model::SdeType::edm;
    d.weights = psgm::model::ParameterSet::zeros(d.architecture);
    d.weights.dtype = "float64";
    NativeModel model(HostSpace(), d);
    psgm::sde::EdmHeun::Config config;
    config.steps = 32;
    psgm::posterior::PosteriorSampler<NativeModel, psgm::sde::EdmHeun> post(HostSpace(), model, H, config, n, guidance);
    HostCond cond("cond", n, K);
    for (int b = 0; b < n; ++b)
      for (int k = 0; k < K; ++k) cond(b, k) = u[k];
    NativeModel::field_view out("out", n, C, N);
    Kokkos::View<psgm::SolveStatus*, Kokkos::HostSpace> status("status", n);
    auto const report = post.sample(HostSpace(), cond, 4, 0, out, status);
    REQUIRE(report.num_failed == 0);
    // The Jacobian's columns are model evaluations too: (1 + m) per step.
    CHECK(report.max_nfe_per_sample ==
          (2 * config.steps - 1) * (guidance == psgm::posterior::Guidance::jacobian ? 1 + H.size() : 1));
    for (int p = 0; p < P; ++p) {
      double m1 = 0, m2 = 0;
      for (int b = 0; b < n; ++b) m1 += out.data()[std::size_t(b) * P + p] / n;
      for (int b = 0; b < n; ++b) m2 += std::pow(out.data()[std::size_t(b) * P + p] - m1, 2) / (n - 1);
      if (sd[std::size_t(p)] == 0) {
        CHECK(m2 == 0.0);
        continue;
      }
      INFO("point " << p << ": mean " << m1 << " vs " << mean[std::size_t(p)] << ", sd " << std::sqrt(m2) << " vs "
                    << sd[std::size_t(p)]);
      CHECK(std::abs(m1 - mean[std::size_t(p)]) < 4.5 * sd[std::size_t(p)] / std::sqrt(double(n)) + 0.01 * sd[std::size_t(p)]);
      CHECK(std::sqrt(m2) == Approx(sd[std::size_t(p)]).epsilon(0.06));
    }
  }
  // A model with the reference normalisation cannot be guided.
  psgm::model::ModelDescription ref;
  ref.architecture.channels = 2;
  ref.architecture.num_points = N;
  ref.architecture.width = 8;
  ref.architecture.num_blocks = 1;
  ref.architecture.film_hidden = 8;
  ref.architecture.film_layers = 1;
  ref.weights = psgm::model::ParameterSet::zeros(ref.architecture);
  ref.weights.dtype = "float64";
  using Catch::Matchers::Contains;
  NativeModel plain(HostSpace(), ref);
  CHECK_THROWS_WITH((psgm::posterior::PosteriorSampler<NativeModel, psgm::sde::EdmHeun>(
                        HostSpace(), plain, H, psgm::sde::EdmHeun::Config{}, 4)),
                    Contains("reference normalisation"));
}

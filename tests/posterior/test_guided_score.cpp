// The guided score (include/psgm/posterior/GuidedScore.hpp) on a Gaussian
// prior N(0, I), where its moment matching is exact: the guided sampler's
// draws have the closed-form posterior mean and covariance of a | y within
// Monte-Carlo bounds (EDM Heun and the VP probability-flow ODE), huge noise
// leaves the prior, and any method of sde/ composes with it.
#include <psgm_test.hpp>

#include <psgm/core/Random.hpp>
#include <psgm/posterior/GuidedScore.hpp>
#include <psgm/sde/AnalyticScore.hpp>
#include <psgm/sde/Sampler.hpp>
#include <psgm/sde/impl/Sampler_Impl.hpp>

#include <Kokkos_Core.hpp>
#include <Kokkos_Random.hpp>

#include <cmath>
#include <vector>

namespace {

using ExecSpace = Kokkos::DefaultHostExecutionSpace;
using Prior = psgm::sde::AnalyticScore<ExecSpace, double>;
using Guided = psgm::posterior::GuidedScore<Prior>;
// The sampler's reference normalisation takes 2 channels: d = 2 x 3.
constexpr int channels = 2, points = 3, d = channels * points, m = 2;

struct Problem {
  std::vector<double> G, y, R;  // (m, d), (m), (m, m)
  Problem(double noise) {
    auto g = psgm::random::make_generator<ExecSpace>(17, 3, 0);
    for (int i = 0; i < m * d; ++i) G.push_back(g.normal());
    y = {1.5, -0.8};
    R = {noise * noise, 0.3 * noise * noise, 0.3 * noise * noise, 2.0 * noise * noise};  // correlated noise
  }
  /// Posterior N(Gᵀ S⁻¹ y, I − Gᵀ S⁻¹ G), S = G Gᵀ + R (m = 2: explicit inverse).
  void posterior(std::vector<double>& mean, std::vector<double>& cov) const {
    double S[4] = {R[0], R[1], R[2], R[3]};
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < m; ++j)
        for (int k = 0; k < d; ++k) S[i * m + j] += G[std::size_t(i * d + k)] * G[std::size_t(j * d + k)];
    double const det = S[0] * S[3] - S[1] * S[2];
    double const Si[4] = {S[3] / det, -S[1] / det, -S[2] / det, S[0] / det};
    mean.assign(d, 0.0);
    cov.assign(d * d, 0.0);
    for (int k = 0; k < d; ++k) {
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < m; ++j) mean[std::size_t(k)] += G[std::size_t(i * d + k)] * Si[i * m + j] * y[std::size_t(j)];
      for (int l = 0; l < d; ++l) {
        double s = k == l ? 1.0 : 0.0;
        for (int i = 0; i < m; ++i)
          for (int j = 0; j < m; ++j) s -= G[std::size_t(i * d + k)] * Si[i * m + j] * G[std::size_t(j * d + l)];
        cov[std::size_t(k * d + l)] = s;
      }
    }
  }
};

template <class Method>
std::vector<double> guided_draws(psgm::model::SdeType type, Problem const& p, typename Method::Config const& config,
                                 int n, psgm::posterior::Guidance guidance) {
  ExecSpace space;
  psgm::model::SdeConfig sde;
  sde.type = type;
  std::vector<double> I(d * d, 0.0);
  for (int k = 0; k < d; ++k) I[std::size_t(k * d + k)] = 1.0;
  Prior prior(space, psgm::sde::GaussianMixtureSpec::gaussian(channels, points, std::vector<double>(d, 0.0), I), sde);
  Guided guided(prior, m, guidance);
  psgm::sde::Sampler<Guided, Method> sampler(space, guided, config, n);
  std::vector<double> G, y, R;
  for (int b = 0; b < n; ++b) {
    G.insert(G.end(), p.G.begin(), p.G.end());
    y.insert(y.end(), p.y.begin(), p.y.end());
    R.insert(R.end(), p.R.begin(), p.R.end());
  }
  guided.set_observations(space, n, G.data(), y.data(), R.data());
  typename psgm::sde::Sampler<Guided, Method>::field_view x("x", n, channels, points);
  typename psgm::sde::Sampler<Guided, Method>::cond_view cond("cond", n, 3);
  sampler.draw_prior(space, x, 9, 0);
  auto const report = sampler.integrate(space, x, cond, 9, 0);
  REQUIRE(report.num_failed == 0);
  auto const h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, x);
  return std::vector<double>(h.data(), h.data() + h.size());
}

void check_moments(std::vector<double> const& a, int n, std::vector<double> const& mean, std::vector<double> const& cov,
                   double tol_cov) {
  std::vector<double> m1(d, 0.0), c(d * d, 0.0);
  for (int b = 0; b < n; ++b)
    for (int k = 0; k < d; ++k) m1[std::size_t(k)] += a[std::size_t(b * d + k)] / n;
  for (int b = 0; b < n; ++b)
    for (int k = 0; k < d; ++k)
      for (int l = 0; l < d; ++l)
        c[std::size_t(k * d + l)] +=
            (a[std::size_t(b * d + k)] - m1[std::size_t(k)]) * (a[std::size_t(b * d + l)] - m1[std::size_t(l)]) / (n - 1);
  for (int k = 0; k < d; ++k) {
    double const se = std::sqrt(cov[std::size_t(k * d + k)] / n);
    INFO("coordinate " << k << ": mean " << m1[std::size_t(k)] << " vs " << mean[std::size_t(k)] << ", variance "
                       << c[std::size_t(k * d + k)] << " vs " << cov[std::size_t(k * d + k)]);
    CHECK(std::abs(m1[std::size_t(k)] - mean[std::size_t(k)]) < 4.5 * se + 0.01);
    for (int l = 0; l < d; ++l) CHECK(std::abs(c[std::size_t(k * d + l)] - cov[std::size_t(k * d + l)]) < tol_cov);
  }
}

}  // namespace

TEST_CASE("posterior/the guided score draws the exact posterior of a Gaussian prior", "[posterior]") {
  Problem const p(0.3);
  std::vector<double> mean, cov;
  p.posterior(mean, cov);
  int const n = 4000;
  // Both guidances are exact for N(0, I): the prior's covariance is the
  // model's, and the Jacobian's forward differences are exact for a linear
  // Tweedie mean.
  auto const guidance = GENERATE(psgm::posterior::Guidance::prior_covariance, psgm::posterior::Guidance::jacobian);
  INFO("guidance " << psgm::posterior::to_string(guidance));
  SECTION("EDM Heun, 32 levels") {
    psgm::sde::EdmHeun::Config c;
    c.steps = 32;
    check_moments(guided_draws<psgm::sde::EdmHeun>(psgm::model::SdeType::edm, p, c, n, guidance), n, mean, cov, 0.06);
  }
  SECTION("VP probability flow, Heun 64 steps") {
    psgm::sde::OdeHeun::Config c;
    c.steps = 64;
    check_moments(guided_draws<psgm::sde::OdeHeun>(psgm::model::SdeType::vp, p, c, n, guidance), n, mean, cov, 0.06);
  }
  SECTION("huge noise leaves the prior N(0, I)") {
    Problem const vague(1e6);
    psgm::sde::EdmHeun::Config c;
    c.steps = 32;
    std::vector<double> zero(d, 0.0), I(d * d, 0.0);
    for (int k = 0; k < d; ++k) I[std::size_t(k * d + k)] = 1.0;
    check_moments(guided_draws<psgm::sde::EdmHeun>(psgm::model::SdeType::edm, vague, c, n, guidance), n, zero, I, 0.08);
  }
}

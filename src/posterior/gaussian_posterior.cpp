// Exact Gaussian conditioning of whitened fields on linear observations
// (include/psgm/posterior/GaussianPosterior.hpp).
#include <psgm/core/Random.hpp>
#include <psgm/model/GaussianEmulator.hpp>
#include <psgm/posterior/GaussianPosterior.hpp>
#include <psgm/posterior/impl/SmallCholesky.hpp>

#include <Kokkos_Core.hpp>
#include <Kokkos_Random.hpp>

#include <cmath>
#include <cstring>

namespace psgm {
namespace posterior {

namespace {

using HostSpace = Kokkos::DefaultHostExecutionSpace;

using HostMatrix = Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>;
using HostVector = Kokkos::View<double*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>;

/// In-place Cholesky factor (lower) of the m × m SPD matrix S (row-major).
void cholesky(int m, std::vector<double>& S) {
  double pivot = 0;
  int const j = Impl::cholesky_in_place(m, HostMatrix(S.data(), m, m), pivot);
  require<NumericalError>(j < 0, "posterior: the observations' covariance G Gᵀ + R is not positive definite (pivot ",
                          j, " = ", pivot, ")");
}

/// b ← S⁻¹ b with the Cholesky factor L of S.
void cholesky_solve(int m, std::vector<double> const& L, double* b) {
  Impl::cholesky_solve(m, HostMatrix(const_cast<double*>(L.data()), m, m), HostVector(b, m));
}

/// The Cholesky factor of G_S G_Sᵀ + R over the coordinates [lo, hi).
std::vector<double> innovation_factor(LatentObservation const& obs, int lo, int hi) {
  int const m = obs.m, F = obs.F;
  std::vector<double> S(std::size_t(m) * m);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j <= i; ++j) {
      double s = 0;
      for (int k = lo; k < hi; ++k) s += obs.G[std::size_t(i) * F + k] * obs.G[std::size_t(j) * F + k];
      S[std::size_t(i * m + j)] = S[std::size_t(j * m + i)] = s + (i == j ? obs.noise_var[std::size_t(i)] : 0.0);
    }
  cholesky(m, S);
  return S;
}

void check_grid(model::Whitening const& w, ObservationOperator const& H) {
  require(H.channels() == w.channels && H.num_points() == w.num_points, "posterior: the observations are on a grid of ",
          H.channels(), " channels and ", H.num_points(), " points; the model's fields have ", w.channels, " and ",
          w.num_points);
}

}  // namespace

LatentObservation latent_observation(model::Whitening const& w, ObservationOperator const& H, double const* mu,
                                     double const* sigma) {
  check_grid(w, H);
  int const m = H.size(), F = w.num_free(), P = w.channels * w.num_points;
  LatentObservation obs;
  obs.m = m;
  obs.F = F;
  obs.G.assign(std::size_t(m) * F, 0.0);
  obs.residual.resize(std::size_t(m));
  obs.noise_var.resize(std::size_t(m));
  // Free-point index of each flat point (-1: pinned, read from μ alone).
  std::vector<int> free_of(std::size_t(P), -1);
  for (int j = 0; j < F; ++j) free_of[std::size_t(w.free_points[std::size_t(j)])] = j;
  for (int i = 0; i < m; ++i) {
    auto const& o = H.observations()[std::size_t(i)];
    obs.residual[std::size_t(i)] = o.value - H.apply(i, mu);
    obs.noise_var[std::size_t(i)] = o.noise_std * o.noise_std;
    for (int t = 0; t < 2; ++t) {
      auto const p = H.index(i, t);
      double const h = H.weight(i, t);
      int const j = free_of[std::size_t(p)];
      if (h == 0.0 || j < 0) continue;
      // Row j of B = V Λ^½, scaled by h σ_p.
      double const* v = w.basis.data() + std::size_t(j) * F;
      double* g = obs.G.data() + std::size_t(i) * F;
      for (int k = 0; k < F; ++k) g[k] += h * sigma[p] * v[k] * std::sqrt(w.eigenvalues[std::size_t(k)]);
    }
  }
  return obs;
}

void condition_latent(LatentObservation const& obs, int lo, int hi, double const* noise, double* a) {
  int const m = obs.m, F = obs.F;
  require(0 <= lo && lo <= hi && hi <= F, "posterior: coordinates [", lo, ", ", hi, ") of ", F);
  if (m == 0 || lo == hi) return;
  auto const L = innovation_factor(obs, lo, hi);
  // d = y − Hμ − G a − ε, then a_S += G_Sᵀ S⁻¹ d.
  std::vector<double> d(static_cast<std::size_t>(m));
  for (int i = 0; i < m; ++i) {
    double ga = 0;
    for (int k = 0; k < F; ++k) ga += obs.G[std::size_t(i) * F + k] * a[k];
    d[std::size_t(i)] = obs.residual[std::size_t(i)] - ga - std::sqrt(obs.noise_var[std::size_t(i)]) * noise[i];
  }
  cholesky_solve(m, L, d.data());
  for (int k = lo; k < hi; ++k) {
    double s = 0;
    for (int i = 0; i < m; ++i) s += obs.G[std::size_t(i) * F + k] * d[std::size_t(i)];
    a[k] += s;
  }
}

void gaussian_posterior_moments(model::Whitening const& w, ObservationOperator const& H, double const* physical,
                                double* mean, double* stddev) {
  ScopedRegion region("psgm::posterior::gaussian_posterior_moments");
  check_grid(w, H);
  int const P = w.channels * w.num_points, F = w.num_free(), m = H.size();
  std::vector<double> mu(static_cast<std::size_t>(P)), sigma(static_cast<std::size_t>(P));
  w.moments(physical, mu.data(), sigma.data());
  auto const obs = latent_observation(w, H, mu.data(), sigma.data());
  auto const L = innovation_factor(obs, 0, F);
  // Posterior of a: mean Gᵀ S⁻¹ (y − Hμ), covariance I − Gᵀ S⁻¹ G. A free
  // point p = μ_p + σ_p b_pᵀ a (b_p the row of B): its mean μ_p + σ_p b_pᵀ ā,
  // its variance σ_p² (b_pᵀ b_p − w_pᵀ S⁻¹ w_p) with w_p = G b_p.
  std::vector<double> alpha(obs.residual);
  cholesky_solve(m, L, alpha.data());
  std::vector<double> abar(std::size_t(F), 0.0);
  for (int k = 0; k < F; ++k)
    for (int i = 0; i < m; ++i) abar[std::size_t(k)] += obs.G[std::size_t(i) * F + k] * alpha[std::size_t(i)];
  for (int p = 0; p < P; ++p) {
    mean[p] = mu[std::size_t(p)];
    stddev[p] = 0.0;
  }
  std::vector<double> b(static_cast<std::size_t>(F)), wp(static_cast<std::size_t>(m));
  for (int j = 0; j < F; ++j) {
    int const p = w.free_points[std::size_t(j)];
    double const* v = w.basis.data() + std::size_t(j) * F;
    double bb = 0, ba = 0;
    for (int k = 0; k < F; ++k) {
      b[std::size_t(k)] = v[k] * std::sqrt(w.eigenvalues[std::size_t(k)]);
      bb += b[std::size_t(k)] * b[std::size_t(k)];
      ba += b[std::size_t(k)] * abar[std::size_t(k)];
    }
    for (int i = 0; i < m; ++i) {
      double s = 0;
      for (int k = 0; k < F; ++k) s += obs.G[std::size_t(i) * F + k] * b[std::size_t(k)];
      wp[std::size_t(i)] = s;
    }
    std::vector<double> sw(wp);
    cholesky_solve(m, L, sw.data());
    double wsw = 0;
    for (int i = 0; i < m; ++i) wsw += wp[std::size_t(i)] * sw[std::size_t(i)];
    mean[p] = mu[std::size_t(p)] + sigma[std::size_t(p)] * ba;
    stddev[p] = sigma[std::size_t(p)] * std::sqrt(std::max(bb - wsw, 0.0));
  }
}

void sample_gaussian_posterior(model::Whitening const& w, ObservationOperator const& H, int batch,
                               double const* conditions, std::uint64_t seed, std::int64_t first_sample, double* out) {
  ScopedRegion region("psgm::posterior::sample_gaussian_posterior");
  check_grid(w, H);
  int const F = w.num_free(), P = w.channels * w.num_points, m = H.size();
  require(w.components == F, "Gaussian posterior: the whitening keeps ", w.components, " of ", F, " coordinates");
  std::vector<double> a(static_cast<std::size_t>(F)), eps(static_cast<std::size_t>(m));
  LatentObservation obs;
  model::for_each_with_moments(w, batch, conditions, [&](int b, double const* mu, double const* sigma, bool fresh) {
    if (fresh) obs = latent_observation(w, H, mu, sigma);
    auto gen = random::sample_generator<HostSpace>(seed, first_sample + b, 0);
    for (auto& v : a) v = gen.normal();
    auto noise = random::sample_generator<HostSpace>(seed, first_sample + b, observation_draw);
    for (auto& v : eps) v = noise.normal();
    condition_latent(obs, 0, F, eps.data(), a.data());
    w.decode(mu, sigma, a.data(), nullptr, out + std::size_t(b) * P);
  });
}

}  // namespace posterior
}  // namespace psgm

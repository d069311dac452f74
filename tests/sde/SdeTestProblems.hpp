// Test problems of the sampler tests: a Gaussian on 2 x 4 points whose
// eigendecomposition is known by construction (so the references below do not
// depend on psgm's own eigensolver), and helpers to draw samples and to
// measure their moments in units of the Monte-Carlo error.
#pragma once

#include <psgm/model/ModelDescription.hpp>
#include <psgm/sde/AnalyticScore.hpp>
#include <psgm/sde/Sampler.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

namespace psgm_test {

/// The default SDE configuration of one type.
inline psgm::model::SdeConfig sde_of(psgm::model::SdeType type) {
  psgm::model::SdeConfig s;
  s.type = type;
  return s;
}

constexpr int channels = 2;
constexpr int num_points = 4;
constexpr int dim = channels * num_points;  // d = 8

/// An orthonormal basis known in closed form: the DCT-II basis of R^d.
/// Column j of the returned row-major matrix is basis vector j.
inline std::vector<double> dct_basis(int d) {
  double const pi = 3.14159265358979323846;
  std::vector<double> q(static_cast<std::size_t>(d) * d);
  for (int i = 0; i < d; ++i)
    for (int j = 0; j < d; ++j) {
      double const scale = j == 0 ? std::sqrt(1.0 / d) : std::sqrt(2.0 / d);
      q[static_cast<std::size_t>(i) * d + j] = scale * std::cos(pi * (i + 0.5) * j / d);
    }
  return q;
}

/// The test Gaussian: Sigma = Q diag(lambda) Q^T, lambda spread over a decade
/// and a half, a non-zero mean, and a mean that moves with the condition.
struct GaussianProblem {
  std::vector<double> q = dct_basis(dim);
  std::vector<double> lambda{0.08, 0.15, 0.25, 0.4, 0.6, 0.9, 1.3, 2.0};
  std::vector<double> mean{0.6, 0.3, -0.2, -0.5, 0.4, 0.1, -0.3, 0.2};
  std::vector<double> gradient;  // d x 3

  GaussianProblem() {
    gradient.assign(3 * dim, 0.0);
    for (int i = 0; i < dim; ++i) {
      gradient[3 * i + 0] = 0.5 * std::cos(0.7 * i);
      gradient[3 * i + 1] = -0.3;
      gradient[3 * i + 2] = 0.2 * (i % 2 ? 1 : -1);
    }
  }
  std::vector<double> covariance() const {
    std::vector<double> s(dim * dim, 0.0);
    for (int i = 0; i < dim; ++i)
      for (int j = 0; j < dim; ++j)
        for (int k = 0; k < dim; ++k) s[i * dim + j] += q[i * dim + k] * lambda[k] * q[j * dim + k];
    // Exact symmetry (the summation order above differs for (i, j) and (j, i)).
    for (int i = 0; i < dim; ++i)
      for (int j = 0; j < i; ++j) s[j * dim + i] = s[i * dim + j];
    return s;
  }
  psgm::sde::GaussianMixtureSpec spec(bool moving = true) const {
    return psgm::sde::GaussianMixtureSpec::gaussian(channels, num_points, mean, covariance(),
                                                    moving ? gradient : std::vector<double>{});
  }
  std::vector<double> mean_at(std::array<double, 3> const& c) const {
    std::vector<double> mu = mean;
    for (int i = 0; i < dim; ++i)
      for (int j = 0; j < 3; ++j) mu[i] += gradient[3 * i + j] * c[j];
    return mu;
  }
  /// Coordinates of x in the eigenbasis: y_j = sum_i q_ij x_i.
  std::vector<double> to_eigen(std::vector<double> const& x) const {
    std::vector<double> y(dim, 0.0);
    for (int i = 0; i < dim; ++i)
      for (int j = 0; j < dim; ++j) y[j] += q[i * dim + j] * x[i];
    return y;
  }
  /// The known eigendecomposition in psgm's format (for gaussian_flow_map).
  psgm::sde::SymmetricEigen eigen() const {
    psgm::sde::SymmetricEigen e;
    e.dimension = dim;
    e.values = lambda;
    e.vectors = q;
    return e;
  }
};

/// A normalisation that is not the identity, so that the tests see the
/// condition and field maps act: l is log-transformed and min-max scaled.
inline psgm::model::Normalization test_normalization() {
  psgm::model::Normalization n;
  n.field_mean = {1000.0, 2e-3};
  n.field_std = {5.0, 3e-3};
  n.cond_min = {std::log(2e-6), -0.2, 0.0};
  n.cond_max = {std::log(2e-5), 0.2, 50.0};
  n.cond_log = {true, false, false};
  return n;
}

/// Whitened-moment statistics of samples of N(mu, Sigma) in units of their
/// Monte-Carlo standard error: y = diag(lambda)^(-1/2) Q^T (x - mu) ~ N(0, I), so
/// mean_j ~ N(0, 1/n), cov_jj - 1 ~ N(0, 2/n), cov_jk ~ N(0, 1/n) (j != k).
struct MomentCheck {
  double max_mean_z = 0;  ///< max_j |mean_j| sqrt(n)
  double max_var_z = 0;   ///< max_j |cov_jj - 1| sqrt(n / 2)
  double max_cov_z = 0;   ///< max_{j != k} |cov_jk| sqrt(n)
  std::vector<double> mean, variance;  ///< whitened mean and variance per eigen-direction
};

inline MomentCheck whitened_moments(GaussianProblem const& p, std::vector<std::vector<double>> const& samples,
                                    std::vector<double> const& mu, std::vector<double> const& lambda) {
  std::size_t const n = samples.size();
  std::vector<std::vector<double>> y(n);
  std::vector<double> const mu_y = p.to_eigen(mu);
  for (std::size_t s = 0; s < n; ++s) {
    y[s] = p.to_eigen(samples[s]);
    for (int j = 0; j < dim; ++j) y[s][j] = (y[s][j] - mu_y[j]) / std::sqrt(lambda[j]);
  }
  MomentCheck c;
  c.mean.assign(dim, 0.0);
  for (auto const& v : y)
    for (int j = 0; j < dim; ++j) c.mean[j] += v[j] / n;
  std::vector<double> cov(dim * dim, 0.0);
  for (auto const& v : y)
    for (int j = 0; j < dim; ++j)
      for (int k = 0; k < dim; ++k) cov[j * dim + k] += (v[j] - c.mean[j]) * (v[k] - c.mean[k]) / (n - 1.0);
  double const sn = std::sqrt(double(n));
  for (int j = 0; j < dim; ++j) {
    c.variance.push_back(cov[j * dim + j]);
    c.max_mean_z = std::max(c.max_mean_z, std::fabs(c.mean[j]) * sn);
    c.max_var_z = std::max(c.max_var_z, std::fabs(cov[j * dim + j] - 1.0) * sn / std::sqrt(2.0));
    for (int k = 0; k < dim; ++k)
      if (k != j) c.max_cov_z = std::max(c.max_cov_z, std::fabs(cov[j * dim + k]) * sn);
  }
  return c;
}

/// Draws n samples (in batches of at most the sampler's max_batch) at the
/// physical conditions given per sample, and returns them on the host as
/// normalised fields (physical fields mapped back through `norm`).
template <class Sampler>
std::vector<std::vector<double>> draw(typename Sampler::execution_space const& space, Sampler& sampler,
                                      std::vector<std::array<double, 3>> const& conditions, std::uint64_t seed,
                                      psgm::model::Normalization const& norm, psgm::sde::SampleReport* report = nullptr,
                                      std::int64_t first = 0) {
  using field_view = typename Sampler::field_view;
  int const n = static_cast<int>(conditions.size());
  std::vector<std::vector<double>> out;
  for (int start = 0; start < n; start += sampler.max_batch()) {
    int const batch = std::min(sampler.max_batch(), n - start);
    Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> cond("psgm::test::conditions", batch, 3);
    for (int b = 0; b < batch; ++b)
      for (int j = 0; j < 3; ++j) cond(b, j) = conditions[start + b][j];
    field_view fields("psgm::test::fields", batch, channels, num_points);
    auto r = sampler.sample(space, cond, seed, first + start, fields);
    if (report) *report = r;
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, fields);
    for (int b = 0; b < batch; ++b) {
      std::vector<double> x(dim);
      for (int c = 0; c < channels; ++c)
        for (int i = 0; i < num_points; ++i)
          x[c * num_points + i] = (double(h(b, c, i)) - norm.field_mean[c]) / norm.field_std[c];
      out.push_back(std::move(x));
    }
  }
  return out;
}

}  // namespace psgm_test

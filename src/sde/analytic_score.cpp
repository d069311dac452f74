// Host parts of the analytic score models: validation, the eigendecomposition
// of the covariances (Eigen stays here, in src/), and the exact
// probability-flow map of a Gaussian (docs/sampling.md §5).
#include <psgm/sde/AnalyticScore.hpp>

#include "../core/Dense.hpp"  // the eigensolver: one unit (Dense.hpp)

#include <Eigen/Dense>

#include <cmath>

namespace psgm {
namespace sde {

std::vector<double> GaussianMixtureSpec::mean_at(int k, std::array<double, 3> const& c) const {
  std::vector<double> mu = means.at(k);
  if (!condition_gradient.empty())
    for (std::size_t i = 0; i < mu.size(); ++i)
      for (int j = 0; j < 3; ++j) mu[i] += condition_gradient[i * 3 + j] * c[j];
  return mu;
}

void GaussianMixtureSpec::validate() const {
  require(channels >= 1 && num_points >= 1, "Gaussian mixture: need channels >= 1 and num_points >= 1, got ", channels,
          " and ", num_points);
  std::size_t const d = static_cast<std::size_t>(dimension());
  require(!weights.empty(), "Gaussian mixture: no components (weights is empty)");
  require(means.size() == weights.size() && covariances.size() == weights.size(), "Gaussian mixture: ",
          weights.size(), " weights but ", means.size(), " means and ", covariances.size(),
          " covariances (need one of each per component)");
  for (std::size_t k = 0; k < weights.size(); ++k) {
    require(std::isfinite(weights[k]) && weights[k] > 0, "Gaussian mixture: weight ", k, " = ", weights[k],
            " must be finite and > 0");
    require(means[k].size() == d, "Gaussian mixture: mean ", k, " has ", means[k].size(), " values, expected d = ",
            d, " (channels * num_points)");
    for (double v : means[k]) require(std::isfinite(v), "Gaussian mixture: mean ", k, " holds a non-finite value");
    require(covariances[k].size() == d * d, "Gaussian mixture: covariance ", k, " has ", covariances[k].size(),
            " values, expected d * d = ", d * d);
  }
  require(condition_gradient.empty() || condition_gradient.size() == 3 * d, "Gaussian mixture: condition_gradient has ",
          condition_gradient.size(), " values, expected 0 or d * 3 = ", 3 * d);
  for (double v : condition_gradient)
    require(std::isfinite(v), "Gaussian mixture: condition_gradient holds a non-finite value");
}

GaussianMixtureSpec GaussianMixtureSpec::gaussian(int channels, int num_points, std::vector<double> mean,
                                                  std::vector<double> covariance,
                                                  std::vector<double> condition_gradient) {
  GaussianMixtureSpec s;
  s.channels = channels;
  s.num_points = num_points;
  s.weights = {1.0};
  s.means = {std::move(mean)};
  s.covariances = {std::move(covariance)};
  s.condition_gradient = std::move(condition_gradient);
  s.validate();
  return s;
}

SymmetricEigen symmetric_eigen(std::vector<double> const& a, int d, std::string const& what) {
  require(d >= 1 && a.size() == static_cast<std::size_t>(d) * d, what, ": expected a ", d, " x ", d, " matrix, got ",
          a.size(), " values");
  Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> const> m(a.data(), d, d);
  require(m.allFinite(), what, ": holds non-finite values");
  double const scale = m.cwiseAbs().maxCoeff();
  double const asym = (m - m.transpose()).cwiseAbs().maxCoeff();
  require(asym <= 1e-12 * scale, what, ": is not symmetric (max |A - A^T| = ", asym, ", max |A| = ", scale, ")");
  Eigen::MatrixXd vectors;
  Eigen::VectorXd values;
  require(dense::symmetric_eigen(0.5 * (m + m.transpose()), vectors, values), what,
          ": the eigendecomposition failed");
  require(values(0) > 1e-14 * values(d - 1) && values(0) > 0, what,
          ": is not positive definite (smallest eigenvalue ", values(0), ", largest ", values(d - 1),
          "); a covariance needs all eigenvalues > 0");
  SymmetricEigen e;
  e.dimension = d;
  e.values.assign(values.data(), values.data() + d);
  e.vectors.resize(static_cast<std::size_t>(d) * d);
  for (int i = 0; i < d; ++i)
    for (int j = 0; j < d; ++j) e.vectors[static_cast<std::size_t>(i) * d + j] = vectors(i, j);
  return e;
}

void gaussian_flow_map(GaussianMixtureSpec const& spec, SymmetricEigen const& eigen, DiffusionProcess const& process,
                       std::array<double, 3> const& normalised_condition, double t_from, double t_to,
                       std::vector<double>& x) {
  require(spec.num_components() == 1, "gaussian_flow_map: the spec has ", spec.num_components(),
          " components; the exact flow map is known in closed form for a single Gaussian only");
  int const d = spec.dimension();
  require(static_cast<int>(x.size()) == d && eigen.dimension == d, "gaussian_flow_map: x has ", x.size(),
          " values and the eigendecomposition dimension ", eigen.dimension, ", expected ", d);
  std::vector<double> const mu = spec.mean_at(0, normalised_condition);
  double const m0 = process.mean(t_from), v0 = process.variance(t_from);
  double const m1 = process.mean(t_to), v1 = process.variance(t_to);
  std::vector<double> y(d, 0.0), mu_y(d, 0.0);
  for (int i = 0; i < d; ++i)
    for (int j = 0; j < d; ++j) {
      double const q = eigen.vectors[static_cast<std::size_t>(i) * d + j];
      y[j] += q * x[i];
      mu_y[j] += q * mu[i];
    }
  for (int j = 0; j < d; ++j) {
    double const lam = eigen.values[j];
    double const ratio = std::sqrt((m1 * m1 * lam + v1) / (m0 * m0 * lam + v0));
    y[j] = m1 * mu_y[j] + ratio * (y[j] - m0 * mu_y[j]);
  }
  for (int i = 0; i < d; ++i) {
    double s = 0;
    for (int j = 0; j < d; ++j) s += eigen.vectors[static_cast<std::size_t>(i) * d + j] * y[j];
    x[i] = s;
  }
}

model::Normalization identity_normalization() {
  model::Normalization n;
  n.field_mean = {0.0, 0.0};
  n.field_std = {1.0, 1.0};
  n.cond_min = {0.0, 0.0, 0.0};
  n.cond_max = {1.0, 1.0, 1.0};
  n.cond_log = {false, false, false};
  return n;
}

}  // namespace sde
}  // namespace psgm

// Condition-aware whitening (include/psgm/model/Whitening.hpp): the regressions
// of μ and log σ over conditions, the pinned points and the Karhunen–Loève
// basis of the whitened residuals. Host-only float64 (Eigen).
#include <psgm/core/Error.hpp>
#include <psgm/model/ConditionSchema.hpp>
#include <psgm/model/Whitening.hpp>

#include "../core/Dense.hpp"  // the eigensolver, Cholesky and products: one unit (Dense.hpp)

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <numeric>
#include <random>
#include <set>

namespace psgm {
namespace model {

namespace {
using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXd;
}  // namespace

// ================================================================== schema
ConditionSchema ConditionSchema::porous_electrode() {
  return ConditionSchema{{"l", "U0", "F_right"}, {"m", "V", "1"}, {1, 0, 0}};
}

void ConditionSchema::validate() const {
  require(!names.empty(), "condition schema: no columns");
  require(units.size() == names.size() && log.size() == names.size(), "condition schema: ", names.size(),
          " names but ", units.size(), " units and ", log.size(), " log flags (need one of each per column)");
  std::set<std::string> seen;
  for (auto const& n : names) {
    require(!n.empty(), "condition schema: a column has an empty name");
    require(seen.insert(n).second, "condition schema: column name '", n, "' appears twice");
  }
  for (std::size_t k = 0; k < log.size(); ++k)
    require(log[k] <= 1, "condition schema: log flag of column '", names[k], "' is ", int(log[k]),
            "; expected 0 or 1");
}

std::vector<double> ConditionSchema::transform(double const* physical) const {
  std::vector<double> out(names.size());
  for (std::size_t k = 0; k < names.size(); ++k) {
    double const v = physical[k];
    require(std::isfinite(v), "condition column '", names[k], "' = ", v, " is not finite");
    if (log[k]) {
      require(v > 0, "condition column '", names[k], "' = ", v,
              " must be > 0 (the model uses its logarithm; schema: log = 1)");
      out[k] = std::log(v);
    } else {
      out[k] = v;
    }
  }
  return out;
}

// ================================================================== digamma
double digamma(double x) {
  require(x > 0 && std::isfinite(x), "digamma: x = ", x, " must be finite and > 0");
  double r = 0;
  while (x < 10) {  // ψ(x) = ψ(x + 1) − 1/x
    r -= 1.0 / x;
    x += 1.0;
  }
  double const i2 = 1.0 / (x * x);
  // ln x − 1/(2x) − Σ B_2k / (2k x^2k)
  double const series =
      i2 * (1.0 / 12 - i2 * (1.0 / 120 - i2 * (1.0 / 252 - i2 * (1.0 / 240 - i2 * (1.0 / 132 - i2 * (691.0 / 32760))))));
  return r + std::log(x) - 0.5 / x - series;
}

// ================================================================== kernel ridge regression
void KernelRidge::predict(double const* feature, double* out) const {
  std::int64_t const M = num_centers();
  for (int d = 0; d < num_outputs; ++d) out[d] = 0.0;
  for (std::int64_t m = 0; m < M; ++m) {
    double d2 = 0;
    for (int k = 0; k < num_features; ++k) {
      double const diff = (feature[k] - centers[m * num_features + k]) / length_scales[std::size_t(k)];
      d2 += diff * diff;
    }
    double const kv = std::exp(-0.5 * d2);
    double const* w = weights.data() + m * num_outputs;
    for (int d = 0; d < num_outputs; ++d) out[d] += kv * w[d];
  }
  // The offset last: a constant output (all weights zero) is reproduced exactly.
  for (int d = 0; d < num_outputs; ++d) out[d] = offset[d] + out[d];
}

void KernelRidge::validate(std::string const& what) const {
  require(num_features >= 1 && num_outputs >= 1, what, ": ", num_features, " features and ", num_outputs,
          " outputs");
  require(length_scales.size() == std::size_t(num_features), what, ": ", length_scales.size(),
          " length scales for ", num_features, " features");
  for (double l : length_scales)
    require(std::isfinite(l) && l > 0, what, ": length scale ", l, " must be finite and > 0");
  require(std::isfinite(ridge) && ridge > 0, what, ": ridge ", ridge, " must be finite and > 0");
  require(!centers.empty() && centers.size() % std::size_t(num_features) == 0, what, ": ", centers.size(),
          " center values are not a whole number of ", num_features, "-vectors");
  require(weights.size() == std::size_t(num_centers()) * std::size_t(num_outputs), what, ": ", weights.size(),
          " weights for ", num_centers(), " centers x ", num_outputs, " outputs");
  require(offset.size() == std::size_t(num_outputs), what, ": ", offset.size(), " offsets for ", num_outputs,
          " outputs");
  for (double v : centers) require(std::isfinite(v), what, ": a non-finite center");
  for (double v : weights) require(std::isfinite(v), what, ": a non-finite weight");
  for (double v : offset) require(std::isfinite(v), what, ": a non-finite offset");
}

int RidgeSet::num_outputs() const {
  int d = 0;
  for (auto const& p : parts) d += p.num_outputs;
  return d;
}

void RidgeSet::predict(double const* feature, double* out) const {
  for (auto const& p : parts) {
    p.predict(feature, out);
    out += p.num_outputs;
  }
}

void RidgeSet::validate(std::string const& what) const {
  require(!parts.empty(), what, ": no regression");
  for (std::size_t i = 0; i < parts.size(); ++i) {
    parts[i].validate(parts.size() == 1 ? what : what + " (part " + std::to_string(i) + ")");
    require(parts[i].num_features == parts.front().num_features, what, ": part ", i, " has ",
            parts[i].num_features, " features, part 0 has ", parts.front().num_features);
  }
}

namespace {

Matrix rbf_kernel(Matrix const& a, Matrix const& b, std::vector<double> const& length_scales) {
  Matrix as = a, bs = b;
  for (Eigen::Index k = 0; k < a.cols(); ++k) {
    as.col(k) /= length_scales[std::size_t(k)];
    bs.col(k) /= length_scales[std::size_t(k)];
  }
  Matrix k(a.rows(), b.rows());
  for (Eigen::Index i = 0; i < a.rows(); ++i)
    for (Eigen::Index j = 0; j < b.rows(); ++j) k(i, j) = std::exp(-0.5 * (as.row(i) - bs.row(j)).squaredNorm());
  return k;
}

/// One regression problem of fit_kernel_ridge: targets (M, D) and the weight
/// of each output in the cross-validation score.
struct RidgeTarget {
  Matrix const* y = nullptr;
  Vector weight;
};

/// Fits one KernelRidge per target on the same inputs x (M, K). (ℓ, λ) of each
/// is the pair of the options' grids with the smallest leave-one-out error
/// over (a subset of) the conditions: with K_S = Q Λ Qᵀ and G = (K_S + λ I)⁻¹,
/// the left-out residual of condition i is (G r)_i / G_ii (exact for KRR).
std::vector<KernelRidge> fit_kernel_ridge(Matrix const& x, std::vector<RidgeTarget> const& targets,
                                          WhiteningOptions const& options) {
  Eigen::Index const M = x.rows();
  int const K = static_cast<int>(x.cols());
  std::vector<KernelRidge> out(targets.size());
  std::vector<Matrix> residual(targets.size());
  for (std::size_t j = 0; j < targets.size(); ++j) {
    Matrix const& y = *targets[j].y;
    auto& r = out[j];
    r.num_features = K;
    r.num_outputs = static_cast<int>(y.cols());
    r.offset.resize(std::size_t(y.cols()));
    for (Eigen::Index d = 0; d < y.cols(); ++d) {
      bool constant = true;
      for (Eigen::Index m = 1; m < M && constant; ++m) constant = y(m, d) == y(0, d);
      r.offset[std::size_t(d)] = constant ? y(0, d) : y.col(d).mean();
    }
    residual[j] = y;
    for (Eigen::Index d = 0; d < y.cols(); ++d) residual[j].col(d).array() -= r.offset[std::size_t(d)];
  }

  // Cross-validation subset (all conditions when there are few).
  std::vector<Eigen::Index> subset(static_cast<std::size_t>(M));
  std::iota(subset.begin(), subset.end(), Eigen::Index(0));
  if (M > options.max_cv_conditions) {
    std::mt19937_64 rng(options.seed ^ 0x5EEDC0DEull);
    std::shuffle(subset.begin(), subset.end(), rng);
    subset.resize(std::size_t(options.max_cv_conditions));
    std::sort(subset.begin(), subset.end());
  }
  Eigen::Index const S = static_cast<Eigen::Index>(subset.size());
  Matrix xs(S, K);
  for (Eigen::Index i = 0; i < S; ++i) xs.row(i) = x.row(subset[std::size_t(i)]);
  std::vector<Matrix> rs(targets.size());
  for (std::size_t j = 0; j < targets.size(); ++j) {
    rs[j].resize(S, residual[j].cols());
    for (Eigen::Index i = 0; i < S; ++i) rs[j].row(i) = residual[j].row(subset[std::size_t(i)]);
  }

  // Leave-one-out error of every ridge for each target at the length scales
  // `ell`; keeps the best (ℓ, λ) of each target in `out`, returns whether any improved.
  std::vector<double> best(targets.size(), std::numeric_limits<double>::infinity());
  auto score = [&](std::vector<double> const& ell, std::vector<bool> const& which) {
    Eigen::MatrixXd q;
    Vector lam;
    require<NumericalError>(dense::symmetric_eigen(rbf_kernel(xs, xs, ell), q, lam),
                            "whitening: eigendecomposition of the ", S, "x", S, " kernel matrix failed");
    lam = lam.cwiseMax(0.0);
    Eigen::MatrixXd const q2 = q.array().square().matrix();
    bool improved = false;
    for (std::size_t j = 0; j < targets.size(); ++j) {
      if (!which[j]) continue;
      Eigen::MatrixXd const qtr = dense::transpose_times(q, rs[j]);
      Vector const& w = targets[j].weight;
      double const counted = std::max<double>(1.0, double((w.array() > 0).count()));
      for (double lambda : options.ridges) {
        Vector const inv = (lam.array() + lambda).inverse().matrix();
        Vector const g = dense::times(q2, inv);  // G_ii
        Eigen::MatrixXd const alpha = dense::scaled_product(q, inv, qtr);
        double err = 0;
        for (Eigen::Index i = 0; i < S; ++i)
          for (Eigen::Index d = 0; d < alpha.cols(); ++d) {
            double const e = alpha(i, d) / g(i);
            err += w(d) * e * e;
          }
        err /= double(S) * counted;  // mean over conditions and weighted outputs
        if (std::isfinite(err) && err < best[j] * (1 - 1e-9)) {
          best[j] = err;
          out[j].length_scales = ell;
          out[j].ridge = lambda;
          out[j].cv_error = err;
          improved = true;
        }
      }
    }
    return improved;
  };
  std::vector<bool> const all(targets.size(), true);
  for (double ell : options.length_scales) score(std::vector<double>(std::size_t(K), ell), all);
  // Coordinate search over the per-feature length scales, each target on its own.
  for (std::size_t j = 0; j < targets.size(); ++j) {
    std::vector<bool> only(targets.size(), false);
    only[j] = true;
    for (int sweep = 0; sweep < options.ard_sweeps && K > 1; ++sweep) {
      bool moved = false;
      for (int k = 0; k < K; ++k) {
        std::vector<double> const base = out[j].length_scales;
        for (double f : options.ard_factors) {
          std::vector<double> trial = base;
          trial[std::size_t(k)] *= f;
          moved |= score(trial, only);
        }
      }
      if (!moved) break;
    }
  }

  // Final fits on every condition with the chosen hyperparameters.
  for (std::size_t j = 0; j < targets.size(); ++j) {
    auto& r = out[j];
    require<NumericalError>(std::isfinite(best[j]), "whitening: no finite cross-validation error for any (length ",
                            "scale, ridge) pair");
    Matrix kmat = rbf_kernel(x, x, r.length_scales);
    kmat.diagonal().array() += r.ridge;
    Eigen::MatrixXd solution;
    require<NumericalError>(dense::cholesky_solve(kmat, residual[j], solution), "whitening: the ", M, "x", M,
                            " kernel matrix + ridge ", r.ridge, " is not positive definite");
    Matrix const alpha = solution;
    r.centers.assign(x.data(), x.data() + x.size());
    r.weights.assign(alpha.data(), alpha.data() + alpha.size());
    // Constant outputs: exactly zero weights, so predict() returns the constant.
    for (int d = 0; d < r.num_outputs; ++d)
      if (residual[j].col(d).cwiseAbs().maxCoeff() == 0.0)
        for (Eigen::Index m = 0; m < M; ++m) r.weights[std::size_t(m * r.num_outputs + d)] = 0.0;
  }
  return out;
}

/// sum += Σ z zᵀ over columns z written one at a time (next(), then add()),
/// multiplied in blocks of 256 columns: a rank-256 update instead of one
/// rank-1 update per sample. flush() adds what is left.
class GramAccumulator {
 public:
  explicit GramAccumulator(Eigen::MatrixXd& sum) : sum_(sum), block_(sum.rows(), 256) {}
  double* next() { return block_.col(filled_).data(); }
  void add() {
    if (++filled_ == block_.cols()) flush();
  }
  void flush() {
    if (filled_ == 0) return;
    dense::add_gram(sum_, block_, filled_);
    filled_ = 0;
  }

 private:
  Eigen::MatrixXd& sum_;
  Eigen::MatrixXd block_;  // column-major: each column is contiguous
  Eigen::Index filled_ = 0;
};

}  // namespace

// ================================================================== options
void WhiteningOptions::validate() const {
  require(components >= 0, "whitening: components = ", components, " must be >= 0 (0: all)");
  require(pinned_tolerance >= 0 && pinned_tolerance < 1, "whitening: pinned_tolerance = ", pinned_tolerance,
          " must be in [0, 1)");
  require(!length_scales.empty() && !ridges.empty(), "whitening: the length-scale and ridge grids must not be empty");
  for (double v : length_scales)
    require(std::isfinite(v) && v > 0, "whitening: length scale ", v, " must be finite and > 0");
  for (double v : ridges) require(std::isfinite(v) && v > 0, "whitening: ridge ", v, " must be finite and > 0");
  for (double v : ard_factors)
    require(std::isfinite(v) && v > 0, "whitening: ARD factor ", v, " must be finite and > 0");
  require(ard_sweeps >= 0, "whitening: ard_sweeps = ", ard_sweeps, " must be >= 0");
  require(max_cv_conditions >= 3, "whitening: max_cv_conditions = ", max_cv_conditions, " must be >= 3");
}

// ================================================================== Whitening
double Whitening::explained_variance() const {
  double total = 0, lead = 0;
  for (std::size_t k = 0; k < eigenvalues.size(); ++k) {
    total += eigenvalues[k];
    if (int(k) < components) lead += eigenvalues[k];
  }
  return total > 0 ? lead / total : 1.0;
}

std::vector<double> Whitening::features(double const* physical) const {
  auto f = schema.transform(physical);
  for (std::size_t k = 0; k < f.size(); ++k) f[k] = (f[k] - feature_mean[k]) / feature_scale[k];
  return f;
}

bool Whitening::is_in_training_range(double const* physical, double tolerance) const {
  auto const f = features(physical);
  auto const& centers = mean.parts.front();  // every part has the training conditions as centers
  std::int64_t const M = centers.num_centers();
  int const K = num_conditions();
  for (int k = 0; k < K; ++k) {
    double lo = centers.centers[std::size_t(k)], hi = lo;
    for (std::int64_t m = 1; m < M; ++m) {
      double const v = centers.centers[std::size_t(m * K + k)];
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    double const slack = tolerance * std::max(hi - lo, 1.0);
    if (f[std::size_t(k)] < lo - slack || f[std::size_t(k)] > hi + slack) return false;
  }
  return true;
}

void Whitening::moments(double const* physical, double* mu, double* sigma) const {
  auto const f = features(physical);
  mean.predict(f.data(), mu);
  int const P = channels * num_points, F = num_free();
  for (int p = 0; p < P; ++p) sigma[p] = 0.0;
  std::vector<double> v(static_cast<std::size_t>(F));
  if (spread_form == SpreadForm::log_std) {
    log_std.predict(f.data(), v.data());
    for (int j = 0; j < F; ++j) sigma[free_points[j]] = std::exp(v[std::size_t(j)]);
    return;
  }
  std::vector<double> level(static_cast<std::size_t>(channels));
  spread_level.predict(f.data(), level.data());
  spread_shape.predict(f.data(), v.data());
  for (int j = 0; j < F; ++j) {
    int const p = free_points[j];
    double const shape = std::max(v[std::size_t(j)], shape_floor[std::size_t(j)]);
    sigma[p] = shape * std::exp(0.5 * level[std::size_t(p / num_points)]);
  }
}

void Whitening::encode(double const* physical, double const* x, double* latent) const {
  int const P = channels * num_points;
  std::vector<double> mu(static_cast<std::size_t>(P)), sigma(static_cast<std::size_t>(P));
  moments(physical, mu.data(), sigma.data());
  encode(mu.data(), sigma.data(), x, latent);
}

void Whitening::encode(double const* mu, double const* sigma, double const* x, double* latent) const {
  int const F = num_free(), r = components;
  std::vector<double> z(static_cast<std::size_t>(F));
  for (int j = 0; j < F; ++j) {
    int const p = free_points[j];
    z[std::size_t(j)] = (x[p] - mu[p]) / sigma[p];
  }
  for (int k = 0; k < r; ++k) {
    double s = 0;
    for (int j = 0; j < F; ++j) s += basis[std::size_t(j) * F + k] * z[std::size_t(j)];
    latent[k] = s / std::sqrt(eigenvalues[std::size_t(k)]);
  }
}

void Whitening::decode(double const* mu, double const* sigma, double const* latent, double const* tail,
                       double* x) const {
  int const P = channels * num_points, F = num_free(), r = components;
  for (int p = 0; p < P; ++p) x[p] = mu[p];  // pinned points stay at μ (exactly)
  for (int j = 0; j < F; ++j) {
    double const* v = basis.data() + std::size_t(j) * F;
    double z = 0;
    for (int k = 0; k < r; ++k) z += v[k] * std::sqrt(eigenvalues[std::size_t(k)]) * latent[k];
    if (tail)
      for (int k = r; k < F; ++k) z += v[k] * std::sqrt(eigenvalues[std::size_t(k)]) * tail[k - r];
    int const p = free_points[j];
    x[p] = mu[p] + sigma[p] * z;
  }
}

void Whitening::decode(double const* physical, double const* latent, double const* tail, double* x) const {
  int const P = channels * num_points;
  std::vector<double> mu(static_cast<std::size_t>(P)), sigma(static_cast<std::size_t>(P));
  moments(physical, mu.data(), sigma.data());
  decode(mu.data(), sigma.data(), latent, tail, x);
}

void Whitening::validate() const {
  schema.validate();
  int const K = schema.size();
  require(channels >= 1 && num_points >= 1, "whitening: ", channels, " channels and ", num_points, " points");
  require(channel_names.empty() || int(channel_names.size()) == channels, "whitening: ", channel_names.size(),
          " channel names for ", channels, " channels");
  int const P = channels * num_points;
  require(feature_mean.size() == std::size_t(K) && feature_scale.size() == std::size_t(K), "whitening: ",
          feature_mean.size(), " feature means and ", feature_scale.size(), " scales for ", K, " condition columns");
  for (int k = 0; k < K; ++k)
    require(std::isfinite(feature_mean[std::size_t(k)]) && feature_scale[std::size_t(k)] > 0 &&
                std::isfinite(feature_scale[std::size_t(k)]),
            "whitening: condition column '", schema.names[std::size_t(k)], "' has mean ", feature_mean[std::size_t(k)],
            " and scale ", feature_scale[std::size_t(k)]);
  int const F = num_free();
  require(F >= 1 && F <= P, "whitening: ", F, " free points of ", P);
  for (int j = 0; j < F; ++j)
    require(free_points[std::size_t(j)] >= 0 && free_points[std::size_t(j)] < P &&
                (j == 0 || free_points[std::size_t(j)] > free_points[std::size_t(j - 1)]),
            "whitening: free point indices must be ascending in [0, ", P, ")");
  mean.validate("whitening, regression of the mean");
  require(mean.num_features() == K && mean.num_outputs() == P, "whitening: the regression of the mean has ",
          mean.num_features(), " features and ", mean.num_outputs(), " outputs; expected ", K, " and ", P);
  if (spread_form == SpreadForm::log_std) {
    log_std.validate("whitening, regression of log sigma");
    require(log_std.num_features() == K && log_std.num_outputs() == F, "whitening: the regression of log sigma has ",
            log_std.num_features(), " features and ", log_std.num_outputs(), " outputs; expected ", K, " and ", F,
            " (free points)");
  } else {
    require(spread_form == SpreadForm::level_shape, "whitening: unknown spread form ", int(spread_form),
            " (expected 0: log_std or 1: level_shape)");
    spread_level.validate("whitening, regression of the spread level");
    spread_shape.validate("whitening, regression of the spread shape");
    require(spread_level.num_features() == K && spread_level.num_outputs() == channels,
            "whitening: the regression of the spread level has ", spread_level.num_features(), " features and ",
            spread_level.num_outputs(), " outputs; expected ", K, " and ", channels, " (channels)");
    require(spread_shape.num_features() == K && spread_shape.num_outputs() == F,
            "whitening: the regression of the spread shape has ", spread_shape.num_features(), " features and ",
            spread_shape.num_outputs(), " outputs; expected ", K, " and ", F, " (free points)");
    require(shape_floor.size() == std::size_t(F), "whitening: ", shape_floor.size(), " shape floors for ", F,
            " free points");
    for (double v : shape_floor)
      require(std::isfinite(v) && v > 0, "whitening: shape floor ", v, " must be finite and > 0");
  }
  require(basis.size() == std::size_t(F) * std::size_t(F) && eigenvalues.size() == std::size_t(F), "whitening: basis of ",
          basis.size(), " values and ", eigenvalues.size(), " eigenvalues for ", F, " free points");
  for (double v : basis) require(std::isfinite(v), "whitening: a non-finite basis value");
  for (std::size_t k = 0; k < eigenvalues.size(); ++k)
    require(std::isfinite(eigenvalues[k]) && eigenvalues[k] > 0 && (k == 0 || eigenvalues[k] <= eigenvalues[k - 1]),
            "whitening: eigenvalues must be finite, > 0 and decreasing (", k, ": ", eigenvalues[k], ")");
  require(components >= 1 && components <= F, "whitening: components = ", components, " must be in [1, ", F, "]");
}

// ================================================================== fit
Whitening fit_whitening(ConditionSchema const& schema, WhiteningData const& data, WhiteningOptions const& options) {
  schema.validate();
  options.validate();
  require(data.fields && data.condition_of_sample && data.conditions, "whitening: incomplete training data");
  int const C = data.channels, N = data.num_points, K = schema.size();
  require(C >= 1 && N >= 1, "whitening: ", C, " channels and ", N, " points");
  std::int64_t const P = std::int64_t(C) * N;
  auto const& fields = *data.fields;
  auto const& cond_of = *data.condition_of_sample;
  auto const& conditions = *data.conditions;
  std::int64_t const n = static_cast<std::int64_t>(cond_of.size());
  require(std::int64_t(fields.size()) == n * P, "whitening: ", fields.size(), " field values for ", n,
          " samples of ", C, " x ", N);
  require(conditions.size() % std::size_t(K) == 0, "whitening: ", conditions.size(),
          " condition values are not rows of ", K, " columns (", schema.names.size(), " in the schema)");
  std::int64_t const M_all = std::int64_t(conditions.size()) / K;

  // Per-condition counts, means and M2 (two passes, float64).
  std::vector<std::int64_t> count(std::size_t(M_all), 0);
  for (std::int64_t s = 0; s < n; ++s) {
    require(cond_of[std::size_t(s)] >= 0 && cond_of[std::size_t(s)] < M_all, "whitening: sample ", s,
            " has condition row ", cond_of[std::size_t(s)], " outside [0, ", M_all, ")");
    ++count[std::size_t(cond_of[std::size_t(s)])];
  }
  for (double v : fields) require(std::isfinite(v), "whitening: a training field holds a non-finite value");
  std::vector<std::int64_t> used;  // condition rows with samples
  std::vector<std::int64_t> slot(std::size_t(M_all), -1);
  for (std::int64_t m = 0; m < M_all; ++m)
    if (count[std::size_t(m)] > 0) {
      slot[std::size_t(m)] = std::int64_t(used.size());
      used.push_back(m);
    }
  std::int64_t const M = std::int64_t(used.size());
  Matrix mean(M, P), m2(M, P);
  mean.setZero();
  m2.setZero();
  for (std::int64_t s = 0; s < n; ++s) {
    auto const u = slot[std::size_t(cond_of[std::size_t(s)])];
    for (std::int64_t p = 0; p < P; ++p) mean(u, p) += fields[std::size_t(s * P + p)];
  }
  for (std::int64_t u = 0; u < M; ++u) mean.row(u) /= double(count[std::size_t(used[std::size_t(u)])]);
  for (std::int64_t s = 0; s < n; ++s) {
    auto const u = slot[std::size_t(cond_of[std::size_t(s)])];
    for (std::int64_t p = 0; p < P; ++p) {
      double const d = fields[std::size_t(s * P + p)] - mean(u, p);
      m2(u, p) += d * d;
    }
  }
  std::vector<std::int64_t> replicated;  // slots with >= 2 samples (they carry a spread)
  std::int64_t dof = 0;
  for (std::int64_t u = 0; u < M; ++u) {
    auto const c = count[std::size_t(used[std::size_t(u)])];
    if (c >= 2) replicated.push_back(u);
    dof += c - 1;
  }
  require(M >= 3 && replicated.size() >= 3, "whitening: needs at least 3 conditions with 2 or more samples each; "
          "the training data have ", M, " conditions, ", replicated.size(), " of them with 2 or more samples");

  Whitening w;
  w.schema = schema;
  w.channels = C;
  w.num_points = N;
  w.num_training_samples = n;
  w.num_training_conditions = M;
  w.components = 0;

  // Condition features, standardised over the used conditions.
  Matrix features(M, K);
  for (std::int64_t u = 0; u < M; ++u) {
    auto const f = schema.transform(conditions.data() + used[std::size_t(u)] * K);
    for (int k = 0; k < K; ++k) features(u, k) = f[std::size_t(k)];
  }
  w.feature_mean.resize(std::size_t(K));
  w.feature_scale.resize(std::size_t(K));
  for (int k = 0; k < K; ++k) {
    double const mu = features.col(k).mean();
    double const sd = std::sqrt((features.col(k).array() - mu).square().mean());
    w.feature_mean[std::size_t(k)] = mu;
    w.feature_scale[std::size_t(k)] = sd > 1e-12 * std::max(1.0, std::abs(mu)) ? sd : 1.0;
    features.col(k) = (features.col(k).array() - mu) / w.feature_scale[std::size_t(k)];
  }

  // Pinned points: no pooled within-condition spread (relative to the channel's largest).
  std::vector<double> pooled(static_cast<std::size_t>(P));
  for (std::int64_t p = 0; p < P; ++p) pooled[std::size_t(p)] = std::sqrt(m2.col(p).sum() / double(dof));
  for (int c = 0; c < C; ++c) {
    double const top = *std::max_element(pooled.begin() + c * N, pooled.begin() + (c + 1) * N);
    for (int i = 0; i < N; ++i)
      if (pooled[std::size_t(c * N + i)] > options.pinned_tolerance * top) w.free_points.push_back(c * N + i);
  }
  int const F = w.num_free();
  require(F >= 1, "whitening: every point of the training fields is pinned (no within-condition spread)");

  // Targets: per-condition means (every point) and, at the free points, the
  // per-condition sample variances s² (unbiased) in the options' spread form.
  Matrix mean_targets = mean;
  Vector mean_weight(P);
  mean_weight.setZero();
  for (int j = 0; j < F; ++j) {
    double const sd = pooled[std::size_t(w.free_points[std::size_t(j)])];
    mean_weight(w.free_points[std::size_t(j)]) = 1.0 / (sd * sd);
  }
  std::int64_t const R = std::int64_t(replicated.size());
  Matrix rep_features(R, K), sample_var(R, F);
  Vector log_bias(R);  // E[log s²] − log σ² for n Gaussian samples: ψ((n−1)/2) − log((n−1)/2)
  for (std::int64_t i = 0; i < R; ++i) {
    auto const u = replicated[std::size_t(i)];
    rep_features.row(i) = features.row(u);
    double const c = double(count[std::size_t(used[std::size_t(u)])]);
    double const h = 0.5 * (c - 1.0);
    log_bias(i) = digamma(h) - std::log(h);
    for (int j = 0; j < F; ++j) {
      int const p = w.free_points[std::size_t(j)];
      double const floor_var = 1e-12 * pooled[std::size_t(p)] * pooled[std::size_t(p)];
      sample_var(i, j) = std::max(m2(u, p) / (c - 1.0), floor_var);
    }
  }
  // The spread regressions are fitted per channel (RidgeSet): their columns
  // split at the channel boundaries, each part with its own (ℓ, λ).
  Matrix log_targets, level_targets, shape_targets;
  w.spread_form = options.spread_form;
  if (options.spread_form == SpreadForm::log_std) {
    log_targets = 0.5 * (sample_var.array().log().colwise() - log_bias.array()).matrix();
  } else {
    // Level: log of the channel's mean variance over its free points, with the
    // single-point bias correction (exact when the channel's points move
    // together, as the smooth fields nearly do; at most 1/(n−1) too large
    // otherwise). Shape: the spreads over its square root, regressed linearly.
    level_targets.resize(R, C);
    shape_targets.resize(R, F);
    for (std::int64_t i = 0; i < R; ++i) {
      std::vector<double> sum(static_cast<std::size_t>(C), 0.0);
      std::vector<int> num(static_cast<std::size_t>(C), 0);
      for (int j = 0; j < F; ++j) {
        int const ch = w.free_points[std::size_t(j)] / N;
        sum[std::size_t(ch)] += sample_var(i, j);
        ++num[std::size_t(ch)];
      }
      for (int ch = 0; ch < C; ++ch) {
        double const lv = num[std::size_t(ch)] > 0 ? sum[std::size_t(ch)] / num[std::size_t(ch)] : 1.0;
        level_targets(i, ch) = std::log(lv) - (num[std::size_t(ch)] > 0 ? log_bias(i) : 0.0);
      }
      for (int j = 0; j < F; ++j) {
        int const ch = w.free_points[std::size_t(j)] / N;
        shape_targets(i, j) = std::sqrt(sample_var(i, j) / (sum[std::size_t(ch)] / num[std::size_t(ch)]));
      }
    }
    w.shape_floor.resize(std::size_t(F));
    for (int j = 0; j < F; ++j) w.shape_floor[std::size_t(j)] = 1e-2 * std::max(shape_targets.col(j).mean(), 1e-300);
  }
  // Column ranges of each channel: every point (mean), the free points (log σ,
  // shape; ascending, so each channel's are contiguous), one column (level).
  std::vector<Eigen::Index> free_begin(static_cast<std::size_t>(C + 1), 0);
  for (int j = 0; j < F; ++j) ++free_begin[std::size_t(w.free_points[std::size_t(j)] / N + 1)];
  for (int ch = 0; ch < C; ++ch) free_begin[std::size_t(ch + 1)] += free_begin[std::size_t(ch)];
  struct Split {
    std::vector<Matrix> y;
    std::vector<Vector> weight;
  };
  // The columns [begin[ch], begin[ch+1]) of `all` for every channel that has any.
  auto split = [&](Matrix const& all, Vector const& weight, auto const& begin) {
    Split s;
    for (int ch = 0; ch < C; ++ch) {
      Eigen::Index const b = begin(ch), e = begin(ch + 1);
      if (e == b) continue;
      s.y.push_back(all.middleCols(b, e - b));
      s.weight.push_back(weight.segment(b, e - b));
    }
    return s;
  };
  auto targets_of = [](Split const& s) {
    std::vector<RidgeTarget> t;
    for (std::size_t i = 0; i < s.y.size(); ++i) t.push_back({&s.y[i], s.weight[i]});
    return t;
  };
  auto const free_cols = [&](int ch) { return free_begin[std::size_t(ch)]; };
  std::vector<Split> spread_splits;
  if (options.spread_form == SpreadForm::log_std) {
    spread_splits.push_back(split(log_targets, Vector::Ones(F), free_cols));
  } else {
    spread_splits.push_back(split(level_targets, Vector::Ones(C), [](int ch) { return Eigen::Index(ch); }));
    spread_splits.push_back(split(shape_targets, Vector::Ones(F), free_cols));
  }
  std::vector<RidgeTarget> spread_targets;
  for (auto const& s : spread_splits)
    for (auto const& t : targets_of(s)) spread_targets.push_back(t);
  std::vector<KernelRidge> spread_fits;
  // The mean stays one regression of all channels: fitted per channel, φ's
  // mean chose a worse (ℓ, λ) (error at the validation conditions 0.087
  // spreads, against 0.037 jointly; docs/results.md §2a).
  RidgeTarget const mean_target{&mean_targets, mean_weight};
  if (R == M) {
    std::vector<RidgeTarget> all{mean_target};
    all.insert(all.end(), spread_targets.begin(), spread_targets.end());
    auto fits = fit_kernel_ridge(features, all, options);
    w.mean.parts = {std::move(fits.front())};
    spread_fits.assign(std::make_move_iterator(fits.begin() + 1), std::make_move_iterator(fits.end()));
  } else {
    w.mean.parts = fit_kernel_ridge(features, {mean_target}, options);
    spread_fits = fit_kernel_ridge(rep_features, spread_targets, options);
  }
  std::vector<RidgeSet*> spread_sets;
  if (options.spread_form == SpreadForm::log_std)
    spread_sets = {&w.log_std};
  else
    spread_sets = {&w.spread_level, &w.spread_shape};
  auto next = spread_fits.begin();
  for (std::size_t i = 0; i < spread_sets.size(); ++i)
    for (std::size_t k = 0; k < spread_splits[i].y.size(); ++k) spread_sets[i]->parts.push_back(std::move(*next++));

  // level_shape form: the pooled correlation of the residuals standardised
  // by their own condition's sample mean and spread (conditions with 2 or more samples),
  // and its eigenpairs. Standardising by the sample moments, not by the
  // regressed μ(u), σ(u), keeps the regressions' errors out of the basis: a
  // few conditions where σ(u) undershoots would otherwise inflate the pooled
  // variance of z at every condition (measured: up to 4.5x at 500 conditions).
  w.components = F;  // the basis is not there yet; encode below does not use it
  Eigen::MatrixXd second(F, F);
  second.setZero();
  if (options.spread_form == SpreadForm::log_std) {
    // log_std form (psgm's default): the pooled second moment of the
    // regression-whitened z over every training sample.
    std::vector<double> mu(static_cast<std::size_t>(P)), sigma(static_cast<std::size_t>(P));
    GramAccumulator gram(second);
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), std::int64_t(0));
    std::stable_sort(order.begin(), order.end(),
                     [&](auto a, auto b) { return cond_of[std::size_t(a)] < cond_of[std::size_t(b)]; });
    std::int64_t current = -1;
    for (auto s : order) {
      auto const m = cond_of[std::size_t(s)];
      if (m != current) {
        w.moments(conditions.data() + m * K, mu.data(), sigma.data());
        current = m;
      }
      double* z = gram.next();
      for (int j = 0; j < F; ++j) {
        int const p = w.free_points[std::size_t(j)];
        z[j] = (fields[std::size_t(s * P + p)] - mu[std::size_t(p)]) / sigma[std::size_t(p)];
      }
      gram.add();
    }
    gram.flush();
    second /= double(n);
  } else {
    GramAccumulator gram(second);
    for (std::int64_t s = 0; s < n; ++s) {
      auto const u = slot[std::size_t(cond_of[std::size_t(s)])];
      double const c = double(count[std::size_t(used[std::size_t(u)])]);
      if (c < 2) continue;
      double* z = gram.next();
      for (int j = 0; j < F; ++j) {
        int const p = w.free_points[std::size_t(j)];
        double const sd = std::sqrt(m2(u, p) / (c - 1.0));
        z[j] = sd > 0 ? (fields[std::size_t(s * P + p)] - mean(u, p)) / sd : 0.0;
      }
      gram.add();
    }
    gram.flush();
    Vector d = second.diagonal();
    for (int j = 0; j < F; ++j) d(j) = d(j) > 0 ? 1.0 / std::sqrt(d(j)) : 0.0;
    second = d.asDiagonal() * second * d.asDiagonal();
    for (int j = 0; j < F; ++j) second(j, j) = 1.0;  // a point constant within every condition: uncorrelated, unit
  }
  Eigen::MatrixXd vectors;
  Vector values;
  require<NumericalError>(dense::symmetric_eigen(second, vectors, values), "whitening: eigendecomposition of the ",
                          F, "x", F, " pooled correlation of the standardised residuals failed");
  double const top = std::max(values.maxCoeff(), 1e-300);
  w.basis.resize(std::size_t(F) * std::size_t(F));
  w.eigenvalues.resize(std::size_t(F));
  for (int k = 0; k < F; ++k) {
    int const src = F - 1 - k;  // ascending order
    w.eigenvalues[std::size_t(k)] = std::max(values(src), 1e-12 * top);
    for (int j = 0; j < F; ++j) w.basis[std::size_t(j) * F + k] = vectors(j, src);
  }
  // Ties after clamping must stay non-increasing.
  for (int k = 1; k < F; ++k)
    w.eigenvalues[std::size_t(k)] = std::min(w.eigenvalues[std::size_t(k)], w.eigenvalues[std::size_t(k - 1)]);
  w.components = options.components == 0 ? F : std::min(options.components, F);
  w.validate();
  return w;
}

}  // namespace model
}  // namespace psgm

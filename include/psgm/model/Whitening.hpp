// Condition-aware whitening (spec sgm.md §1, docs/design.md §10): a field x at
// condition u is written
//
//   x = μ(u) + σ(u) ⊙ z,     z = Σ_k v_k √λ_k a_k
//
// with μ and σ regressed over the training conditions in float64 (kernel
// ridge regression, hyperparameters chosen by leave-one-condition-out
// cross-validation; σ as a per-channel level times a shape, see
// SpreadForm), {v_k, λ_k} the eigenpairs of the pooled correlation of
// the training residuals, each standardised by its own condition's sample mean
// and spread (Karhunen–Loève basis), and a ∈ R^F the whitened
// coordinates (unit variance, uncorrelated over the training set). Points
// without spread (a Dirichlet value, the potential's gauge φ₀ = 0) are not
// whitened: they are restored exactly from the regression of μ.
//
// It serves two models:
//  * the conditional Gaussian emulator: a ~ N(0, I) in all F coordinates,
//    sampled exactly (model/GaussianEmulator.hpp);
//  * the residual score model: a network learns the distribution of the
//    leading r coordinates given the condition; the other F − r are drawn from
//    N(0, I) (the Gaussian tail), so no variance is lost to the truncation.
//
// Host-only, float64, no Kokkos: fitting and the per-condition moments are
// small dense linear algebra (src/model/whitening.cpp, Eigen).
#pragma once

#include <psgm/model/ConditionSchema.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace psgm {
namespace model {

/// Kernel ridge regression of D outputs on the standardised condition
/// features: f(u) = offset + Σ_m k(u, u_m) w_m with the anisotropic RBF kernel
/// k(u, u') = exp(−½ Σ_k (u_k − u'_k)² / ℓ_k²).
struct KernelRidge {
  std::vector<double> length_scales;  ///< ℓ_k per feature, in units of the standardised features
  double ridge = 1e-3;         ///< λ added to the kernel matrix's diagonal
  double cv_error = 0.0;       ///< leave-one-condition-out error of the chosen (ℓ, λ) (weighted mean square)
  int num_features = 0;        ///< K
  int num_outputs = 0;         ///< D
  std::vector<double> centers;  ///< (M, K) standardised features of the training conditions
  std::vector<double> weights;  ///< (M, D) dual coefficients
  std::vector<double> offset;   ///< (D) added to every prediction

  std::int64_t num_centers() const { return num_features > 0 ? std::int64_t(centers.size()) / num_features : 0; }
  /// out[d] = f_d(feature), d < D.
  void predict(double const* feature, double* out) const;
  void validate(std::string const& what) const;
};

/// Kernel ridge regressions on the same features whose outputs are
/// concatenated in order: fit_whitening fits one part per channel, each with
/// its own length scales and ridge where that pays (the spread regressions:
/// c's spread level follows U0, φ's follows F_right; one (ℓ, λ) shared by
/// both left c's level 0.055 off in log σ at the validation conditions,
/// 0.026 fitted per channel, docs/results.md §2a).
/// Model files written before the split hold a single part for all channels.
struct RidgeSet {
  std::vector<KernelRidge> parts;

  int num_outputs() const;
  int num_features() const { return parts.empty() ? 0 : parts.front().num_features; }
  /// out[0 .. num_outputs()): the parts' outputs, one after the other.
  void predict(double const* feature, double* out) const;
  /// Every part valid, all with the same number of features.
  void validate(std::string const& what) const;
};

/// How σ(u) is regressed over conditions.
///  * level_shape (an option, `model.whitening_spread`; not yet the demo's): σ_p = √L_c(u) · S_p(u), with the channel
///    level log L_c (log of the channel's mean variance over its free points)
///    and the shape S_p = σ_p / √L_c each regressed by kernel ridge
///    regression. The shape is regressed linearly, not in the log: where a
///    field's sensitivity to the porosity changes sign as the condition moves
///    (c near c0 at small net flux), σ_p dips towards zero and log σ_p has a
///    sharp valley no smooth regression follows; the level carries the large
///    log-scale changes across conditions. Chosen on validation conditions
///    (docs/results.md §2) over log σ per point and a linear variance shape
///    (which undershoots zero at some training conditions).
///  * log_std (psgm's default): log σ_p regressed directly; its basis is the
///    pooled second moment of the regression-whitened z (older model files
///    have no spread_form attribute and are this form).
enum class SpreadForm : std::uint8_t { log_std = 0, level_shape = 1 };

/// How fit_whitening() works; the defaults are psgm's.
struct WhiteningOptions {
  /// Latent coordinates r the network learns (leading principal components);
  /// 0: all F free points (the Gaussian emulator's representation).
  int components = 0;
  /// How σ(u) is regressed and the basis pooled (SpreadForm).
  SpreadForm spread_form = SpreadForm::log_std;
  /// A point is pinned when its pooled within-condition spread is at most this
  /// times the largest of its channel (the tolerance of docs/metrics.md).
  double pinned_tolerance = 1e-9;
  /// Candidate length scales ℓ (the same for every feature) and ridges λ of
  /// the two regressions; every (ℓ, λ) is scored by leave-one-condition-out
  /// cross-validation (exact, from one eigendecomposition of the kernel matrix
  /// per ℓ). From the best isotropic ℓ, `ard_sweeps` rounds of coordinate
  /// search then scale each feature's ℓ_k by the `ard_factors` while the
  /// cross-validated error falls (automatic relevance determination: the
  /// porous electrode's spread varies slowly in log l and quickly in U0).
  std::vector<double> length_scales{0.25, 0.35, 0.5, 0.7, 1.0, 1.4, 2.0, 3.0, 4.5, 7.0};
  std::vector<double> ridges{1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0};
  /// (From 0.35–2.8 and 2 sweeps: the wider search found the per-channel
  /// spread levels' optima, which vary slowly in one feature and fast in
  /// another; φ's level was 0.063 off in log σ with the narrow one, 0.034 with this.)
  std::vector<double> ard_factors{0.25, 0.35, 0.5, 0.7, 1.4, 2.0, 2.8, 4.0};
  int ard_sweeps = 4;
  /// Conditions used to choose the hyperparameters when there are more (a
  /// random subset, seeded); the final fit always uses every training condition.
  int max_cv_conditions = 600;
  std::uint64_t seed = 0;

  void validate() const;
};

/// A fitted whitening. Plain data: psgm::io writes and reads every member.
struct Whitening {
  ConditionSchema schema;
  int channels = 0;    ///< C of the physical fields
  /// Names of the C channels, from the training data set (empty: not recorded;
  /// models written before the names were stored, of the porous electrode's c, phi).
  std::vector<std::string> channel_names;
  int num_points = 0;  ///< N of the physical fields
  std::vector<double> feature_mean;   ///< (K) of the transformed training conditions
  std::vector<double> feature_scale;  ///< (K) their standard deviation (1 where constant)
  std::vector<std::int32_t> free_points;  ///< flat indices c·N + i that are whitened, ascending (F of them)
  RidgeSet mean;     ///< μ: C·N outputs (pinned points included: they are restored from it)
  SpreadForm spread_form = SpreadForm::level_shape;
  RidgeSet log_std;       ///< log_std form: log σ, F outputs (the free points); empty otherwise
  RidgeSet spread_level;  ///< level_shape form: log L_c, C outputs (bias-corrected)
  RidgeSet spread_shape;  ///< level_shape form: S_p = σ_p / √L_c, F outputs
  /// level_shape form: the smallest shape used, per free point (F), 1 % of
  /// the point's mean shape over the training conditions (a regression that
  /// undershoots at a valley gives σ_p = floor · √L_c, never 0).
  std::vector<double> shape_floor;
  std::vector<double> basis;        ///< (F, F) row-major, column k = v_k, by decreasing λ_k
  std::vector<double> eigenvalues;  ///< (F) λ_k of the pooled correlation, decreasing, > 0 (they sum to F)
  int components = 0;               ///< r: the latent coordinates a model learns (r <= F)
  std::int64_t num_training_samples = 0;
  std::int64_t num_training_conditions = 0;

  int num_conditions() const { return schema.size(); }
  int num_free() const { return static_cast<int>(free_points.size()); }
  int latent_size() const { return components; }
  /// Fraction of the pooled variance of z in the leading r coordinates.
  double explained_variance() const;

  /// The network's condition input: the transformed condition, standardised.
  std::vector<double> features(double const* physical) const;
  /// Whether the condition lies in the box of the training conditions (each
  /// transformed column between its smallest and largest training value,
  /// `tolerance` times its spread beyond): outside it the model extrapolates.
  bool is_in_training_range(double const* physical, double tolerance = 1e-9) const;
  /// μ(u) and σ(u) at every point (C·N each; σ = 0 at pinned points).
  void moments(double const* physical, double* mu, double* sigma) const;
  /// The leading r whitened coordinates of field x (C·N values) at condition u.
  void encode(double const* physical, double const* x, double* latent) const;
  /// The same with μ(u), σ(u) already evaluated (moments()), as for decode.
  void encode(double const* mu, double const* sigma, double const* x, double* latent) const;
  /// x (C·N values) from the r latent coordinates and the F − r tail
  /// coordinates (`tail` may be null: zero). Pinned points are set to μ(u).
  void decode(double const* physical, double const* latent, double const* tail, double* x) const;
  /// The same with μ(u), σ(u) already evaluated (moments()): the sampler
  /// evaluates them once per distinct condition of a batch.
  void decode(double const* mu, double const* sigma, double const* latent, double const* tail, double* x) const;

  /// Throws psgm::InvalidArgument for inconsistent sizes or non-finite values.
  void validate() const;
};

/// Training data for fit_whitening(): n samples of C·N values each, the row
/// of `conditions` (M, K physical values) of every sample.
struct WhiteningData {
  int channels = 0, num_points = 0;
  std::vector<double> const* fields = nullptr;  ///< (n, C, N) row-major
  std::vector<std::int64_t> const* condition_of_sample = nullptr;  ///< (n) in [0, M)
  std::vector<double> const* conditions = nullptr;  ///< (M, K) physical values
};

/// Fits μ and σ (per-condition sample means, and per-condition sample
/// variances as level × shape, regressed over conditions; SpreadForm), the
/// pinned points and the basis.
/// psgm::InvalidArgument when there are fewer than 3 conditions with at least
/// 2 samples, non-finite values, or options out of range.
Whitening fit_whitening(ConditionSchema const& schema, WhiteningData const& data, WhiteningOptions const& options);

/// Digamma ψ(x) for x > 0 (asymptotic series after recurrence; |error| < 1e-13).
double digamma(double x);

/// Calls f(b, mu, sigma, fresh) for every sample b < batch with μ and σ
/// (C·N each) at the physical conditions (batch, K), evaluated once per run of
/// equal consecutive condition rows; `fresh` is true where they were just
/// evaluated (a caller caching more per condition refreshes it there).
template <class F>
void for_each_with_moments(Whitening const& w, int batch, double const* conditions, F&& f) {
  int const K = w.num_conditions(), P = w.channels * w.num_points;
  std::vector<double> mu(static_cast<std::size_t>(P)), sigma(static_cast<std::size_t>(P));
  for (int b = 0; b < batch; ++b) {
    double const* c = conditions + std::size_t(b) * K;
    bool const fresh = b == 0 || std::memcmp(c, c - K, sizeof(double) * std::size_t(K)) != 0;
    if (fresh) w.moments(c, mu.data(), sigma.data());
    f(b, static_cast<double const*>(mu.data()), static_cast<double const*>(sigma.data()), fresh);
  }
}

}  // namespace model
}  // namespace psgm

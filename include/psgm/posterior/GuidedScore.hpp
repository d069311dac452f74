// A score model guided by linear Gaussian observations (docs/posterior.md §3):
// a wrapper with the ScoreModel interface (docs/design.md §6), so every
// sampler of sde/ draws from the posterior without knowing it.
//
// The network integrates latent coordinates a (a whitened model's r leading
// coordinates, unit variance over the training set). The observations seen
// from them are linear, y = G a + e with e ~ N(0, R) (posterior/
// GaussianPosterior.hpp: G from the whitening at the sample's condition, R
// the probes' noise plus the share of the Gaussian tail). Under the forward
// process a_t = m a + s z the posterior score is
//
//   ∇ log p_t(a_t | y) = ∇ log p_t(a_t) + ∇ log p(y | a_t),
//
// and p(y | a_t) is approximated by moment matching, with the Tweedie mean
// â = (a_t + s² ∇ log p_t(a_t)) / m of the model and the covariance
// Cov[a | a_t] ≈ s²/(m² + s²) I that a unit-variance prior has:
//
//   ∇ log p(y | a_t) ≈ m/(m² + s²) Gᵀ S⁻¹ (y − G â),   S = R + s²/(m² + s²) G Gᵀ.
//
// For a Gaussian prior N(0, I) (the conditional Gaussian emulator in its
// latent space) this is exact, so the guided sampler draws the exact
// posterior up to the integrator's error; for a score model it costs no
// network evaluation beyond the sampler's own (one m × m solve per sample
// and evaluation): Guidance::prior_covariance, the "diagonal" member of the
// moment-matching family (the Jacobian of â replaced by the prior's,
// m/(m² + s²) I).
//
// Guidance::jacobian (the default) uses the model's own Jacobian J = ∂â/∂a_t:
// Tweedie's second moment gives Cov[a | a_t] = (s²/m) J, so
//
//   ∇ log p(y | a_t) ≈ Jᵀ Gᵀ S⁻¹ (y − G â),   S = R + (s²/m) G J Gᵀ,
//
// exact for any Gaussian prior. The m columns J g_i are directional
// derivatives of â along the probes' rows g_i of G (forward differences,
// one model evaluation each); J is symmetric (the Hessian of a log-density
// plus a multiple of I), so Jᵀ Gᵀ v = Σ_i v_i J g_i costs nothing more. A
// sample therefore takes (1 + m) model evaluations per sampler evaluation.
//
// Refinement (GuidedScore::refine, docs/posterior.md §3): moment matching
// under-conditions where the probes sit in the prior's tail, and nothing
// later in an ODE sampler corrects it. After the integration, a few
// Langevin steps target the model's own posterior at the clean state,
//
//   π(a) ∝ q(a) N(y; G a, R),   q(a) = m^d p_t(m a) at a small noise level σ_L,
//
// whose likelihood is exact (no moment matching at t = 0) and whose prior
// score is one model evaluation (the model at σ_L, where it is trained; the
// clean density is its σ_L → 0 limit, the prior's variance grows by σ_L²).
// The drift is split into the Gaussian reference's (prior N(0, v I),
// v = 1 + σ_L²: the posterior N(μ, Λ⁻¹), Λ = I/v + Gᵀ R⁻¹ G) and the rest,
// r(a) = ∇ log q(a) + a/v (the likelihood terms cancel), and each step is the
// exponential integrator of the Λ⁻¹-preconditioned Langevin SDE with r frozen:
//
//   a ← μ + e^{-h} (a − μ) + (1 − e^{-h}) Λ⁻¹ r(a) + (1 − e^{-2h})^½ ξ,   ξ ~ N(0, Λ⁻¹).
//
// For a Gaussian prior N(0, I) r = 0 and the step is exact for every h (the
// Ornstein–Uhlenbeck map of the exact posterior); otherwise its bias is of
// order h times the prior's departure from Gaussian. Every direction of the
// reference relaxes by e^{-h} per step, the probed ones included. With
// Woodbury, Λ⁻¹ = v I − v² Gᵀ T⁻¹ G and μ = v Gᵀ T⁻¹ y (T = R + v G Gᵀ),
// and ξ is Matheron's update of a draw of N(0, v I): O(m d + m²) per sample
// and step besides the model evaluation.
//
// Stability and bias: the smoothed prior's curvature can reach 1/σ_L²
// (∇² log q ⪰ −I/σ_L², Tweedie), so the explicit part is stable for any
// prior only while a = (1 − e^{-h})(v/σ_L² − 1) < 2, and in such a direction
// it inflates the variance by 1/(1 − a/2). The automatic step (step = 0)
// takes a = 0.1: at most 5 % more variance in the sharpest direction any
// prior can have at σ_L, but it also relaxes the directions the reference
// gets right (the probed ones) only by e^{-h} ≈ 1 − 0.1 σ_L² per step. A
// larger h is the caller's bet on a smoother prior; a sample whose
// refinement diverged (|a|² > 100 v d) is flagged not_converged.
//
//   psgm::posterior::GuidedScore<Model> guided(model, m);
//   guided.reserve(B);
//   guided.set_observations(space, B, G, residual, R);   // host, per sample
//   psgm::sde::Sampler<psgm::posterior::GuidedScore<Model>, psgm::sde::EdmHeun> s(space, guided, cfg, B);
//   ... s.integrate(space, x, cond, seed, first) ...
//   guided.refine(space, x, cond, refinement, seed, first);             // optional
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/core/Random.hpp>
#include <psgm/core/Status.hpp>
#include <psgm/model/ModelDescription.hpp>
#include <psgm/posterior/impl/SmallCholesky.hpp>
#include <psgm/sde/DiffusionProcess.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>

namespace psgm {
namespace posterior {

/// How the likelihood of the observations given the noisy state is matched
/// (the header's two approximations).
enum class Guidance : std::uint8_t { prior_covariance = 0, jacobian = 1 };

/// "prior_covariance" or "jacobian"; psgm::InvalidArgument naming both otherwise.
inline Guidance guidance_from_string(std::string const& name) {
  if (name == "jacobian") return Guidance::jacobian;
  if (name == "prior_covariance") return Guidance::prior_covariance;
  throw InvalidArgument("guidance '" + name + "'; expected 'jacobian' (the model's Jacobian, 1 + m evaluations) or "
                        "'prior_covariance' (no extra evaluation)");
}
inline char const* to_string(Guidance g) { return g == Guidance::jacobian ? "jacobian" : "prior_covariance"; }

/// The Langevin refinement of guided draws (the header; GuidedScore::refine).
struct Refinement {
  int steps = 0;        ///< exponential Langevin steps after the integration, one model evaluation each (0: none)
  double step = 0;      ///< h: the Gaussian reference's deviation contracts by e^{-h} per step; 0: automatic
                        ///< (a twentieth of the step that is stable for any prior at sigma, about sigma²/10)
  double sigma = 0.05;  ///< σ_L: the noise level whose model score stands for the clean prior's

  /// The step refine() takes at smoothing v/σ² − 1 = `stiffness` (the
  /// largest curvature of the smoothed prior in units of the reference's).
  double step_for(double stiffness) const {
    if (step > 0) return step;
    return stiffness > 0.1 ? -std::log1p(-0.1 / stiffness) : 1.0;
  }

  /// psgm::InvalidArgument naming the parameter and what it must be.
  void validate() const {
    require(steps >= 0, "posterior refinement: steps = ", steps, " must be >= 0 (0: no refinement)");
    require(std::isfinite(step) && step >= 0, "posterior refinement: step = ", step,
            " must be finite and >= 0 (h; each step contracts by exp(-h); 0: automatic)");
    require(std::isfinite(sigma) && sigma > 0, "posterior refinement: sigma = ", sigma,
            " must be finite and > 0 (the noise level of the prior's score)");
  }
  std::string describe() const {
    std::ostringstream os;
    os.precision(6);
    os << steps << " Langevin refinement steps (h = ";
    if (step > 0)
      os << step;
    else
      os << "automatic";
    os << ", sigma = " << sigma << ")";
    return os.str();
  }
};

/// Draw indices of the refinement's noise: refinement_draw + k for step k
/// (random::sample_generator, per sample; apart from the sampler's draws,
/// the tail's and the observation noise's).
inline constexpr std::int64_t refinement_draw = std::int64_t(1) << 41;

namespace Impl {

/// xp(b) = x(b) + h_b g_bi with h_b = eps (m² + s²)^½ / |g_bi| (a step of
/// `eps` of the state's scale along probe i's row).
template <class Scalar, class MemorySpace>
struct ProbeStep {
  Kokkos::View<const Scalar***, Kokkos::LayoutRight, MemorySpace> x;
  Kokkos::View<Scalar***, Kokkos::LayoutRight, MemorySpace> xp;
  Kokkos::View<const double***, Kokkos::LayoutRight, MemorySpace> G;
  Kokkos::View<const Scalar*, MemorySpace> t;
  Kokkos::View<double*, MemorySpace> h;
  sde::DiffusionProcess process;
  int probe, d, N;
  double eps;
  KOKKOS_INLINE_FUNCTION void operator()(int b) const {
    double const tb = static_cast<double>(t(b));
    double const scale = math::sqrt(process.mean(tb) * process.mean(tb) + process.variance(tb));
    double norm = 0;
    for (int k = 0; k < d; ++k) norm += G(b, probe, k) * G(b, probe, k);
    double const hb = norm > 0 ? eps * scale / math::sqrt(norm) : 0.0;
    h(b) = hb;
    for (int k = 0; k < d; ++k)
      xp(b, k / N, k % N) = static_cast<Scalar>(static_cast<double>(x(b, k / N, k % N)) + hb * G(b, probe, k));
  }
};

/// JG(b, i, :) = (â(xp) − â(x)) / h_b, â = (x + s² score) / m: the
/// directional derivative J g_i of the Tweedie mean.
template <class Scalar, class MemorySpace>
struct JacobianColumn {
  Kokkos::View<const Scalar***, Kokkos::LayoutRight, MemorySpace> x, score, xp, score_p;
  Kokkos::View<const Scalar*, MemorySpace> t;
  Kokkos::View<const double*, MemorySpace> h;
  Kokkos::View<double***, Kokkos::LayoutRight, MemorySpace> JG;
  sde::DiffusionProcess process;
  int probe, d, N;
  KOKKOS_INLINE_FUNCTION void operator()(int b) const {
    double const tb = static_cast<double>(t(b));
    double const mt = process.mean(tb), s2 = process.variance(tb);
    double const hb = h(b);
    for (int k = 0; k < d; ++k) {
      int const c = k / N, i = k % N;
      double const a0 = static_cast<double>(x(b, c, i)) + s2 * static_cast<double>(score(b, c, i));
      double const a1 = static_cast<double>(xp(b, c, i)) + s2 * static_cast<double>(score_p(b, c, i));
      JG(b, probe, k) = hb > 0 ? (a1 - a0) / (mt * hb) : 0.0;
    }
  }
};

/// out(b) += m/(m² + s²) G_bᵀ S_b⁻¹ (y_b − G_b â_b) for every sample b (the
/// guidance term above), S_b factorised in place in its workspace.
template <class Scalar, class MemorySpace>
struct GuidanceKernel {
  using field_view = Kokkos::View<Scalar***, Kokkos::LayoutRight, MemorySpace>;
  using const_field_view = Kokkos::View<const Scalar***, Kokkos::LayoutRight, MemorySpace>;
  using const_time_view = Kokkos::View<const Scalar*, MemorySpace>;
  Kokkos::View<const double***, Kokkos::LayoutRight, MemorySpace> G;   // (B, m, d)
  Kokkos::View<const double**, Kokkos::LayoutRight, MemorySpace> y;    // (B, m) residual
  Kokkos::View<const double***, Kokkos::LayoutRight, MemorySpace> R;   // (B, m, m)
  Kokkos::View<double***, Kokkos::LayoutRight, MemorySpace> S;         // (B, m, m) workspace
  Kokkos::View<double**, Kokkos::LayoutRight, MemorySpace> v;          // (B, m) workspace
  Kokkos::View<const double***, Kokkos::LayoutRight, MemorySpace> JG;  // (B, m, d): J g_i (jacobian guidance)
  Kokkos::View<double**, Kokkos::LayoutRight, MemorySpace> P;          // (B, m) workspace: R's Cholesky pivots
  bool jacobian;
  const_field_view x;
  const_time_view t;
  field_view out;
  sde::DiffusionProcess process;
  int m, d, N;

  KOKKOS_INLINE_FUNCTION void operator()(int b) const {
    auto const Sb = Kokkos::subview(S, b, Kokkos::ALL, Kokkos::ALL);
    auto const vb = Kokkos::subview(v, b, Kokkos::ALL);
    double pivot = 0;
    double const tb = static_cast<double>(t(b));
    double const mt = process.mean(tb), s2 = process.variance(tb);
    double const kappa = s2 / (mt * mt + s2), gamma = mt / (mt * mt + s2);
    // Residual y − G â with â = (a_t + s² score) / m.
    for (int i = 0; i < m; ++i) {
      double r = y(b, i);
      for (int k = 0; k < d; ++k) {
        double const ahat = (static_cast<double>(x(b, k / N, k % N)) + s2 * static_cast<double>(out(b, k / N, k % N))) / mt;
        r -= G(b, i, k) * ahat;
      }
      v(b, i) = r;
    }
    // S = R + (s²/m) G J Gᵀ (symmetrised) or R + κ G Gᵀ, Cholesky in place
    // (lower). (s²/m) J is a covariance, so S ⪰ R and each Cholesky pivot of
    // S is at least R's (a Schur complement grows with its matrix). A learned
    // model's J need not obey that; where it does not, the sample falls back
    // to the prior's covariance for this evaluation (a nearly singular S would
    // blow the guidance up).
    if (jacobian) {
      for (int i = 0; i < m; ++i)
        for (int j = 0; j <= i; ++j) S(b, i, j) = R(b, i, j);
      Impl::cholesky_in_place(m, Sb, pivot);
      for (int j = 0; j < m; ++j) P(b, j) = S(b, j, j);
    }
    bool use_jacobian = jacobian;
    for (int attempt = 0; attempt < 2; ++attempt) {
      for (int i = 0; i < m; ++i)
        for (int j = 0; j <= i; ++j) {
          double s = R(b, i, j);
          if (use_jacobian)
            for (int k = 0; k < d; ++k) s += 0.5 * (s2 / mt) * (G(b, i, k) * JG(b, j, k) + G(b, j, k) * JG(b, i, k));
          else
            for (int k = 0; k < d; ++k) s += kappa * G(b, i, k) * G(b, j, k);
          S(b, i, j) = s;
        }
      bool const definite = Impl::cholesky_in_place(m, Sb, pivot) < 0;
      bool covariance = definite;
      if (use_jacobian && definite)
        for (int j = 0; j < m; ++j) covariance = covariance && S(b, j, j) >= (1 - 1e-6) * P(b, j);
      if (covariance || !use_jacobian) break;
      use_jacobian = false;
    }
    Impl::cholesky_solve(m, Sb, vb);
    for (int k = 0; k < d; ++k) {
      double g = 0;
      if (use_jacobian)
        for (int i = 0; i < m; ++i) g += JG(b, i, k) * v(b, i);
      else
        for (int i = 0; i < m; ++i) g += gamma * G(b, i, k) * v(b, i);
      out(b, k / N, k % N) += static_cast<Scalar>(g);
    }
  }
};

/// Per sample: T = R + v G Gᵀ and R replaced by their lower Cholesky factors
/// (T in its workspace, R's in LR), and μ = v Gᵀ T⁻¹ y, the mean of the
/// refinement's Gaussian reference posterior. ok(b) = 0 where a
/// factorisation fails; that sample is left as the integration drew it.
template <class MemorySpace>
struct RefinementSetup {
  Kokkos::View<const double***, Kokkos::LayoutRight, MemorySpace> G, R;  // (B, m, d), (B, m, m)
  Kokkos::View<const double**, Kokkos::LayoutRight, MemorySpace> y;      // (B, m)
  Kokkos::View<double***, Kokkos::LayoutRight, MemorySpace> T, LR;       // (B, m, m)
  Kokkos::View<double**, Kokkos::LayoutRight, MemorySpace> mu, w;        // (B, d), (B, m)
  Kokkos::View<int*, MemorySpace> ok;
  double v;
  int m, d;
  KOKKOS_INLINE_FUNCTION void operator()(int b) const {
    auto const Tb = Kokkos::subview(T, b, Kokkos::ALL, Kokkos::ALL);
    auto const Lb = Kokkos::subview(LR, b, Kokkos::ALL, Kokkos::ALL);
    auto const wb = Kokkos::subview(w, b, Kokkos::ALL);
    for (int i = 0; i < m; ++i)
      for (int j = 0; j <= i; ++j) {
        double s = 0;
        for (int k = 0; k < d; ++k) s += G(b, i, k) * G(b, j, k);
        Lb(i, j) = R(b, i, j);
        Tb(i, j) = R(b, i, j) + v * s;
      }
    double pivot = 0;
    bool const good = Impl::cholesky_in_place(m, Lb, pivot) < 0 && Impl::cholesky_in_place(m, Tb, pivot) < 0;
    ok(b) = good ? 1 : 0;
    if (!good) return;
    for (int i = 0; i < m; ++i) wb(i) = y(b, i);
    Impl::cholesky_solve(m, Tb, wb);
    for (int k = 0; k < d; ++k) {
      double s = 0;
      for (int i = 0; i < m; ++i) s += G(b, i, k) * wb(i);
      mu(b, k) = v * s;
    }
  }
};

/// One refinement step of every sample (the header's update), given the
/// model's score at (m_t a, t): r = m_t score + a/v, Λ⁻¹ r = v r − v² Gᵀ T⁻¹ G r,
/// ξ = √v z − v Gᵀ T⁻¹ (√v G z + L_R w) with z ~ N(0, I_d), w ~ N(0, I_m)
/// drawn from (seed, first_sample + b, draw); z is drawn twice from copies
/// of one generator rather than stored.
template <class Scalar, class ExecSpace>
struct RefinementStep {
  using memory_space = typename ExecSpace::memory_space;
  Kokkos::View<Scalar***, Kokkos::LayoutRight, memory_space> x;
  Kokkos::View<const Scalar***, Kokkos::LayoutRight, memory_space> score;
  Kokkos::View<const double***, Kokkos::LayoutRight, memory_space> G, T, LR;
  Kokkos::View<const double**, Kokkos::LayoutRight, memory_space> mu;
  Kokkos::View<double**, Kokkos::LayoutRight, memory_space> q, p;  // (B, m) workspaces
  Kokkos::View<const int*, memory_space> ok;
  double v, mt, decay, noise;
  std::uint64_t seed;
  std::int64_t first_sample, draw;
  int m, d, N;

  KOKKOS_INLINE_FUNCTION double residual(int b, int k) const {
    return mt * static_cast<double>(score(b, k / N, k % N)) + static_cast<double>(x(b, k / N, k % N)) / v;
  }
  KOKKOS_INLINE_FUNCTION void operator()(int b) const {
    if (!ok(b)) return;
    auto const Tb = Kokkos::subview(T, b, Kokkos::ALL, Kokkos::ALL);
    auto const qb = Kokkos::subview(q, b, Kokkos::ALL);
    auto const pb = Kokkos::subview(p, b, Kokkos::ALL);
    double const sv = math::sqrt(v);
    auto gen = random::sample_generator<ExecSpace>(seed, first_sample + b, draw);
    auto replay = gen;
    for (int i = 0; i < m; ++i) qb(i) = pb(i) = 0;
    for (int k = 0; k < d; ++k) {
      double const r = residual(b, k), z = gen.normal();
      for (int i = 0; i < m; ++i) {
        qb(i) += G(b, i, k) * r;
        pb(i) += sv * G(b, i, k) * z;
      }
    }
    for (int i = 0; i < m; ++i) {  // p += L_R w (L_R lower)
      double const w = gen.normal();
      for (int l = i; l < m; ++l) pb(l) += LR(b, l, i) * w;
    }
    Impl::cholesky_solve(m, Tb, qb);
    Impl::cholesky_solve(m, Tb, pb);
    for (int k = 0; k < d; ++k) {
      double gq = 0, gp = 0;
      for (int i = 0; i < m; ++i) {
        gq += G(b, i, k) * qb(i);
        gp += G(b, i, k) * pb(i);
      }
      double const r = residual(b, k), z = replay.normal(), a = static_cast<double>(x(b, k / N, k % N));
      double const drift = v * r - v * v * gq, xi = sv * z - v * gp;
      x(b, k / N, k % N) = static_cast<Scalar>(mu(b, k) + decay * (a - mu(b, k)) + (1 - decay) * drift + noise * xi);
    }
  }
};

/// status(b) = not_converged where the refinement diverged (|a|² > 100 v d:
/// ten reference standard deviations per coordinate) or could not start;
/// returns the count through the reduction.
template <class Scalar, class MemorySpace>
struct RefinementCheck {
  Kokkos::View<const Scalar***, Kokkos::LayoutRight, MemorySpace> x;
  Kokkos::View<const int*, MemorySpace> ok;
  Kokkos::View<SolveStatus*, MemorySpace> status;
  double v;
  int d, N;
  KOKKOS_INLINE_FUNCTION void operator()(int b, int& diverged) const {
    double s = 0;
    for (int k = 0; k < d; ++k) s += static_cast<double>(x(b, k / N, k % N)) * static_cast<double>(x(b, k / N, k % N));
    if (!ok(b) || !(s <= 100.0 * v * d)) {  // NaN included
      ++diverged;
      if (status.data() && status(b) == SolveStatus::ok) status(b) = SolveStatus::not_converged;
    }
  }
};

}  // namespace Impl

template <class Model>
class GuidedScore {
 public:
  using model_type = Model;
  using execution_space = typename Model::execution_space;
  using memory_space = typename Model::memory_space;
  using scalar_type = typename Model::scalar_type;
  using field_view = typename Model::field_view;
  using const_field_view = typename Model::const_field_view;
  using time_view = typename Model::time_view;
  using const_time_view = typename Model::const_time_view;
  using cond_view = typename Model::cond_view;
  using const_cond_view = typename Model::const_cond_view;

  /// `num_observations` probes (m >= 1) of the model's (C, N) state.
  GuidedScore(Model& model, int num_observations, Guidance guidance = Guidance::jacobian)
      : model_(&model), process_(model.description().sde), m_(num_observations), guidance_(guidance) {
    require(m_ >= 1, "guided score: ", m_, " observations; expected at least 1");
  }
  Guidance guidance() const { return guidance_; }
  /// Model evaluations per evaluation of this score: 1 + m (jacobian) or 1.
  int evaluations_per_call() const { return guidance_ == Guidance::jacobian ? 1 + m_ : 1; }

  model::ModelDescription const& description() const { return model_->description(); }
  Model& model() const { return *model_; }
  /// Samples of the last refine() call whose refinement diverged (flagged not_converged).
  int last_refine_diverged() const { return last_refine_diverged_; }
  int num_observations() const { return m_; }

  /// Reserves the model and the guidance's per-sample data for `max_batch`
  /// samples of d = C·N latent values.
  void reserve(int max_batch) {
    model_->reserve(max_batch);
    auto const& a = model_->description().architecture;
    channels_ = a.channels;
    points_ = a.num_points;
    int const d = channels_ * points_;
    if (max_batch <= reserved_) return;
    using namespace Kokkos;
    G_ = decltype(G_)(view_alloc(WithoutInitializing, std::string("psgm::posterior::GuidedScore::G")), max_batch, m_, d);
    y_ = decltype(y_)(view_alloc(WithoutInitializing, std::string("psgm::posterior::GuidedScore::residual")), max_batch, m_);
    R_ = decltype(R_)(view_alloc(WithoutInitializing, std::string("psgm::posterior::GuidedScore::R")), max_batch, m_, m_);
    S_ = decltype(S_)(view_alloc(WithoutInitializing, std::string("psgm::posterior::GuidedScore::S")), max_batch, m_, m_);
    v_ = decltype(v_)(view_alloc(WithoutInitializing, std::string("psgm::posterior::GuidedScore::v")), max_batch, m_);
    if (guidance_ == Guidance::jacobian) {
      JG_ = decltype(JG_)(view_alloc(std::string("psgm::posterior::GuidedScore::JG")), max_batch, m_, d);
      h_ = decltype(h_)(view_alloc(WithoutInitializing, std::string("psgm::posterior::GuidedScore::step")), max_batch);
      P_ = decltype(P_)(view_alloc(WithoutInitializing, std::string("psgm::posterior::GuidedScore::pivots")), max_batch,
                        m_);
      xp_ = field_view(view_alloc(WithoutInitializing, std::string("psgm::posterior::GuidedScore::x_probe")), max_batch,
                       channels_, points_);
      sp_ = field_view(view_alloc(WithoutInitializing, std::string("psgm::posterior::GuidedScore::score_probe")),
                       max_batch, channels_, points_);
    }
    reserved_ = max_batch;
  }

  /// Host data of the first `batch` samples: G (batch, m, d), the residual
  /// y − Hμ (batch, m) and the noise covariance R (batch, m, m), row-major.
  void set_observations(execution_space const& space, int batch, double const* G, double const* residual,
                        double const* R) {
    require(batch >= 0 && batch <= reserved_, "guided score: batch ", batch, " exceeds the reserved ", reserved_);
    int const d = channels_ * points_;
    auto copy3 = [&](auto const& dst, double const* src, int n1, int n2) {
      Kokkos::View<const double***, Kokkos::LayoutRight, Kokkos::HostSpace, Kokkos::MemoryUnmanaged> h(src, batch, n1,
                                                                                                        n2);
      Kokkos::deep_copy(space, Kokkos::subview(dst, std::make_pair(0, batch), Kokkos::ALL, Kokkos::ALL), h);
    };
    copy3(G_, G, m_, d);
    copy3(R_, R, m_, m_);
    Kokkos::View<const double**, Kokkos::LayoutRight, Kokkos::HostSpace, Kokkos::MemoryUnmanaged> hy(residual, batch,
                                                                                                     m_);
    Kokkos::deep_copy(space, Kokkos::subview(y_, std::make_pair(0, batch), Kokkos::ALL), hy);
    space.fence();  // the host arrays belong to the caller
  }

  /// The model's score plus the guidance term (for the batch's samples in
  /// the order set_observations() gave).
  void score(execution_space const& space, const_field_view x, const_time_view t, const_cond_view cond,
             field_view out) const {
    model_->score(space, x, t, cond, out);
    int const B = static_cast<int>(x.extent(0)), d = channels_ * points_;
    bool const jacobian = guidance_ == Guidance::jacobian;
    if (jacobian) {
      // Forward differences of the Tweedie mean along each probe's row: a
      // step of 1e-2 (float) or 1e-5 (double) of the state's scale.
      double const eps = sizeof(scalar_type) == 4 ? 1e-2 : 1e-5;
      field_view xp(xp_.data(), B, channels_, points_), sp(sp_.data(), B, channels_, points_);
      for (int i = 0; i < m_; ++i) {
        Kokkos::parallel_for("psgm::posterior::GuidedScore::probe_step",
                             Kokkos::RangePolicy<execution_space>(space, 0, B),
                             Impl::ProbeStep<scalar_type, memory_space>{x, xp, G_, t, h_, process_, i, d, points_, eps});
        model_->score(space, xp, t, cond, sp);
        Kokkos::parallel_for("psgm::posterior::GuidedScore::jacobian_column",
                             Kokkos::RangePolicy<execution_space>(space, 0, B),
                             Impl::JacobianColumn<scalar_type, memory_space>{x, out, xp, sp, t, h_, JG_, process_, i,
                                                                             d, points_});
      }
    }
    Impl::GuidanceKernel<scalar_type, memory_space> k{G_, y_, R_, S_, v_, JG_, P_, jacobian, x, t, out, process_,
                                                      m_, d, points_};
    Kokkos::parallel_for("psgm::posterior::GuidedScore::guidance", Kokkos::RangePolicy<execution_space>(space, 0, B),
                         k);
  }

  /// Refines B = x.extent(0) draws of the posterior in place (the header's
  /// Langevin refinement): x at t = 0, as an integration of this score left
  /// it, for the observations set_observations() gave, `cond` the model's
  /// (normalised) conditions. Samples whose refinement diverged get
  /// SolveStatus::not_converged in `status` (if given, and ok before).
  /// Returns the model evaluations each sample took (refinement.steps).
  /// psgm::InvalidArgument for a bad refinement.
  int refine(execution_space const& space, field_view x, const_cond_view cond, Refinement const& refinement,
             std::uint64_t seed, std::int64_t first_sample,
             Kokkos::View<SolveStatus*, memory_space> status = {}) {
    refinement.validate();
    if (refinement.steps == 0) return 0;
    ScopedRegion region("psgm::posterior::GuidedScore::refine");
    int const B = static_cast<int>(x.extent(0)), d = channels_ * points_;
    require(B <= reserved_, "guided score: refine: a batch of ", B, " exceeds the reserved ", reserved_);
    using namespace Kokkos;
    if (refine_reserved_ < reserved_) {
      LR_ = decltype(LR_)(view_alloc(WithoutInitializing, std::string("psgm::posterior::GuidedScore::refine_noise_factor")),
                          reserved_, m_, m_);
      mu_ = decltype(mu_)(view_alloc(WithoutInitializing, std::string("psgm::posterior::GuidedScore::refine_mean")),
                          reserved_, d);
      p_ = decltype(p_)(view_alloc(WithoutInitializing, std::string("psgm::posterior::GuidedScore::refine_noise")),
                        reserved_, m_);
      ok_ = decltype(ok_)(view_alloc(WithoutInitializing, std::string("psgm::posterior::GuidedScore::refine_ok")),
                          reserved_);
      xs_ = field_view(view_alloc(WithoutInitializing, std::string("psgm::posterior::GuidedScore::refine_state")),
                       reserved_, channels_, points_);
      ss_ = field_view(view_alloc(WithoutInitializing, std::string("psgm::posterior::GuidedScore::refine_score")),
                       reserved_, channels_, points_);
      ts_ = time_view(view_alloc(WithoutInitializing, std::string("psgm::posterior::GuidedScore::refine_time")),
                      reserved_);
      refine_reserved_ = reserved_;
    }
    // The prior's score at σ_L: the model at process time t(σ_L), state m_t a.
    double const t = process_.time_of_sigma(refinement.sigma);
    double const mt = process_.mean(t), v = 1.0 + process_.variance(t) / (mt * mt);
    field_view xs(xs_.data(), B, channels_, points_), ss(ss_.data(), B, channels_, points_);
    time_view ts(ts_.data(), B);
    deep_copy(space, ts, static_cast<scalar_type>(process_.model_time(t)));
    // S_ and v_ (the guidance's workspaces) hold T's factor and T⁻¹ G r.
    parallel_for("psgm::posterior::GuidedScore::refine_setup", RangePolicy<execution_space>(space, 0, B),
                 Impl::RefinementSetup<memory_space>{G_, R_, y_, S_, LR_, mu_, v_, ok_, v, m_, d});
    double const h = refinement.step_for(v * mt * mt / process_.variance(t) - 1.0);
    double const decay = std::exp(-h), noise = std::sqrt(-std::expm1(-2.0 * h));
    for (int k = 0; k < refinement.steps; ++k) {
      if (mt == 1.0)
        model_->score(space, x, ts, cond, ss);
      else {
        deep_copy(space, xs, x);
        scalar_type const scale = static_cast<scalar_type>(mt);
        scalar_type* const xp = xs.data();
        parallel_for("psgm::posterior::GuidedScore::refine_scale",
                     RangePolicy<execution_space, IndexType<std::int64_t>>(space, 0, std::int64_t(xs.size())),
                     KOKKOS_LAMBDA(std::int64_t i) { xp[i] *= scale; });
        model_->score(space, xs, ts, cond, ss);
      }
      parallel_for("psgm::posterior::GuidedScore::refine_step", RangePolicy<execution_space>(space, 0, B),
                   Impl::RefinementStep<scalar_type, execution_space>{
                       x, ss, G_, S_, LR_, mu_, v_, p_, ok_, v, mt, decay, noise, seed, first_sample,
                       refinement_draw + k, m_, d, points_});
    }
    int diverged = 0;
    parallel_reduce("psgm::posterior::GuidedScore::refine_check", RangePolicy<execution_space>(space, 0, B),
                    Impl::RefinementCheck<scalar_type, memory_space>{x, ok_, status, v, d, points_}, diverged);
    last_refine_diverged_ = diverged;
    return refinement.steps;
  }

 private:
  Model* model_;
  sde::DiffusionProcess process_;
  int m_;
  Guidance guidance_;
  int channels_ = 0, points_ = 0, reserved_ = 0;
  Kokkos::View<double***, Kokkos::LayoutRight, memory_space> G_, R_, S_;
  Kokkos::View<double**, Kokkos::LayoutRight, memory_space> y_, v_;
  Kokkos::View<double***, Kokkos::LayoutRight, memory_space> JG_;
  Kokkos::View<double*, memory_space> h_;
  Kokkos::View<double**, Kokkos::LayoutRight, memory_space> P_;
  field_view xp_, sp_;
  // Refinement workspaces (allocated by its first call).
  int refine_reserved_ = 0, last_refine_diverged_ = 0;
  Kokkos::View<double***, Kokkos::LayoutRight, memory_space> LR_;
  Kokkos::View<double**, Kokkos::LayoutRight, memory_space> mu_, p_;
  Kokkos::View<int*, memory_space> ok_;
  field_view xs_, ss_;
  time_view ts_;
};

}  // namespace posterior
}  // namespace psgm

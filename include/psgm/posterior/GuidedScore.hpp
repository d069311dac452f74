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
// and evaluation). It is the "diagonal" approximation of the moment-matching
// family (the denoiser's Jacobian replaced by the prior's, m/(m² + s²) I).
//
//   psgm::posterior::GuidedScore<Model> guided(model, m);
//   guided.reserve(B);
//   guided.set_observations(space, B, G, residual, R);   // host, per sample
//   psgm::sde::Sampler<psgm::posterior::GuidedScore<Model>, psgm::sde::EdmHeun> s(space, guided, cfg, B);
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/model/ModelDescription.hpp>
#include <psgm/sde/DiffusionProcess.hpp>

#include <Kokkos_Core.hpp>

#include <string>

namespace psgm {
namespace posterior {

namespace Impl {

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
  const_field_view x;
  const_time_view t;
  field_view out;
  sde::DiffusionProcess process;
  int m, d, N;

  KOKKOS_INLINE_FUNCTION void operator()(int b) const {
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
    // S = R + κ G Gᵀ, Cholesky in place (lower), then v ← S⁻¹ v.
    for (int i = 0; i < m; ++i)
      for (int j = 0; j <= i; ++j) {
        double s = R(b, i, j);
        for (int k = 0; k < d; ++k) s += kappa * G(b, i, k) * G(b, j, k);
        S(b, i, j) = s;
      }
    for (int j = 0; j < m; ++j) {
      double dj = S(b, j, j);
      for (int k = 0; k < j; ++k) dj -= S(b, j, k) * S(b, j, k);
      dj = math::sqrt(dj > 0 ? dj : 0.0);  // S is SPD (R is); a zero pivot leaves the NaN to the sampler's status
      S(b, j, j) = dj;
      for (int i = j + 1; i < m; ++i) {
        double s = S(b, i, j);
        for (int k = 0; k < j; ++k) s -= S(b, i, k) * S(b, j, k);
        S(b, i, j) = s / dj;
      }
    }
    for (int i = 0; i < m; ++i) {
      double s = v(b, i);
      for (int k = 0; k < i; ++k) s -= S(b, i, k) * v(b, k);
      v(b, i) = s / S(b, i, i);
    }
    for (int i = m - 1; i >= 0; --i) {
      double s = v(b, i);
      for (int k = i + 1; k < m; ++k) s -= S(b, k, i) * v(b, k);
      v(b, i) = s / S(b, i, i);
    }
    for (int k = 0; k < d; ++k) {
      double g = 0;
      for (int i = 0; i < m; ++i) g += G(b, i, k) * v(b, i);
      out(b, k / N, k % N) += static_cast<Scalar>(gamma * g);
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
  GuidedScore(Model& model, int num_observations)
      : model_(&model), process_(model.description().sde), m_(num_observations) {
    require(m_ >= 1, "guided score: ", m_, " observations; expected at least 1");
  }

  model::ModelDescription const& description() const { return model_->description(); }
  Model& model() const { return *model_; }
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
    int const B = static_cast<int>(x.extent(0));
    Impl::GuidanceKernel<scalar_type, memory_space> k{G_, y_, R_, S_, v_, x, t, out, process_,
                                                      m_, channels_ * points_, points_};
    Kokkos::parallel_for("psgm::posterior::GuidedScore::guidance", Kokkos::RangePolicy<execution_space>(space, 0, B),
                         k);
  }

 private:
  Model* model_;
  sde::DiffusionProcess process_;
  int m_;
  int channels_ = 0, points_ = 0, reserved_ = 0;
  Kokkos::View<double***, Kokkos::LayoutRight, memory_space> G_, R_, S_;
  Kokkos::View<double**, Kokkos::LayoutRight, memory_space> y_, v_;
};

}  // namespace posterior
}  // namespace psgm

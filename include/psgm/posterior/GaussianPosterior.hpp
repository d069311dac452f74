// The exact posterior of a whitened Gaussian prior given linear observations
// (docs/posterior.md §2). The conditional Gaussian emulator writes a field at
// condition u as
//
//   x = μ(u) + σ(u) ⊙ B a,   B = V Λ^½ (model/Whitening.hpp),   a ~ N(0, I_F),
//
// so observations y = H x + e are linear in the latent coordinates:
//
//   y = G a + H μ(u) + e,    G = H diag(σ(u)) B,   e ~ N(0, R).
//
// Conditioning a Gaussian on a linear observation is exact and cheap with
// Matheron's rule: a prior draw a, a noise draw ε ~ N(0, R), then
//
//   a ← a + Gᵀ (G Gᵀ + R)⁻¹ (y − H μ − G a − ε)
//
// is an exact draw of a | y (m × m algebra, m the number of probes). The same
// update conditions the Gaussian tail of a residual score model (the
// coordinates the network does not learn) given its network coordinates.
//
//   auto w = *psgm::io::read_model("emulator.h5").whitening;
//   psgm::posterior::GaussianPosterior<Kokkos::DefaultExecutionSpace> post(w, H);
//   post.sample(space, conditions, seed, first_sample, fields, status);   // (B, C, N)
//
// Randomness: sample first_sample + b draws a from noise draw 0 of (seed,
// first_sample + b), exactly the emulator's prior draw, and ε from draw
// observation_draw. Host float64 code; the fields are copied to `space`.
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/core/Status.hpp>
#include <psgm/model/GaussianEmulator.hpp>
#include <psgm/model/Whitening.hpp>
#include <psgm/posterior/Observations.hpp>
#include <psgm/sde/samplers/SamplerParameters.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <functional>
#include <vector>

namespace psgm {
namespace posterior {

/// The noise draw (stream sampler_noise) of the observation noise ε of
/// Matheron's update; the prior and the tail keep theirs (draw 0 and
/// model::tail_draw).
inline constexpr std::int64_t observation_draw = (std::int64_t(1) << 40) + 1;

/// The observations seen from the F latent coordinates at one condition.
struct LatentObservation {
  int m = 0, F = 0;
  std::vector<double> G;          ///< (m, F) row-major: H diag(σ) B on the free points
  std::vector<double> residual;   ///< (m) y − H μ(u)
  std::vector<double> noise_var;  ///< (m) s_j²
};

/// G and y − Hμ at a condition whose moments μ, σ (C·N each,
/// Whitening::moments) are given. The operator's grid must be the
/// whitening's (same C and N).
LatentObservation latent_observation(model::Whitening const& whitening, ObservationOperator const& H,
                                     double const* mu, double const* sigma);

/// Exact Gaussian conditioning of the coordinates [lo, hi) of `a` (F values;
/// a prior N(0, I) draw there, the others held fixed) on the observations,
/// with the noise draw `noise` (m standard normal values, scaled by s_j
/// here): Matheron's update above, restricted to [lo, hi).
void condition_latent(LatentObservation const& obs, int lo, int hi, double const* noise, double* a);

/// The emulator's posterior mean and standard deviation at every point
/// (C·N each; pinned points: μ and 0) at one physical condition, in closed
/// form: the reference the sampled posteriors are tested against.
void gaussian_posterior_moments(model::Whitening const& whitening, ObservationOperator const& H,
                                double const* physical, double* mean, double* stddev);

/// Host: B exact posterior draws of the emulator, out (B, C·N).
void sample_gaussian_posterior(model::Whitening const& whitening, ObservationOperator const& H, int batch,
                               double const* conditions, std::uint64_t seed, std::int64_t first_sample, double* out);

/// psgm::sde::Sampler's sampling interface over the emulator's exact
/// posterior (workflow::sample_with writes it like any sampler's draws).
template <class ExecSpace>
class GaussianPosterior {
 public:
  using execution_space = ExecSpace;
  using scalar_type = double;
  using field_view = Kokkos::View<double***, Kokkos::LayoutRight, typename ExecSpace::memory_space>;
  using status_view = Kokkos::View<SolveStatus*, typename ExecSpace::memory_space>;
  using host_condition_view = Kokkos::View<const double**, Kokkos::LayoutRight, Kokkos::HostSpace>;

  /// The whitening must keep every coordinate (an emulator's), and H must
  /// be on its grid.
  GaussianPosterior(model::Whitening whitening, ObservationOperator H)
      : whitening_(std::move(whitening)), H_(std::move(H)) {
    whitening_.validate();
    require(whitening_.components == whitening_.num_free(), "Gaussian posterior: the whitening keeps ",
            whitening_.components, " of ", whitening_.num_free(),
            " coordinates; the exact posterior needs the emulator's (all of them)");
    require(H_.channels() == whitening_.channels && H_.num_points() == whitening_.num_points,
            "Gaussian posterior: the observations are on a grid of ", H_.channels(), " channels and ",
            H_.num_points(), " points; the model's fields have ", whitening_.channels, " and ",
            whitening_.num_points);
  }

  ObservationOperator const& observations() const { return H_; }

  /// Draws B = out.extent(0) posterior fields (B, C, N) at the physical
  /// conditions (B, K); every sample ok. Fences `space`.
  template <class Out, class Status>
  sde::SampleReport sample(ExecSpace const& space, host_condition_view conditions, std::uint64_t seed, std::int64_t first_sample,
                Out const& out, Status const& status) {
    ScopedRegion region("psgm::posterior::GaussianPosterior::sample");
    int const B = static_cast<int>(out.extent(0));
    model::Impl::draw_on_host(space, "Gaussian posterior", whitening_, conditions, first_sample, out,
                              [&](int n, double* host) {
                                sample_gaussian_posterior(whitening_, H_, n, conditions.data(), seed, first_sample, host);
                              });
    if (status.extent(0) > 0) Kokkos::deep_copy(space, status, SolveStatus::ok);
    space.fence();
    sde::SampleReport r;
    r.num_samples = B;
    return r;
  }
  void on_evaluation(std::function<void(std::int64_t)>) {}

 private:
  model::Whitening whitening_;
  ObservationOperator H_;
};

}  // namespace posterior
}  // namespace psgm

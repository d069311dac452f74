// Posterior draws of a whitened score model given probe observations
// (docs/posterior.md §3): the sampler of sde/ runs on the model guided by the
// observations (GuidedScore.hpp) in the r latent coordinates the network
// learns, optionally followed by Langevin refinement steps at the clean
// state (GuidedScore::refine; `Refinement`, off by default); the F − r
// coordinates of the Gaussian tail are then conditioned
// exactly on the observations given the network's coordinates (Matheron's
// update, GaussianPosterior.hpp), and the whole is decoded to fields.
//
//   psgm::posterior::PosteriorSampler<Model, psgm::sde::EdmHeun> post(space, model, H, config, 256);
//   auto report = post.sample(space, conditions, seed, first_sample, fields, status);   // (B, C, N)
//
// The interface is psgm::sde::Sampler's, so workflow::sample_with writes it.
// Its members are compiled once (impl/PosteriorSampler_Impl.hpp): for the
// native models on every execution space in libpsgm and for LibTorch's in
// libpsgm_torch, with the EDM Heun sampler (the residual models' SDE); other
// methods compose through the same header with the impl included.
// Randomness: the prior draw and the SDE increments as the unguided sampler
// (docs/sampling.md §6), the refinement's noise from refinement_draw + k,
// the tail from model::tail_draw and the observation noise of the tail's
// update from observation_draw, all of (seed, first_sample + b).
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/model/GaussianEmulator.hpp>
#include <psgm/posterior/GaussianPosterior.hpp>
#include <psgm/posterior/GuidedScore.hpp>
#include <psgm/score/NativeScoreModel.hpp>
#include <psgm/sde/Sampler.hpp>
#include <psgm/sde/samplers/EdmHeun.hpp>

#include <Kokkos_Core.hpp>

#include <functional>
#include <optional>
#include <vector>

namespace psgm {
namespace posterior {

template <class Model, class Method = sde::AnySampler>
class PosteriorSampler {
 public:
  using guided_type = GuidedScore<Model>;
  using sampler_type = sde::Sampler<guided_type, Method>;
  using execution_space = typename Model::execution_space;
  using scalar_type = typename Model::scalar_type;
  using field_view = typename sampler_type::field_view;
  using status_view = typename sampler_type::status_view;
  using host_condition_view = typename sampler_type::host_condition_view;

  /// The model must be whitened (a residual score model) and H on its grid;
  /// psgm::InvalidArgument otherwise. Reserves everything for `max_batch`.
  PosteriorSampler(execution_space const& space, Model& model, ObservationOperator H,
                   typename Method::Config const& config, int max_batch, Guidance guidance = Guidance::jacobian,
                   Refinement refinement = {});

  ObservationOperator const& observations() const { return H_; }
  sampler_type& sampler() { return *sampler_; }

  /// Draws B = out.extent(0) <= max_batch posterior fields (B, C, N) at the
  /// physical conditions (B, K); `status` (optional, B) as the sampler's.
  /// The report counts model evaluations: (1 + m) per sampler evaluation
  /// with Guidance::jacobian, plus one per refinement step.
  sde::SampleReport sample(execution_space const& space, host_condition_view conditions, std::uint64_t seed,
                           std::int64_t first_sample, field_view out, status_view status = {});

  void on_evaluation(std::function<void(std::int64_t)> callback) { sampler_->on_evaluation(std::move(callback)); }

 private:
  ObservationOperator H_;
  guided_type guided_;
  Refinement refinement_;
  model::Whitening const* whitening_ = nullptr;
  std::optional<sampler_type> sampler_;
  int max_batch_ = 0;
  typename sampler_type::field_view x_;
  typename sampler_type::cond_view cond_;
  status_view status_;
};

}  // namespace posterior
}  // namespace psgm

#define PSGM_POSTERIOR_SAMPLER_ETI(Space)                                                                         \
  extern template class psgm::posterior::PosteriorSampler<psgm::score::ScoreModel<psgm::score::Native<Space>, float>,  \
                                                          psgm::sde::EdmHeun>;                                      \
  extern template class psgm::posterior::PosteriorSampler<psgm::score::ScoreModel<psgm::score::Native<Space>, double>, \
                                                          psgm::sde::EdmHeun>;
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_POSTERIOR_SAMPLER_ETI)
#undef PSGM_POSTERIOR_SAMPLER_ETI

// Reverse-time samplers: turn N(0, I) noise into fields with a score model
// (docs/sampling.md; spec sgm.md §5).
//
//   psgm::sde::Sampler<Model, psgm::sde::EdmHeun> edm(space, model, psgm::sde::EdmHeun::Config{}, 1024);
//   psgm::sde::Sampler<Model> sampler(space, model, SamplerConfig::defaults(SamplerKind::stochastic_heun), 1024);
//   auto report = sampler.sample(space, conditions, seed, first_sample, fields, status);
//
// Model is any ScoreModel (docs/design.md §6): psgm::score::ScoreModel<LibTorch,
// Scalar>, ScoreModel<Native<ExecSpace>, Scalar>, or the analytic
// psgm::sde::AnalyticScore<ExecSpace, Scalar>. Method is a sampler policy of
// sde/samplers/ (EulerMaruyama, StochasticHeun, PredictorCorrector, OdeHeun,
// OdeDopri5, DpmSolver2M, EdmHeun) configured by its Method::Config, or
// AnySampler (the default), the method named by a SamplerConfig at run time.
// The sampler runs on the model's execution space, batched over samples; each
// sample has its own condition. It works in the model's normalised (or
// whitened) space and returns physical fields through the model's
// Normalization (or Whitening).
//
// Randomness: sample number `first_sample + b` of a call draws its noise from
// the generator of (seed, sample, draw), stream sampler_noise (docs/sampling.md
// §6). A sample therefore depends only on the seed, its global index, its
// condition and the model: not on the batch it is drawn in, the batch size or
// the number of threads.
#pragma once

#include <psgm/core/ExecutionSpaces.hpp>
#include <psgm/core/Status.hpp>
#include <psgm/model/GaussianEmulator.hpp>
#include <psgm/model/Whitening.hpp>
#include <psgm/sde/AnalyticScore.hpp>
#include <psgm/sde/DiffusionProcess.hpp>
#include <psgm/sde/SamplerConfig.hpp>
#include <psgm/sde/samplers/Integration.hpp>

#include <Kokkos_Core.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace psgm {
namespace sde {

template <class Model, class Method = AnySampler>
class Sampler {
 public:
  using model_type = Model;
  using method_type = Method;
  using config_type = typename Method::Config;
  using execution_space = typename Model::execution_space;
  using memory_space = typename Model::memory_space;
  using scalar_type = typename Model::scalar_type;
  using field_view = Kokkos::View<scalar_type***, Kokkos::LayoutRight, memory_space>;  ///< (B, C, N)
  using const_field_view = Kokkos::View<const scalar_type***, Kokkos::LayoutRight, memory_space>;
  using time_view = Kokkos::View<scalar_type*, memory_space>;                           ///< (B)
  using cond_view = Kokkos::View<scalar_type**, Kokkos::LayoutRight, memory_space>;     ///< (B, K), normalised
  using const_cond_view = Kokkos::View<const scalar_type**, Kokkos::LayoutRight, memory_space>;
  using status_view = Kokkos::View<SolveStatus*, memory_space>;
  /// Physical conditions, one row per sample: the K columns of the model's
  /// condition schema ((l, U0, F_right) for the porous electrode's models).
  using host_condition_view = Kokkos::View<const double**, Kokkos::LayoutRight, Kokkos::HostSpace>;

  /// Validates `config` against the model's SDE, reserves the model for
  /// `max_batch` samples and allocates every workspace once.
  Sampler(execution_space const& space, Model& model, config_type const& config, int max_batch);

  /// Draws B = out.extent(0) <= max_batch() samples: sample b has the physical
  /// condition conditions(b, :) and the global index first_sample + b. `out`
  /// receives physical fields (B, C, N); `status` (optional, B) ok,
  /// non_finite, or not_converged (ode_dopri5). Fences `space` (the report
  /// counts failed samples).
  SampleReport sample(execution_space const& space, host_condition_view conditions, std::uint64_t seed,
                      std::int64_t first_sample, field_view out, status_view status = {});

  /// The prior draw (noise draw 0) in normalised space: N(0, prior_stddev^2 I).
  void draw_prior(execution_space const& space, field_view x, std::uint64_t seed, std::int64_t first_sample) const;

  /// Integrates x (normalised, B <= max_batch) in place from t_start to the
  /// end, at normalised conditions `cond` (B, K). The deterministic samplers
  /// use no randomness here; the stochastic ones draw from (seed,
  /// first_sample + b, draw >= 1). This is what sample() does between
  /// draw_prior() and to_physical(); tests push chosen points through it.
  SampleReport integrate(execution_space const& space, field_view x, const_cond_view cond, std::uint64_t seed,
                         std::int64_t first_sample, status_view status = {});

  /// Physical conditions -> the model's normalised conditions (B, K).
  void normalise_conditions(execution_space const& space, host_condition_view conditions, cond_view out) const;
  /// Normalised fields -> physical fields: c = mean_c + std_c x_c per channel
  /// (models with the reference normalisation).
  void to_physical(execution_space const& space, const_field_view x, field_view out) const;
  /// Latent coordinates -> physical fields (whitened models; model/Whitening.hpp),
  /// the Gaussian tail from draw model::tail_draw of (seed, first_sample + b).
  void decode(execution_space const& space, const_field_view x, host_condition_view conditions, std::uint64_t seed,
              std::int64_t first_sample, field_view out) const;

  /// Called on the host after every network evaluation with the number of
  /// evaluations of the running call so far (for progress reports; it must
  /// not call back into the sampler). The evaluation may still be running on
  /// a device: the callback sees launches, not completions.
  void on_evaluation(std::function<void(std::int64_t)> callback) { integration_->on_evaluation(std::move(callback)); }

  config_type const& config() const { return config_; }
  DiffusionProcess const& process() const { return integration_->process(); }
  int max_batch() const { return max_batch_; }
  /// The shape the sampler integrates: the network's input (for a whitened
  /// model the latent coordinates, (r, 1)).
  int channels() const { return channels_; }
  int num_points() const { return num_points_; }
  /// The shape of the physical fields sample() returns.
  int field_channels() const { return whitening() ? whitening()->channels : channels_; }
  int field_points() const { return whitening() ? whitening()->num_points : num_points_; }
  /// The fixed-step time grid t_0 = t_start > ... > t_K (empty for ode_dopri5;
  /// for edm_heun the N levels before sigma = 0, as process times).
  std::vector<double> const& time_grid() const { return integration_->grid(); }

 private:
  Model* model_;
  config_type config_;
  // Made in the constructor's body, after the checks that give their shapes.
  std::optional<Integration<Model>> integration_;  // what every method shares: the process, the grid, the evaluations
  std::optional<typename Method::template Workspace<Model>> workspace_;  // the method's own
  std::array<double, 2> field_mean_{}, field_std_{};
  int max_batch_, channels_, num_points_, cond_dim_;
  /// The model's whitening (null: the reference normalisation).
  model::Whitening const* whitening() const {
    auto const& w = model_->description().whitening;
    return w ? &*w : nullptr;
  }

  field_view x_;  // the state (max_batch, C, N)
  cond_view cond_;
  typename cond_view::host_mirror_type host_cond_;
  status_view status_;
};

}  // namespace sde
}  // namespace psgm

#define PSGM_SDE_SAMPLER_ETI(Space)                                                     \
  extern template class psgm::sde::Sampler<psgm::sde::AnalyticScore<Space, double>>; \
  extern template class psgm::sde::Sampler<psgm::sde::AnalyticScore<Space, float>>;
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_SDE_SAMPLER_ETI)
#undef PSGM_SDE_SAMPLER_ETI

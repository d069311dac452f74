// Members of psgm::posterior::PosteriorSampler (PosteriorSampler.hpp):
// included by the explicit instantiations (src/posterior, src/torch) and by
// code that guides another sampler method.
#pragma once

#include <psgm/core/Random.hpp>
#include <psgm/posterior/PosteriorSampler.hpp>
#include <psgm/sde/impl/Sampler_Impl.hpp>

#include <Kokkos_Random.hpp>

#include <cstring>

namespace psgm {
namespace posterior {

template <class Model, class Method>
PosteriorSampler<Model, Method>::PosteriorSampler(execution_space const& space, Model& model, ObservationOperator H,
                                                  typename Method::Config const& config, int max_batch,
                                                  Guidance guidance, Refinement refinement)
    : H_(std::move(H)), guided_(model, H_.size(), guidance), refinement_(refinement) {
  refinement_.validate();
  auto const& w = model.description().whitening;
  require(w.has_value(), "posterior sampling: the model has the reference normalisation; observations guide a "
          "whitened model (psgm train --preset residual) or the Gaussian emulator");
  require(H_.channels() == w->channels && H_.num_points() == w->num_points,
          "posterior sampling: the observations are on a grid of ", H_.channels(), " channels and ",
          H_.num_points(), " points; the model's fields have ", w->channels, " and ", w->num_points);
  whitening_ = &*w;
  sampler_.emplace(space, guided_, config, max_batch);
  max_batch_ = max_batch;
}

template <class Model, class Method>
sde::SampleReport PosteriorSampler<Model, Method>::sample(execution_space const& space,
                                                        host_condition_view conditions, std::uint64_t seed,
                                                        std::int64_t first_sample, field_view out,
                                                        status_view status) {
  ScopedRegion region("psgm::posterior::PosteriorSampler::sample");
  auto const& w = *whitening_;
  int const B = static_cast<int>(out.extent(0)), K = w.num_conditions(), m = H_.size();
  int const F = w.num_free(), r = w.components, P = w.channels * w.num_points;
  require(B <= max_batch_, "posterior sampling: a batch of ", B, " exceeds max_batch = ", max_batch_);
  require(int(out.extent(1)) == w.channels && int(out.extent(2)) == w.num_points, "posterior sampling: out has ",
          "shape (", out.extent(0), ", ", out.extent(1), ", ", out.extent(2), "), expected (B, ", w.channels, ", ",
          w.num_points, ")");
  require(int(conditions.extent(0)) == B && int(conditions.extent(1)) == K, "posterior sampling: conditions ",
          "have shape (", conditions.extent(0), ", ", conditions.extent(1), "), expected (", B, ", ", K, ")");
  // Host: the latent observation of each sample, split at r: the network's
  // coordinates are guided with the tail's share of the observations
  // marginalised into their noise, R + G_t G_tᵀ.
  std::vector<LatentObservation> obs(static_cast<std::size_t>(B));
  std::vector<double> mu(static_cast<std::size_t>(B) * P), sigma(static_cast<std::size_t>(B) * P);
  std::vector<double> G(static_cast<std::size_t>(B) * m * r), y(static_cast<std::size_t>(B) * m),
      R(static_cast<std::size_t>(B) * m * m, 0.0);
  model::for_each_with_moments(w, B, conditions.data(), [&](int b, double const* mub, double const* sb, bool fresh) {
    std::memcpy(mu.data() + std::size_t(b) * P, mub, sizeof(double) * std::size_t(P));
    std::memcpy(sigma.data() + std::size_t(b) * P, sb, sizeof(double) * std::size_t(P));
    obs[std::size_t(b)] = fresh ? latent_observation(w, H_, mub, sb) : obs[std::size_t(b - 1)];
    auto const& o = obs[std::size_t(b)];
    for (int i = 0; i < m; ++i) {
      y[std::size_t(b) * m + i] = o.residual[std::size_t(i)];
      for (int k = 0; k < r; ++k) G[(std::size_t(b) * m + i) * r + k] = o.G[std::size_t(i) * F + k];
      for (int j = 0; j < m; ++j) {
        double s = i == j ? o.noise_var[std::size_t(i)] : 0.0;
        for (int k = r; k < F; ++k) s += o.G[std::size_t(i) * F + k] * o.G[std::size_t(j) * F + k];
        R[(std::size_t(b) * m + i) * m + j] = s;
      }
    }
  });
  guided_.set_observations(space, B, G.data(), y.data(), R.data());

  // The guided integration in latent space.
  auto& s = *sampler_;
  if (x_.extent(0) < std::size_t(B)) {
    x_ = typename sampler_type::field_view(
        Kokkos::view_alloc(space, Kokkos::WithoutInitializing, std::string("psgm::posterior::PosteriorSampler::x")),
        max_batch_, s.channels(), s.num_points());
    cond_ = typename sampler_type::cond_view(
        Kokkos::view_alloc(space, std::string("psgm::posterior::PosteriorSampler::conditions")), max_batch_, K);
    status_ = status_view(Kokkos::view_alloc(space, std::string("psgm::posterior::PosteriorSampler::status")),
                          max_batch_);
  }
  typename sampler_type::field_view x(x_.data(), B, s.channels(), s.num_points());
  typename sampler_type::cond_view cond(cond_.data(), B, K);
  status_view st = status.data() ? status : status_view(status_.data(), B);
  s.normalise_conditions(space, conditions, cond);
  s.draw_prior(space, x, seed, first_sample);
  sde::SampleReport report = s.integrate(space, x, cond, seed, first_sample, st);
  // The Jacobian's directional derivatives are model evaluations too.
  int const per_call = guided_.evaluations_per_call();
  report.nfe *= per_call;
  report.max_nfe_per_sample *= per_call;
  report.mean_nfe_per_sample *= per_call;
  // Langevin refinement at the clean state: one model evaluation per step.
  if (int const extra = guided_.refine(space, x, cond, refinement_, seed, first_sample, st); extra > 0) {
    report.nfe += std::int64_t(extra);
    report.max_nfe_per_sample += extra;
    report.mean_nfe_per_sample += extra;
  }

  // Host: the tail conditioned on the observations given the network's
  // coordinates, then the fields.
  auto hx = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, x);
  std::vector<double> a(static_cast<std::size_t>(F)), eps(static_cast<std::size_t>(m)),
      fields(static_cast<std::size_t>(B) * P);
  for (int b = 0; b < B; ++b) {
    for (int k = 0; k < r; ++k) a[std::size_t(k)] = static_cast<double>(hx.data()[std::size_t(b) * r + k]);
    auto tail = random::sample_generator<Kokkos::DefaultHostExecutionSpace>(seed, first_sample + b, model::tail_draw);
    for (int k = r; k < F; ++k) a[std::size_t(k)] = tail.normal();
    auto noise = random::sample_generator<Kokkos::DefaultHostExecutionSpace>(seed, first_sample + b, observation_draw);
    for (auto& e : eps) e = noise.normal();
    if (r < F) condition_latent(obs[std::size_t(b)], r, F, eps.data(), a.data());
    w.decode(mu.data() + std::size_t(b) * P, sigma.data() + std::size_t(b) * P, a.data(), a.data() + r,
             fields.data() + std::size_t(b) * P);
  }
  auto mirror = Kokkos::create_mirror_view(out);
  for (std::size_t i = 0; i < fields.size(); ++i) mirror.data()[i] = static_cast<scalar_type>(fields[i]);
  Kokkos::deep_copy(space, out, mirror);
  sde::Impl::check_finite(space, out, st, B);
  report.num_failed = sde::Impl::count_failed(space, st, B);
  return report;
}

}  // namespace posterior
}  // namespace psgm

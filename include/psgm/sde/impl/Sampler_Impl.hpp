// Definitions of psgm::sde::Sampler. The update formulas are those of
// docs/sampling.md, whose section numbers the comments cite. The analytic
// models are instantiated in src/sde/sampler_eti.cpp; other models (the
// LibTorch and native score models) include this file where they are used.
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/sde/Sampler.hpp>
#include <psgm/sde/impl/SamplerKernels.hpp>

#include <algorithm>
#include <string>
#include <vector>
#include <cmath>
#include <utility>

namespace psgm {
namespace sde {

template <class Model>
Sampler<Model>::Sampler(execution_space const& space, Model& model, SamplerConfig const& config, int max_batch)
    : model_(&model), config_(config), process_(model.description().sde), max_batch_(max_batch) {
  ScopedRegion region("psgm::sde::Sampler::Sampler");
  config_.validate(process_);
  require(max_batch >= 1, "sampler: max_batch = ", max_batch, " must be >= 1");
  auto const& description = model.description();
  channels_ = description.architecture.channels;
  num_points_ = description.architecture.num_points;
  cond_dim_ = description.architecture.cond_dim;
  if (auto const* w = whitening()) {
    // The network integrates the latent coordinates (r, 1); decode() makes fields.
    require(cond_dim_ == w->num_conditions(), "sampler: the network takes ", cond_dim_,
            " condition inputs, the whitening's schema has ", w->num_conditions(), " columns");
  } else {
    require(channels_ == 2 && num_points_ >= 1 && cond_dim_ == 3, "sampler: the model has ", channels_,
            " channels, ", num_points_, " points and ", cond_dim_,
            " condition inputs; psgm's reference normalisation is per channel of (c, phi) and takes "
            "(l, U0, F_right) (a whitened model takes other shapes)");
    description.normalization.validate();
    field_mean_ = description.normalization.field_mean;
    field_std_ = description.normalization.field_std;
  }
  model.reserve(max_batch);

  double const ts = config_.start_time(process_), te = config_.end_time(process_);
  if (config_.kind == SamplerKind::edm_heun)
    grid_ = make_time_grid(process_, config_.grid, config_.steps - 1, ts, te, config_.rho);
  else if (config_.kind != SamplerKind::ode_dopri5)
    grid_ = make_time_grid(process_, config_.grid, config_.steps, ts, te, config_.rho);

  auto field = [&](char const* label) {
    return field_view(Kokkos::view_alloc(space, Kokkos::WithoutInitializing, std::string(label)), max_batch, channels_,
                      num_points_);
  };
  x_ = field("psgm::sde::sampler::state");
  s_ = field("psgm::sde::sampler::score");
  switch (config_.kind) {
    case SamplerKind::euler_maruyama:
    case SamplerKind::predictor_corrector:
      z_ = field("psgm::sde::sampler::noise");
      norms_ = decltype(norms_)(Kokkos::view_alloc(space, std::string("psgm::sde::sampler::langevin_norms")),
                                max_batch + 1, 2);
      break;
    case SamplerKind::stochastic_heun:
      z_ = field("psgm::sde::sampler::noise");
      a_ = field("psgm::sde::sampler::predictor");
      b_ = field("psgm::sde::sampler::predictor_score");
      break;
    case SamplerKind::ode_heun:
      a_ = field("psgm::sde::sampler::velocity");
      b_ = field("psgm::sde::sampler::predictor");
      break;
    case SamplerKind::dpm_solver_2m:
      a_ = field("psgm::sde::sampler::denoised_previous");
      b_ = field("psgm::sde::sampler::denoised");
      break;
    case SamplerKind::edm_heun:
      if (config_.is_stochastic()) z_ = field("psgm::sde::sampler::noise");
      a_ = field("psgm::sde::sampler::model_input");
      b_ = field("psgm::sde::sampler::euler_point");
      c_ = field("psgm::sde::sampler::corrector_score");
      break;
    case SamplerKind::ode_dopri5: {
      a_ = field("psgm::sde::sampler::dopri_solution");
      b_ = field("psgm::sde::sampler::dopri_stage_point");
      char const* labels[7] = {"psgm::sde::sampler::dopri_k1", "psgm::sde::sampler::dopri_k2",
                               "psgm::sde::sampler::dopri_k3", "psgm::sde::sampler::dopri_k4",
                               "psgm::sde::sampler::dopri_k5", "psgm::sde::sampler::dopri_k6",
                               "psgm::sde::sampler::dopri_k7"};
      for (auto const* l : labels) k_.push_back(field(l));
      auto per_sample = [&](auto view_type, char const* label) {
        return decltype(view_type)(Kokkos::view_alloc(space, std::string(label)), max_batch);
      };
      adaptive_.t = per_sample(Kokkos::View<double*, memory_space>{}, "psgm::sde::sampler::dopri_t");
      adaptive_.h = per_sample(Kokkos::View<double*, memory_space>{}, "psgm::sde::sampler::dopri_h");
      adaptive_.t_stage = per_sample(Kokkos::View<double*, memory_space>{}, "psgm::sde::sampler::dopri_t_stage");
      adaptive_.aux = per_sample(Kokkos::View<double*, memory_space>{}, "psgm::sde::sampler::dopri_aux");
      adaptive_.done = per_sample(Kokkos::View<int*, memory_space>{}, "psgm::sde::sampler::dopri_done");
      adaptive_.last_rejected =
          per_sample(Kokkos::View<int*, memory_space>{}, "psgm::sde::sampler::dopri_last_rejected");
      adaptive_.accepted = per_sample(Kokkos::View<std::int64_t*, memory_space>{}, "psgm::sde::sampler::dopri_accepted");
      adaptive_.rejected = per_sample(Kokkos::View<std::int64_t*, memory_space>{}, "psgm::sde::sampler::dopri_rejected");
      adaptive_.evaluations =
          per_sample(Kokkos::View<std::int64_t*, memory_space>{}, "psgm::sde::sampler::dopri_evaluations");
      break;
    }
  }
  t_ = time_view(Kokkos::view_alloc(space, Kokkos::WithoutInitializing, "psgm::sde::sampler::time"), max_batch);
  cond_ = cond_view(Kokkos::view_alloc(space, "psgm::sde::sampler::conditions"), max_batch, cond_dim_);
  host_cond_ = Kokkos::create_mirror_view(cond_);
  status_ = status_view(Kokkos::view_alloc(space, "psgm::sde::sampler::status"), max_batch);
}

template <class Model>
typename Sampler<Model>::field_view Sampler<Model>::work(field_view const& w, int batch) const {
  // The first `batch` samples of a (max_batch, C, N) workspace: LayoutRight
  // keeps them contiguous, so an unmanaged view of the same data is exact.
  return field_view(w.data(), batch, channels_, num_points_);
}

template <class Model>
void Sampler<Model>::evaluate(execution_space const& space, field_view x, double t, field_view out) {
  int const batch = static_cast<int>(x.extent(0));
  time_view tb(t_.data(), batch);
  // The time input usually holds t already: from the previous evaluation, or
  // written by the update kernel before this one (Impl::NextTime).
  if (!(time_valid_ && time_value_ == t && time_batch_ == batch)) {
    Impl::fill_time(space, tb, batch, process_.model_time(t));
    time_valid_ = true;
    time_value_ = t;
    time_batch_ = batch;
  }
  model_->score(space, x, tb, current_cond_, out);
  ++nfe_;
  if (on_evaluation_) on_evaluation_(nfe_);
}

template <class Model>
Impl::NextTime<typename Sampler<Model>::scalar_type> Sampler<Model>::next_time(int batch, double t) {
  time_valid_ = true;
  time_value_ = t;
  time_batch_ = batch;
  return {t_.data(), batch, process_.model_time(t)};
}

template <class Model>
void Sampler<Model>::evaluate_per_sample(execution_space const& space, field_view x, field_view out) {
  int const batch = static_cast<int>(x.extent(0));
  time_valid_ = false;  // per-sample times were written by the caller's kernel
  model_->score(space, x, time_view(t_.data(), batch), current_cond_, out);
  ++nfe_;
  if (on_evaluation_) on_evaluation_(nfe_);
}

template <class Model>
void Sampler<Model>::normalise_conditions(execution_space const& space, host_condition_view conditions,
                                          cond_view out) const {
  ScopedRegion region("psgm::sde::Sampler::normalise_conditions");
  int const batch = static_cast<int>(conditions.extent(0));
  int const K = cond_dim_;
  require(int(conditions.extent(1)) == K && out.extent(0) == conditions.extent(0) && int(out.extent(1)) == K,
          "sampler: conditions have shape (", conditions.extent(0), ", ", conditions.extent(1),
          ") and the output (", out.extent(0), ", ", out.extent(1), "); expected (B, ", K, ") both");
  require(batch <= max_batch_, "sampler: ", batch, " conditions exceed max_batch = ", max_batch_);
  typename cond_view::host_mirror_type h(host_cond_.data(), batch, K);
  if (auto const* w = whitening()) {
    // The whitened model's condition input: the transformed, standardised columns.
    for (int b = 0; b < batch; ++b) {
      std::vector<double> f;
      try {
        f = w->features(&conditions(b, 0));
      } catch (InvalidArgument const& e) {
        throw InvalidArgument(psgm::Impl::concat("sampler: sample ", b, ": ", e.what()));
      }
      for (int j = 0; j < K; ++j) h(b, j) = static_cast<scalar_type>(f[std::size_t(j)]);
    }
    Kokkos::deep_copy(space, out, h);
    return;
  }
  auto const& normalization = model_->description().normalization;
  for (int b = 0; b < batch; ++b) {
    std::array<double, 3> const physical{conditions(b, 0), conditions(b, 1), conditions(b, 2)};
    require(std::isfinite(physical[0]) && std::isfinite(physical[1]) && std::isfinite(physical[2]),
            "sampler: condition of sample ", b, " = (", physical[0], ", ", physical[1], ", ", physical[2],
            ") is not finite");
    std::array<double, 3> n{};
    try {
      n = normalization.normalise_condition(physical);
    } catch (InvalidArgument const& e) {
      throw InvalidArgument(psgm::Impl::concat("sampler: sample ", b, ": ", e.what()));
    }
    for (int j = 0; j < 3; ++j) h(b, j) = static_cast<scalar_type>(n[j]);
  }
  Kokkos::deep_copy(space, out, h);
}

template <class Model>
void Sampler<Model>::to_physical(execution_space const& space, const_field_view x, field_view out) const {
  ScopedRegion region("psgm::sde::Sampler::to_physical");
  require(!whitening(), "sampler: to_physical is the reference normalisation; a whitened model's fields come from "
          "sample() (the latent coordinates are decoded with their conditions)");
  require(x.extent(0) == out.extent(0) && x.extent(1) == out.extent(1) && x.extent(2) == out.extent(2) &&
              int(x.extent(1)) == channels_,
          "sampler: to_physical needs x and out of the same shape (B, ", channels_, ", N)");
  std::int64_t const n = num_points_, c = channels_;
  double const mean0 = field_mean_[0], mean1 = field_mean_[1], std0 = field_std_[0], std1 = field_std_[1];
  scalar_type const* const xp = x.data();
  scalar_type* const op = out.data();
  // Spec sgm.md §1: one global scalar mean and std per field.
  Kokkos::parallel_for(
      "psgm::sde::to_physical",
      Kokkos::RangePolicy<execution_space, Kokkos::IndexType<std::int64_t>>(space, 0, std::int64_t(x.size())),
      KOKKOS_LAMBDA(std::int64_t i) {
        bool const phi = (i / n) % c == 1;
        op[i] = scalar_type((phi ? mean1 : mean0) + (phi ? std1 : std0) * double(xp[i]));
      });
}

template <class Model>
void Sampler<Model>::draw_prior(execution_space const& space, field_view x, std::uint64_t seed,
                                std::int64_t first_sample) const {
  ScopedRegion region("psgm::sde::Sampler::draw_prior");
  require(int(x.extent(0)) <= max_batch_ && int(x.extent(1)) == channels_ && int(x.extent(2)) == num_points_,
          "sampler: draw_prior needs x of shape (B <= ", max_batch_, ", ", channels_, ", ", num_points_, "), got (",
          x.extent(0), ", ", x.extent(1), ", ", x.extent(2), ")");
  require(first_sample >= 0, "sampler: first_sample = ", first_sample, " must be >= 0");
  Impl::draw_noise(space, x, static_cast<int>(x.extent(0)), seed, first_sample, 0, process_.prior_stddev());
}

template <class Model>
SampleReport Sampler<Model>::sample(execution_space const& space, host_condition_view conditions, std::uint64_t seed,
                                    std::int64_t first_sample, field_view out, status_view status) {
  ScopedRegion region("psgm::sde::Sampler::sample");
  int const batch = static_cast<int>(out.extent(0));
  require(batch <= max_batch_, "sampler: a batch of ", batch, " samples exceeds max_batch = ", max_batch_);
  int const C = field_channels(), N = field_points();
  require(int(out.extent(1)) == C && int(out.extent(2)) == N, "sampler: out has shape (", out.extent(0), ", ",
          out.extent(1), ", ", out.extent(2), "), expected (B, ", C, ", ", N, ")");
  require(int(conditions.extent(0)) == batch, "sampler: ", conditions.extent(0), " conditions for ", batch,
          " samples (need one condition per sample)");
  cond_view cond(cond_.data(), batch, cond_dim_);
  normalise_conditions(space, conditions, cond);
  field_view x = work(x_, batch);
  draw_prior(space, x, seed, first_sample);
  SampleReport report = integrate(space, x, cond, seed, first_sample, status);
  if (whitening())
    decode(space, x, conditions, seed, first_sample, out);
  else
    to_physical(space, x, out);
  return report;
}

template <class Model>
void Sampler<Model>::decode(execution_space const& space, const_field_view x, host_condition_view conditions,
                            std::uint64_t seed, std::int64_t first_sample, field_view out) const {
  ScopedRegion region("psgm::sde::Sampler::decode");
  // The whitening is host float64 code (model/Whitening.hpp): the latent
  // coordinates (B r values) go to the host, the fields come back.
  int const batch = static_cast<int>(x.extent(0));
  auto hx = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, x);
  std::vector<double> latent(hx.data(), hx.data() + hx.size());
  std::vector<double> fields(std::size_t(batch) * out.extent(1) * out.extent(2));
  std::vector<double> cond(conditions.data(), conditions.data() + conditions.size());
  model::decode_batch(*whitening(), batch, cond.data(), latent.data(), seed, first_sample, fields.data());
  auto mirror = Kokkos::create_mirror_view(out);
  for (std::size_t i = 0; i < fields.size(); ++i) mirror.data()[i] = static_cast<scalar_type>(fields[i]);
  Kokkos::deep_copy(space, out, mirror);
  space.fence();  // the host buffers go out of scope
}

template <class Model>
SampleReport Sampler<Model>::integrate(execution_space const& space, field_view x, const_cond_view cond,
                                       std::uint64_t seed, std::int64_t first_sample, status_view status) {
  ScopedRegion region("psgm::sde::Sampler::integrate");
  int const batch = static_cast<int>(x.extent(0));
  require(batch <= max_batch_, "sampler: a batch of ", batch, " samples exceeds max_batch = ", max_batch_);
  require(int(x.extent(1)) == channels_ && int(x.extent(2)) == num_points_, "sampler: x has shape (", x.extent(0),
          ", ", x.extent(1), ", ", x.extent(2), "), expected (B, ", channels_, ", ", num_points_, ")");
  require(int(cond.extent(0)) == batch && int(cond.extent(1)) == cond_dim_, "sampler: conditions have shape (",
          cond.extent(0), ", ", cond.extent(1), "), expected (", batch, ", ", cond_dim_, ")");
  require(status.data() == nullptr || int(status.extent(0)) == batch, "sampler: status has ", status.extent(0),
          " entries, expected ", batch);
  require(first_sample >= 0, "sampler: first_sample = ", first_sample, " must be >= 0");
  status_view st = status.data() ? status : status_view(status_.data(), batch);
  SampleReport report;
  report.num_samples = batch;
  if (batch == 0) return report;
  Kokkos::parallel_for(
      "psgm::sde::status_ok", Kokkos::RangePolicy<execution_space>(space, 0, batch),
      KOKKOS_LAMBDA(int b) { st(b) = SolveStatus::ok; });
  current_cond_ = cond;
  nfe_ = 0;
  time_valid_ = false;
  switch (config_.kind) {
    case SamplerKind::euler_maruyama: run_euler_maruyama(space, batch, x, seed, first_sample); break;
    case SamplerKind::stochastic_heun: run_stochastic_heun(space, batch, x, seed, first_sample); break;
    case SamplerKind::predictor_corrector: run_predictor_corrector(space, batch, x, seed, first_sample); break;
    case SamplerKind::ode_heun: run_ode_heun(space, batch, x); break;
    case SamplerKind::dpm_solver_2m: run_dpm_solver_2m(space, batch, x); break;
    case SamplerKind::edm_heun: run_edm_heun(space, batch, x, seed, first_sample); break;
    case SamplerKind::ode_dopri5: run_dopri5(space, batch, x, st, report); break;
  }
  current_cond_ = const_cond_view();
  if (config_.kind != SamplerKind::ode_dopri5) {
    report.steps = config_.kind == SamplerKind::edm_heun ? config_.steps : static_cast<std::int64_t>(grid_.size()) - 1;
    report.mean_nfe_per_sample = static_cast<double>(nfe_);
    report.max_nfe_per_sample = nfe_;
  }
  report.nfe = nfe_;
  Impl::check_finite(space, x, st, batch);
  std::int64_t failed = 0;
  // Reducing into a host scalar waits for the whole integration: the report needs it.
  Kokkos::parallel_reduce(
      "psgm::sde::count_failed", Kokkos::RangePolicy<execution_space>(space, 0, batch),
      KOKKOS_LAMBDA(int b, std::int64_t& n) { n += st(b) == SolveStatus::ok ? 0 : 1; }, failed);
  report.num_failed = failed;
  return report;
}

// ------------------------------------------------------------------ reverse SDE (docs/sampling.md §2)
template <class Model>
void Sampler<Model>::run_euler_maruyama(execution_space const& space, int batch, field_view x, std::uint64_t seed,
                                        std::int64_t first) {
  field_view s = work(s_, batch), z = work(z_, batch);
  std::int64_t const n = static_cast<std::int64_t>(x.size());
  int const steps = static_cast<int>(grid_.size()) - 1;
  for (int k = 0; k < steps; ++k) {
    double const t0 = grid_[k], h = grid_[k] - grid_[k + 1];
    evaluate(space, x, t0, s);
    Impl::draw_noise(space, z, batch, seed, first, k + 1, 1.0);
    double const f = process_.drift(t0), g2 = process_.diffusion2(t0);
    // (2.1) x <- x + h (-f x + g^2 s) + g sqrt(h) z
    auto const next = k + 1 < steps ? next_time(batch, grid_[k + 1]) : Impl::NextTime<scalar_type>{};
    Impl::combine(space, "psgm::sde::euler_maruyama_step", n, next, x.data(), 1.0 - h * f, x.data(), h * g2, s.data(),
                  std::sqrt(g2 * h), z.data());
  }
}

template <class Model>
void Sampler<Model>::run_stochastic_heun(execution_space const& space, int batch, field_view x, std::uint64_t seed,
                                         std::int64_t first) {
  field_view s = work(s_, batch), z = work(z_, batch), xp = work(a_, batch), sp = work(b_, batch);
  std::int64_t const n = static_cast<std::int64_t>(x.size());
  int const steps = static_cast<int>(grid_.size()) - 1;
  for (int k = 0; k < steps; ++k) {
    double const t0 = grid_[k], t1 = grid_[k + 1], h = t0 - t1;
    double const f0 = process_.drift(t0), g20 = process_.diffusion2(t0);
    double const f1 = process_.drift(t1), g21 = process_.diffusion2(t1);
    double const sqh = std::sqrt(h);
    evaluate(space, x, t0, s);
    Impl::draw_noise(space, z, batch, seed, first, k + 1, 1.0);
    // (2.2) predictor: an Euler-Maruyama step with the step's noise z
    Impl::combine(space, "psgm::sde::stochastic_heun_predictor", n, next_time(batch, t1), xp.data(), 1.0 - h * f0, x.data(), h * g20,
                  s.data(), std::sqrt(g20) * sqh, z.data());
    evaluate(space, xp, t1, sp);
    // (2.3) corrector: trapezoidal drift, trapezoidal diffusion, the same z
    Impl::combine(space, "psgm::sde::stochastic_heun_corrector", n, {}, x.data(), 1.0 - 0.5 * h * f0, x.data(),
                  0.5 * h * g20, s.data(), -0.5 * h * f1, xp.data(), 0.5 * h * g21, sp.data(),
                  0.5 * (std::sqrt(g20) + std::sqrt(g21)) * sqh, z.data());
  }
}

template <class Model>
void Sampler<Model>::run_predictor_corrector(execution_space const& space, int batch, field_view x,
                                             std::uint64_t seed, std::int64_t first) {
  field_view s = work(s_, batch), z = work(z_, batch);
  std::int64_t const n = static_cast<std::int64_t>(x.size());
  int const steps = static_cast<int>(grid_.size()) - 1;
  int const nc = config_.corrector_steps;
  for (int k = 0; k < steps; ++k) {
    double const t0 = grid_[k], t1 = grid_[k + 1];
    // The exact forward transition t1 -> t0 is x_t0 = a x_t1 + q z (docs/sampling.md §2.4).
    double const a = process_.mean(t0) / process_.mean(t1);
    double const q2 = process_.variance(t0) - a * a * process_.variance(t1);
    std::int64_t const draw0 = 1 + std::int64_t(k) * (nc + 1);
    for (int j = 0; j < nc; ++j) {
      evaluate(space, x, t0, s);
      Impl::draw_noise(space, z, batch, seed, first, draw0 + j, 1.0);
      // (2.5) Langevin corrector at t0, step size from the signal-to-noise ratio
      Impl::langevin_step(space, x, s, z, batch, config_.snr, a * a, norms_);
    }
    evaluate(space, x, t0, s);
    Impl::draw_noise(space, z, batch, seed, first, draw0 + nc, 1.0);
    // (2.4) reverse-diffusion predictor: x <- (2 - a) x + q^2 s + q z
    auto const next = k + 1 < steps ? next_time(batch, t1) : Impl::NextTime<scalar_type>{};
    Impl::combine(space, "psgm::sde::reverse_diffusion_predictor", n, next, x.data(), 2.0 - a, x.data(), q2, s.data(),
                  std::sqrt(q2), z.data());
  }
}

// ------------------------------------------------------------------ probability-flow ODE (docs/sampling.md §3)
template <class Model>
void Sampler<Model>::run_ode_heun(execution_space const& space, int batch, field_view x) {
  field_view s = work(s_, batch), k1 = work(a_, batch), xp = work(b_, batch);
  std::int64_t const n = static_cast<std::int64_t>(x.size());
  int const steps = static_cast<int>(grid_.size()) - 1;
  for (int k = 0; k < steps; ++k) {
    double const t0 = grid_[k], t1 = grid_[k + 1], h = t1 - t0;  // h < 0
    double const f0 = process_.drift(t0), g20 = process_.diffusion2(t0);
    double const f1 = process_.drift(t1), g21 = process_.diffusion2(t1);
    evaluate(space, x, t0, s);
    // (3.1) k1 = f x - 1/2 g^2 s;  x~ = x + h k1
    Impl::combine(space, "psgm::sde::ode_heun_velocity", n, {}, k1.data(), f0, x.data(), -0.5 * g20, s.data());
    Impl::combine(space, "psgm::sde::ode_heun_predictor", n, next_time(batch, t1), xp.data(), 1.0, x.data(), h, k1.data());
    evaluate(space, xp, t1, s);
    // (3.2) x <- x + h/2 (k1 + f1 x~ - 1/2 g1^2 s~)
    Impl::combine(space, "psgm::sde::ode_heun_corrector", n, {}, x.data(), 1.0, x.data(), 0.5 * h, k1.data(),
                  0.5 * h * f1, xp.data(), -0.25 * h * g21, s.data());
  }
}

template <class Model>
void Sampler<Model>::run_dpm_solver_2m(execution_space const& space, int batch, field_view x) {
  field_view s = work(s_, batch), previous = work(a_, batch), current = work(b_, batch);
  std::int64_t const n = static_cast<std::int64_t>(x.size());
  int const steps = static_cast<int>(grid_.size()) - 1;
  double h_previous = 0;
  for (int k = 0; k < steps; ++k) {
    double const t0 = grid_[k], t1 = grid_[k + 1];
    double const m0 = process_.mean(t0), v0 = process_.variance(t0);
    evaluate(space, x, t0, s);
    // (3.5) data prediction (Tweedie): x0 = (x + v s) / m
    Impl::combine(space, "psgm::sde::dpm_denoise", n, {}, current.data(), 1.0 / m0, x.data(), v0 / m0, s.data());
    double const h = process_.lambda(t1) - process_.lambda(t0);
    double const ratio = process_.stddev(t1) / process_.stddev(t0);
    double const c = process_.mean(t1) * -std::expm1(-h);  // -alpha_1 (e^-h - 1)
    auto const next = k + 1 < steps ? next_time(batch, t1) : Impl::NextTime<scalar_type>{};
    if (k == 0) {
      // (3.6) first step: DPM-Solver++(1) (= DDIM)
      Impl::combine(space, "psgm::sde::dpm_solver_first_step", n, next, x.data(), ratio, x.data(), c, current.data());
    } else {
      // (3.7) multistep: D = (1 + 1/(2r)) x0_k - 1/(2r) x0_{k-1}, r = h_{k-1} / h_k
      double const r = h_previous / h;
      Impl::combine(space, "psgm::sde::dpm_solver_2m_step", n, next, x.data(), ratio, x.data(), c * (1.0 + 0.5 / r),
                    current.data(), -c * 0.5 / r, previous.data());
    }
    std::swap(previous, current);
    h_previous = h;
  }
}

template <class Model>
void Sampler<Model>::run_edm_heun(execution_space const& space, int batch, field_view x, std::uint64_t seed,
                                  std::int64_t first) {
  field_view s = work(s_, batch), input = work(a_, batch), euler = work(b_, batch), s2 = work(c_, batch);
  std::int64_t const n = static_cast<std::int64_t>(x.size());
  int const levels = config_.steps;  // N levels sigma_0 > ... > sigma_{N-1}, then sigma_N = 0
  std::vector<double> sigma(levels + 1, 0.0);
  for (int i = 0; i < levels; ++i) sigma[i] = process_.sigma(grid_[i]);
  double const sigma_top = process_.sigma(process_.t_hi());
  // (4.1) the state is x^ = x / m(t): Karras et al.'s x for a scaled process
  Impl::combine(space, "psgm::sde::edm_unscale", n, {}, x.data(), 1.0 / process_.mean(grid_[0]), x.data());
  for (int i = 0; i < levels; ++i) {
    double const si = sigma[i], sn = sigma[i + 1];
    bool const churn = config_.s_churn > 0 && si >= config_.s_tmin && si <= config_.s_tmax;
    double const gamma = churn ? std::min(config_.s_churn / levels, std::sqrt(2.0) - 1.0) : 0.0;
    // Never raise the noise above the model's largest level.
    double const hat = std::min(si * (1.0 + gamma), std::max(sigma_top, si));
    double t_hat = grid_[i];
    if (hat > si) {
      // (4.2) churn: x^ += sqrt(hat^2 - sigma_i^2) S_noise z
      Impl::draw_noise(space, s, batch, seed, first, i + 1, config_.s_noise);
      Impl::combine(space, "psgm::sde::edm_churn", n, {}, x.data(), 1.0, x.data(), std::sqrt(hat * hat - si * si),
                    s.data());
      t_hat = process_.time_of_sigma(hat);
    }
    double const m_hat = process_.mean(t_hat);
    // (4.3) D(x^; sigma) = x^ + sigma^2 m score(m x^, t), so d = (x^ - D) / sigma = -sigma m score
    Impl::combine(space, "psgm::sde::edm_model_input", n, next_time(batch, t_hat), input.data(), m_hat, x.data());
    evaluate(space, input, t_hat, s);
    double const dsig = sn - hat;
    double const c1 = dsig * (-hat * m_hat);
    if (sn == 0.0) {
      // (4.4) last step: Euler to sigma = 0
      Impl::combine(space, "psgm::sde::edm_euler_step", n, {}, x.data(), 1.0, x.data(), c1, s.data());
      break;
    }
    Impl::combine(space, "psgm::sde::edm_euler_step", n, {}, euler.data(), 1.0, x.data(), c1, s.data());
    double const t_next = grid_[i + 1], m_next = process_.mean(t_next);
    Impl::combine(space, "psgm::sde::edm_model_input", n, next_time(batch, t_next), input.data(), m_next,
                  euler.data());
    evaluate(space, input, t_next, s2);
    // (4.5) Heun correction: x^ <- x^ + dsig (d + d') / 2
    Impl::combine(space, "psgm::sde::edm_heun_step", n, {}, x.data(), 1.0, x.data(), 0.5 * c1, s.data(),
                  0.5 * dsig * (-sn * m_next), s2.data());
  }
}

// ------------------------------------------------------------------ adaptive Dormand-Prince 5(4) (docs/sampling.md §3.3)
template <class Model>
void Sampler<Model>::run_dopri5(execution_space const& space, int batch, field_view x, status_view status,
                                SampleReport& report) {
  std::vector<field_view> k;
  for (auto const& w : k_) k.push_back(work(w, batch));
  field_view x5 = work(a_, batch), xs = work(b_, batch);
  time_view tm(t_.data(), batch);
  auto const st = adaptive_;
  double const ts = config_.start_time(process_), te = config_.end_time(process_);
  Impl::DopriControl const ctl{te,          ts - te,         config_.rtol,      config_.atol,
                               config_.safety, config_.min_factor, config_.max_factor};
  double const h_fixed = config_.initial_step * (ts - te);
  Impl::dopri_init(space, batch, st, ts, -h_fixed);
  evaluate(space, x, ts, k[0]);
  Impl::flow_velocity_per_sample(space, process_, batch, x, k[0], st.t);
  std::int64_t extra = 1;
  if (h_fixed == 0.0) {
    // Hairer's starting step: one more evaluation, at an explicit Euler point.
    Impl::dopri_initial_step_probe(space, batch, ctl, x, k[0], xs, st, tm);
    evaluate_per_sample(space, xs, k[1]);
    Impl::flow_velocity_per_sample(space, process_, batch, xs, k[1], st.t_stage);
    Impl::dopri_initial_step_finish(space, batch, ctl, x, k[0], k[1], st);
    extra = 2;
  }
  std::int64_t iterations = 0;
  for (;;) {
    // The host decides whether to sweep again: this reduction waits for the previous sweep.
    int const active = Impl::dopri_active(space, batch, st);
    if (active == 0 || iterations == config_.max_iterations) break;
    for (int stage = 1; stage < 7; ++stage) {
      field_view const& point = stage == 6 ? x5 : xs;
      Impl::dopri_stage(space, stage, batch, x, k.data(), point, st, tm);
      evaluate_per_sample(space, point, k[stage]);
      Impl::flow_velocity_per_sample(space, process_, batch, point, k[stage], st.t_stage);
    }
    Impl::dopri_control(space, batch, ctl, x, x5, k.data(), st, status);
    ++iterations;
  }
  Impl::dopri_mark_unfinished(space, batch, st, status);
  // Per-sample counters, once per call: the report needs them on the host
  // (on host spaces the "mirror" is the view itself, hence the fence).
  space.fence();
  auto const h_accepted = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, st.accepted);
  auto const h_rejected = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, st.rejected);
  auto const h_evaluations = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, st.evaluations);
  std::int64_t accepted = 0, rejected = 0, total_evaluations = 0, max_steps = 0, max_evaluations = 0;
  for (int b = 0; b < batch; ++b) {
    accepted += h_accepted(b);
    rejected += h_rejected(b);
    total_evaluations += h_evaluations(b);
    max_steps = std::max(max_steps, h_accepted(b) + h_rejected(b));
    max_evaluations = std::max(max_evaluations, h_evaluations(b));
  }
  std::int64_t const probe = extra - 1;
  report.steps = max_steps;
  report.accepted_steps = accepted;
  report.rejected_steps = rejected;
  report.mean_nfe_per_sample = static_cast<double>(total_evaluations) / batch + probe;
  report.max_nfe_per_sample = max_evaluations + probe;
}

}  // namespace sde
}  // namespace psgm

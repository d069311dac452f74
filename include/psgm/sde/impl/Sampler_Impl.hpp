// Definitions of psgm::sde::Sampler: what every method shares (conditions in,
// prior, statuses, fields out); each method's updates are in its file in
// sde/samplers/. Sampler<Model> (the run-time choice, AnySampler) is
// instantiated for the analytic models in src/sde/sampler_eti.cpp and for the
// native score models in src/sde/sampler_native_eti.cpp; other models and
// methods include this file where they are used.
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
template <class Model, class Method>
Sampler<Model, Method>::Sampler(execution_space const& space, Model& model, config_type const& config, int max_batch)
    : model_(&model), config_(config), max_batch_(max_batch) {
  ScopedRegion region("psgm::sde::Sampler::Sampler");
  DiffusionProcess const process(model.description().sde);
  Method::validate(config_, process);
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

  integration_.emplace(space, model, process, max_batch, channels_, num_points_);
  integration_->set_grid(Method::time_grid(config_, process));
  workspace_.emplace(*integration_, space, config_);
  x_ = integration_->allocate_field(space, "psgm::sde::sampler::state");
  cond_ = cond_view(Kokkos::view_alloc(space, "psgm::sde::sampler::conditions"), max_batch, cond_dim_);
  host_cond_ = Kokkos::create_mirror_view(cond_);
  status_ = status_view(Kokkos::view_alloc(space, "psgm::sde::sampler::status"), max_batch);
}

template <class Model, class Method>
void Sampler<Model, Method>::normalise_conditions(execution_space const& space, host_condition_view conditions,
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

template <class Model, class Method>
void Sampler<Model, Method>::to_physical(execution_space const& space, const_field_view x, field_view out) const {
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

template <class Model, class Method>
void Sampler<Model, Method>::draw_prior(execution_space const& space, field_view x, std::uint64_t seed,
                                        std::int64_t first_sample) const {
  ScopedRegion region("psgm::sde::Sampler::draw_prior");
  require(int(x.extent(0)) <= max_batch_ && int(x.extent(1)) == channels_ && int(x.extent(2)) == num_points_,
          "sampler: draw_prior needs x of shape (B <= ", max_batch_, ", ", channels_, ", ", num_points_, "), got (",
          x.extent(0), ", ", x.extent(1), ", ", x.extent(2), ")");
  require(first_sample >= 0, "sampler: first_sample = ", first_sample, " must be >= 0");
  Impl::draw_noise(space, x, static_cast<int>(x.extent(0)), seed, first_sample, 0, integration_->process().prior_stddev());
}

template <class Model, class Method>
SampleReport Sampler<Model, Method>::sample(execution_space const& space, host_condition_view conditions,
                                            std::uint64_t seed, std::int64_t first_sample, field_view out,
                                            status_view status) {
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
  field_view x = integration_->work(x_, batch);
  draw_prior(space, x, seed, first_sample);
  SampleReport report = integrate(space, x, cond, seed, first_sample, status);
  if (whitening())
    decode(space, x, conditions, seed, first_sample, out);
  else
    to_physical(space, x, out);
  // A sample finite in normalised space can still overflow on its way to
  // physical units (a huge field scale, an exponential whitening): the
  // physical fields are what the caller stores, so they decide its status.
  status_view st = status.data() ? status : status_view(status_.data(), batch);
  Impl::check_finite(space, out, st, batch);
  report.num_failed = Impl::count_failed(space, st, batch);
  return report;
}

template <class Model, class Method>
void Sampler<Model, Method>::decode(execution_space const& space, const_field_view x,
                                    host_condition_view conditions, std::uint64_t seed, std::int64_t first_sample,
                                    field_view out) const {
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

template <class Model, class Method>
SampleReport Sampler<Model, Method>::integrate(execution_space const& space, field_view x, const_cond_view cond,
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
  auto& in = *integration_;
  in.begin(cond, st);
  Method::run(space, in, *workspace_, config_, SamplerCall{batch, seed, first_sample}, x, report);
  in.end();
  report.nfe = in.nfe();
  Impl::check_finite(space, x, st, batch);
  report.num_failed = Impl::count_failed(space, st, batch);
  return report;
}

}  // namespace sde
}  // namespace psgm

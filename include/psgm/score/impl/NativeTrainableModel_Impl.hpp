// Definitions of TrainableModel<Native<ExecSpace>, Scalar>
// (NativeTrainableModel.hpp). Instantiated in src/score/native_models_eti.cpp.
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/score/NativeTrainableModel.hpp>
#include <psgm/score/impl/NativeNetwork_Impl.hpp>

#include <cmath>
#include <string>

namespace psgm {
namespace score {
namespace Impl {

/// torch.optim.Adam (PyTorch 1.13, single tensor, no weight decay), operation
/// by operation in Scalar:
///   g ← s ∇;  m ← β₁ m + (1 − β₁) g;  v ← β₂ v + (1 − β₂) g²;
///   θ ← θ − step_size · m / (√v / √(1 − β₂^step) + ε),  step_size = lr / (1 − β₁^step).
template <class T>
struct AdamFunctor {
  T* theta;
  T* m;
  T* v;
  T const* grad;
  T scale, beta1, one_minus_beta1, beta2, one_minus_beta2, bias2_sqrt, eps, minus_step_size;
  bool scaled;
  KOKKOS_INLINE_FUNCTION void operator()(native_index i) const {
    T const g = scaled ? grad[i] * scale : grad[i];
    T const mi = m[i] * beta1 + one_minus_beta1 * g;
    T const vi = v[i] * beta2 + one_minus_beta2 * g * g;
    m[i] = mi;
    v[i] = vi;
    T const denom = math::sqrt(vi) / bias2_sqrt + eps;
    theta[i] = theta[i] + minus_step_size * (mi / denom);
  }
};

/// ema ← decay·ema + (1 − decay)·θ (as ema.mul_(decay).add_(θ, 1 − decay)).
template <class T>
struct EmaFunctor {
  T* ema;
  T const* theta;
  T decay, one_minus_decay;
  KOKKOS_INLINE_FUNCTION void operator()(native_index i) const { ema[i] = ema[i] * decay + one_minus_decay * theta[i]; }
};

/// Σ g², accumulated in double.
template <class T>
struct SquaredNormFunctor {
  T const* g;
  KOKKOS_INLINE_FUNCTION void operator()(native_index i, double& sum) const { sum += double(g[i]) * double(g[i]); }
};

}  // namespace Impl

template <class ExecSpace, class Scalar>
TrainableModel<Native<ExecSpace>, Scalar>::TrainableModel(ExecSpace const& space,
                                                          model::FilmCnnConfig const& architecture,
                                                          NativeKernels kernels)
    : space_(space), net_(space, architecture, kernels) {
  ScopedRegion region("psgm::score::TrainableModel<Native>::TrainableModel");
  auto const P = net_.layout().num_parameters();
  adam_m_ = vector_view(Kokkos::view_alloc(space, "psgm::score::native::adam_m"), P);
  adam_v_ = vector_view(Kokkos::view_alloc(space, "psgm::score::native::adam_v"), P);
  net_.reserve_training(1);
}

template <class ExecSpace, class Scalar>
void TrainableModel<Native<ExecSpace>, Scalar>::reserve(int max_batch) {
  ScopedRegion region("psgm::score::TrainableModel<Native>::reserve");
  require(max_batch >= 1, "TrainableModel<Native>::reserve: max_batch = ", max_batch, " must be >= 1");
  if (max_batch <= capacity_) return;
  net_.reserve_training(max_batch);
  auto const& c = architecture();
  std::size_t const B = std::size_t(max_batch);
  bx_ = vector_view(Kokkos::view_alloc(space_, Kokkos::WithoutInitializing, "psgm::score::native::batch_x"),
                    B * c.channels * c.num_points);
  by_ = vector_view(Kokkos::view_alloc(space_, Kokkos::WithoutInitializing, "psgm::score::native::batch_y"),
                    B * c.channels * c.num_points);
  bcond_ = vector_view(Kokkos::view_alloc(space_, Kokkos::WithoutInitializing, "psgm::score::native::batch_cond"),
                       B * std::max(c.cond_dim, 1));
  ba_ = vector_view(Kokkos::view_alloc(space_, Kokkos::WithoutInitializing, "psgm::score::native::batch_a"), B);
  bt_ = Kokkos::View<double*, memory_space>(
      Kokkos::view_alloc(space_, Kokkos::WithoutInitializing, "psgm::score::native::batch_t"), B);
  // Host staging (the same Views on host spaces): no allocation per step.
  hx_ = Kokkos::create_mirror_view(bx_);
  hy_ = Kokkos::create_mirror_view(by_);
  hcond_ = Kokkos::create_mirror_view(bcond_);
  ha_ = Kokkos::create_mirror_view(ba_);
  ht_ = Kokkos::create_mirror_view(bt_);
  hloss_ = Kokkos::create_mirror_view(net_.sample_losses());
  capacity_ = max_batch;
}

template <class ExecSpace, class Scalar>
void TrainableModel<Native<ExecSpace>, Scalar>::set_parameters(model::ParameterSet const& theta) {
  ScopedRegion region("psgm::score::TrainableModel<Native>::set_parameters");
  net_.set_parameters(space_, theta);
  have_gradient_ = false;
}

template <class ExecSpace, class Scalar>
model::ParameterSet TrainableModel<Native<ExecSpace>, Scalar>::parameters() const {
  ScopedRegion region("psgm::score::TrainableModel<Native>::parameters");
  return net_.to_parameter_set(space_, net_.parameters());
}

template <class ExecSpace, class Scalar>
void TrainableModel<Native<ExecSpace>, Scalar>::set_optimizer_state(OptimizerState const& state) {
  ScopedRegion region("psgm::score::TrainableModel<Native>::set_optimizer_state");
  if (state.adam_m.shapes.empty())
    Kokkos::deep_copy(space_, adam_m_, Scalar(0));
  else
    net_.set_vector(space_, adam_m_, state.adam_m);
  if (state.adam_v.shapes.empty())
    Kokkos::deep_copy(space_, adam_v_, Scalar(0));
  else
    net_.set_vector(space_, adam_v_, state.adam_v);
  ema_on_ = !state.ema.shapes.empty();
  if (ema_on_) {
    if (ema_.extent(0) == 0)
      ema_ = vector_view(Kokkos::view_alloc(space_, Kokkos::WithoutInitializing, "psgm::score::native::ema"),
                         net_.layout().num_parameters());
    net_.set_vector(space_, ema_, state.ema);
  }
}

template <class ExecSpace, class Scalar>
OptimizerState TrainableModel<Native<ExecSpace>, Scalar>::optimizer_state() const {
  ScopedRegion region("psgm::score::TrainableModel<Native>::optimizer_state");
  OptimizerState s{net_.to_parameter_set(space_, adam_m_), net_.to_parameter_set(space_, adam_v_),
                   model::ParameterSet{}};
  if (ema_on_) s.ema = net_.to_parameter_set(space_, ema_);
  return s;
}

template <class ExecSpace, class Scalar>
int TrainableModel<Native<ExecSpace>, Scalar>::stage(DsmBatch const& batch) const {
  auto const& c = architecture();
  int const B = batch.size();
  require(B >= 1, "TrainableModel<Native>: empty batch");
  require(B <= capacity_, "TrainableModel<Native>: a batch of ", B, " samples needs reserve(", B,
          ") first (reserved: ", capacity_, ")");
  require(batch.x.extent(1) == std::size_t(c.channels) && batch.x.extent(2) == std::size_t(c.num_points) &&
              batch.y.extent(0) == std::size_t(B) && batch.y.extent(1) == batch.x.extent(1) &&
              batch.y.extent(2) == batch.x.extent(2) && batch.t.extent(0) == std::size_t(B) &&
              batch.a.extent(0) == std::size_t(B) && batch.cond.extent(0) == std::size_t(B) &&
              batch.cond.extent(1) == std::size_t(c.cond_dim),
          "TrainableModel<Native>: batch shapes x (", batch.x.extent(0), ", ", batch.x.extent(1), ", ",
          batch.x.extent(2), "), cond (", batch.cond.extent(0), ", ", batch.cond.extent(1),
          ") do not match the architecture (channels ", c.channels, ", num_points ", c.num_points, ", cond_dim ",
          c.cond_dim, ")");
  // Round the host doubles to Scalar and copy them to ExecSpace's memory.
  // The times too (Trainer.hpp: the network sees the same Scalar t in
  // training as in sampling); they are kept as doubles holding Scalar values
  // because the time embedding evaluates sin/cos in double.
  std::size_t const fields = std::size_t(B) * c.channels * c.num_points;
  // The previous step's copies out of the staging views must be done before
  // they are overwritten (a no-op on host spaces, where they are the same).
  if constexpr (!std::is_same_v<memory_space, Kokkos::HostSpace>) space_.fence();
  auto copy = [&](auto const& device, auto const& host, auto const* src, std::size_t n) {
    using value_type = typename std::decay_t<decltype(device)>::non_const_value_type;
    auto const range = std::make_pair(std::size_t(0), n);
    auto dst = Kokkos::subview(device, range);
    auto stage = Kokkos::subview(host, range);
    for (std::size_t i = 0; i < n; ++i) stage(i) = static_cast<value_type>(src[i]);
    Kokkos::deep_copy(space_, dst, stage);
  };
  require(batch.x.span_is_contiguous() && batch.y.span_is_contiguous() && batch.cond.span_is_contiguous(),
          "TrainableModel<Native>: the batch views must be contiguous");
  copy(bx_, hx_, batch.x.data(), fields);
  copy(by_, hy_, batch.y.data(), fields);
  copy(bcond_, hcond_, batch.cond.data(), std::size_t(B) * c.cond_dim);
  copy(ba_, ha_, batch.a.data(), std::size_t(B));
  for (int b = 0; b < B; ++b) ht_(b) = static_cast<double>(static_cast<Scalar>(batch.t(b)));
  Kokkos::deep_copy(space_, Kokkos::subview(bt_, std::make_pair(0, B)), Kokkos::subview(ht_, std::make_pair(0, B)));
  return B;
}

template <class ExecSpace, class Scalar>
double TrainableModel<Native<ExecSpace>, Scalar>::dsm(int B, bool gradient) const {
  net_.dsm(space_, B, bx_.data(), bt_.data(), bcond_.data(), ba_.data(), by_.data(), gradient);
  // Into the staging View reserved with the batch (on host spaces the same
  // View: no copy); a mirror made here would allocate in every step on GPUs.
  auto const range = std::make_pair(0, B);
  auto host = Kokkos::subview(hloss_, range);
  Kokkos::deep_copy(space_, host, Kokkos::subview(net_.sample_losses(), range));
  space_.fence();  // the host sums the losses
  double sum = 0;
  for (int b = 0; b < B; ++b) sum += host(b);  // fixed order: independent of the thread count
  return sum;
}

template <class ExecSpace, class Scalar>
double TrainableModel<Native<ExecSpace>, Scalar>::loss_and_gradient(DsmBatch const& batch) {
  ScopedRegion region("psgm::score::TrainableModel<Native>::loss_and_gradient");
  int const B = stage(batch);
  double const l = dsm(B, true);
  have_gradient_ = true;
  gradient_norm_ = -1;
  return l;
}

template <class ExecSpace, class Scalar>
double TrainableModel<Native<ExecSpace>, Scalar>::loss(DsmBatch const& batch, Weights which) const {
  ScopedRegion region("psgm::score::TrainableModel<Native>::loss");
  require(which == Weights::raw || ema_on_, "TrainableModel<Native>::loss: EMA weights requested but EMA is off");
  int const B = stage(batch);
  if (which == Weights::ema) net_.pack(space_, ema_);
  double const l = dsm(B, false);
  if (which == Weights::ema) net_.pack(space_);
  return l;
}

template <class ExecSpace, class Scalar>
double TrainableModel<Native<ExecSpace>, Scalar>::gradient_norm() const {
  require(have_gradient_, "TrainableModel<Native>::gradient_norm: no gradient yet (call loss_and_gradient)");
  if (gradient_norm_ < 0) {
    ScopedRegion region("psgm::score::TrainableModel<Native>::gradient_norm");
    double sum = 0;
    Kokkos::parallel_reduce("psgm::score::native::gradient_norm",
                            Kokkos::RangePolicy<ExecSpace>(space_, 0, net_.layout().num_parameters()),
                            Impl::SquaredNormFunctor<Scalar>{net_.gradient().data()}, sum);
    gradient_norm_ = std::sqrt(sum);
  }
  return gradient_norm_;
}

template <class ExecSpace, class Scalar>
std::vector<double> TrainableModel<Native<ExecSpace>, Scalar>::flat_gradient() const {
  ScopedRegion region("psgm::score::TrainableModel<Native>::flat_gradient");
  require(have_gradient_, "TrainableModel<Native>::flat_gradient: no gradient yet (call loss_and_gradient)");
  std::size_t const P = net_.layout().num_parameters();
  auto const g = Kokkos::subview(net_.gradient(), std::make_pair(std::size_t(0), P));
  auto const h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, g);
  std::vector<double> out(P);
  for (std::size_t i = 0; i < P; ++i) out[i] = static_cast<double>(h(i));
  return out;
}

template <class ExecSpace, class Scalar>
void TrainableModel<Native<ExecSpace>, Scalar>::set_flat_gradient(std::vector<double> const& gradient) {
  ScopedRegion region("psgm::score::TrainableModel<Native>::set_flat_gradient");
  std::size_t const P = net_.layout().num_parameters();
  require(gradient.size() == P, "TrainableModel<Native>::set_flat_gradient: ", gradient.size(), " values for ", P,
          " parameters");
  auto const g = Kokkos::subview(net_.gradient(), std::make_pair(std::size_t(0), P));
  Kokkos::View<Scalar*, Kokkos::HostSpace> h(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "psgm::score::native::flat_gradient_host"), P);
  for (std::size_t i = 0; i < P; ++i) h(i) = static_cast<Scalar>(gradient[i]);
  Kokkos::deep_copy(space_, g, h);
  space_.fence();  // h is released when this returns
  have_gradient_ = true;
  gradient_norm_ = -1;
}

template <class ExecSpace, class Scalar>
void TrainableModel<Native<ExecSpace>, Scalar>::adam_step(AdamSettings const& adam, double learning_rate,
                                                          double gradient_scale, std::int64_t step) {
  ScopedRegion region("psgm::score::TrainableModel<Native>::adam_step");
  require(have_gradient_, "TrainableModel<Native>::adam_step: no gradient (call loss_and_gradient first)");
  require(step >= 1, "TrainableModel<Native>::adam_step: step = ", step, " must be >= 1 (1-based)");
  require(gradient_scale > 0 && gradient_scale <= 1, "TrainableModel<Native>::adam_step: gradient_scale = ",
          gradient_scale, " must be in (0, 1]");
  double const bias1 = 1.0 - std::pow(adam.beta1, double(step));
  double const bias2_sqrt = std::sqrt(1.0 - std::pow(adam.beta2, double(step)));
  Impl::AdamFunctor<Scalar> f{net_.parameters().data(),
                              adam_m_.data(),
                              adam_v_.data(),
                              net_.gradient().data(),
                              Scalar(gradient_scale),
                              Scalar(adam.beta1),
                              Scalar(1.0 - adam.beta1),
                              Scalar(adam.beta2),
                              Scalar(1.0 - adam.beta2),
                              Scalar(bias2_sqrt),
                              Scalar(adam.eps),
                              Scalar(-learning_rate / bias1),
                              gradient_scale < 1};
  Kokkos::parallel_for("psgm::score::native::adam",
                       Kokkos::RangePolicy<ExecSpace>(space_, 0, net_.layout().num_parameters()), f);
  net_.pack(space_);
  have_gradient_ = false;
  gradient_norm_ = -1;
}

template <class ExecSpace, class Scalar>
void TrainableModel<Native<ExecSpace>, Scalar>::update_ema(double decay) {
  ScopedRegion region("psgm::score::TrainableModel<Native>::update_ema");
  require(ema_on_, "TrainableModel<Native>::update_ema: EMA is off (set_optimizer_state with an empty ema)");
  require(decay >= 0 && decay < 1, "TrainableModel<Native>::update_ema: decay = ", decay, " must be in [0, 1)");
  Kokkos::parallel_for("psgm::score::native::ema",
                       Kokkos::RangePolicy<ExecSpace>(space_, 0, net_.layout().num_parameters()),
                       Impl::EmaFunctor<Scalar>{ema_.data(), net_.parameters().data(), Scalar(decay),
                                                Scalar(1.0 - decay)});
}

}  // namespace score
}  // namespace psgm

// TrainableModel<LibTorch, Scalar>: the TrainableModel concept
// (psgm/score/Trainer.hpp) on LibTorch tensors and autograd. The Adam step,
// the gradient norm and the clipping follow torch.optim.Adam and
// torch.nn.utils.clip_grad_norm_ of PyTorch 1.13 operation by operation, so
// psgm trains as the Python definition would.
#include "TorchNetwork.hpp"

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/torch/TorchTrainableModel.hpp>

#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>

namespace psgm {
namespace score {
namespace Impl {

struct TorchTrainableState {
  TorchNetwork network;
  std::vector<at::Tensor> theta, grads, adam_m, adam_v, ema;
  bool ema_on = false;
  mutable double gradient_norm = -1;  // cached ‖∇‖₂ of `grads`; < 0: not computed

  TorchTrainableState(model::FilmCnnConfig const& config, at::ScalarType dtype) : network(config, dtype) {
    theta = zero_parameters(config, dtype);
    for (auto& p : theta) p.set_requires_grad(true);
    adam_m = zero_parameters(config, dtype);
    adam_v = zero_parameters(config, dtype);
  }

  /// The batch as tensors in the network's dtype (a copy when rounding to float).
  struct Inputs {
    at::Tensor x, t, cond, a, y;
  };
  Inputs inputs(DsmBatch const& b) const {
    auto const& c = network.config();
    std::int64_t const B = b.size();
    require(b.x.extent(1) == std::size_t(c.channels) && b.x.extent(2) == std::size_t(c.num_points),
            "TrainableModel<LibTorch>: batch fields are (", B, ", ", b.x.extent(1), ", ", b.x.extent(2),
            "), the model needs (B, ", c.channels, ", ", c.num_points, ")");
    require(b.y.extent(0) == b.x.extent(0) && b.t.extent(0) == b.x.extent(0) && b.a.extent(0) == b.x.extent(0) &&
                b.cond.extent(0) == b.x.extent(0) && b.cond.extent(1) == std::size_t(c.cond_dim),
            "TrainableModel<LibTorch>: inconsistent batch extents");
    auto const dt = network.dtype();
    return {wrap(b.x.data(), {B, c.channels, c.num_points}, at::kDouble).to(dt),
            wrap(b.t.data(), {B}, at::kDouble).to(dt),  // the Scalar t that sampling passes too
            wrap(b.cond.data(), {B, c.cond_dim}, at::kDouble).to(dt),
            wrap(b.a.data(), {B, 1, 1}, at::kDouble).to(dt),
            wrap(b.y.data(), {B, c.channels, c.num_points}, at::kDouble).to(dt)};
  }

  at::Tensor loss(std::vector<at::Tensor> const& weights, Inputs const& in) const {
    at::Tensor const f = network.forward(weights, in.x, in.t, in.cond);
    return at::mean(at::pow(in.a * f - in.y, 2));
  }
};

}  // namespace Impl

template <class Scalar>
TrainableModel<LibTorch, Scalar>::TrainableModel(model::FilmCnnConfig const& architecture) {
  ScopedRegion region("psgm::score::TrainableModel<LibTorch>::TrainableModel");
  Impl::ensure_torch_threads();
  state_ = std::make_unique<Impl::TorchTrainableState>(architecture, Impl::torch_dtype<Scalar>());
}

template <class Scalar>
TrainableModel<LibTorch, Scalar>::~TrainableModel() = default;
template <class Scalar>
TrainableModel<LibTorch, Scalar>::TrainableModel(TrainableModel&&) noexcept = default;
template <class Scalar>
TrainableModel<LibTorch, Scalar>& TrainableModel<LibTorch, Scalar>::operator=(TrainableModel&&) noexcept = default;

template <class Scalar>
model::FilmCnnConfig const& TrainableModel<LibTorch, Scalar>::architecture() const {
  return state_->network.config();
}

template <class Scalar>
void TrainableModel<LibTorch, Scalar>::reserve(int max_batch) {
  require(max_batch >= 0, "TrainableModel<LibTorch>::reserve: max_batch = ", max_batch, " must be >= 0");
}

template <class Scalar>
void TrainableModel<LibTorch, Scalar>::set_parameters(model::ParameterSet const& theta) {
  Impl::assign_parameters(state_->theta, theta, architecture());
  state_->grads.clear();
  state_->gradient_norm = -1;
}

template <class Scalar>
model::ParameterSet TrainableModel<LibTorch, Scalar>::parameters() const {
  return Impl::to_parameter_set(state_->theta, architecture());
}

template <class Scalar>
void TrainableModel<LibTorch, Scalar>::set_optimizer_state(OptimizerState const& s) {
  auto& st = *state_;
  Impl::assign_parameters(st.adam_m, s.adam_m, architecture());
  Impl::assign_parameters(st.adam_v, s.adam_v, architecture());
  st.ema_on = !s.ema.shapes.empty();
  st.ema.clear();
  if (st.ema_on) {
    st.ema = Impl::zero_parameters(architecture(), Impl::torch_dtype<Scalar>());
    Impl::assign_parameters(st.ema, s.ema, architecture());
  }
}

template <class Scalar>
OptimizerState TrainableModel<LibTorch, Scalar>::optimizer_state() const {
  auto const& st = *state_;
  OptimizerState s{Impl::to_parameter_set(st.adam_m, architecture()),
                   Impl::to_parameter_set(st.adam_v, architecture()), model::ParameterSet{}};
  if (st.ema_on) s.ema = Impl::to_parameter_set(st.ema, architecture());
  return s;
}

template <class Scalar>
double TrainableModel<LibTorch, Scalar>::loss_and_gradient(DsmBatch const& batch) {
  ScopedRegion region("psgm::score::TrainableModel<LibTorch>::loss_and_gradient");
  Impl::ensure_torch_threads();
  auto& st = *state_;
  auto const in = st.inputs(batch);
  at::Tensor const loss = st.loss(st.theta, in);
  // autograd::grad returns fresh gradients: nothing accumulates across steps.
  st.grads = torch::autograd::grad({loss}, st.theta);
  st.gradient_norm = -1;
  return loss.item<double>();
}

template <class Scalar>
double TrainableModel<LibTorch, Scalar>::gradient_norm() const {
  auto const& st = *state_;
  require(!st.grads.empty(), "TrainableModel<LibTorch>::gradient_norm: no gradient yet (call loss_and_gradient)");
  if (st.gradient_norm < 0) {
    // As clip_grad_norm_: the 2-norm of the per-tensor 2-norms.
    c10::InferenceMode inference;
    std::vector<at::Tensor> norms;
    norms.reserve(st.grads.size());
    for (auto const& g : st.grads) norms.push_back(at::norm(g, 2));
    st.gradient_norm = at::norm(at::stack(norms), 2).item<double>();
  }
  return st.gradient_norm;
}

template <class Scalar>
void TrainableModel<LibTorch, Scalar>::adam_step(AdamSettings const& adam, double learning_rate,
                                                 double gradient_scale, std::int64_t step) {
  ScopedRegion region("psgm::score::TrainableModel<LibTorch>::adam_step");
  auto& st = *state_;
  require(!st.grads.empty(), "TrainableModel<LibTorch>::adam_step: no gradient (call loss_and_gradient first)");
  require(step >= 1, "TrainableModel<LibTorch>::adam_step: step = ", step, " must be >= 1 (1-based)");
  require(gradient_scale > 0 && gradient_scale <= 1, "TrainableModel<LibTorch>::adam_step: gradient_scale = ",
          gradient_scale, " must be in (0, 1]");
  at::NoGradGuard no_grad;
  double const bias1 = 1.0 - std::pow(adam.beta1, double(step));
  double const bias2_sqrt = std::sqrt(1.0 - std::pow(adam.beta2, double(step)));
  double const step_size = learning_rate / bias1;
  for (std::size_t i = 0; i < st.theta.size(); ++i) {
    at::Tensor g = st.grads[i];
    if (gradient_scale < 1) g = g * gradient_scale;
    st.adam_m[i].mul_(adam.beta1).add_(g, 1.0 - adam.beta1);
    st.adam_v[i].mul_(adam.beta2).addcmul_(g, g, 1.0 - adam.beta2);
    at::Tensor const denom = (st.adam_v[i].sqrt() / bias2_sqrt).add_(adam.eps);
    st.theta[i].addcdiv_(st.adam_m[i], denom, -step_size);
  }
  st.grads.clear();
  st.gradient_norm = -1;
}

template <class Scalar>
void TrainableModel<LibTorch, Scalar>::update_ema(double decay) {
  auto& st = *state_;
  require(st.ema_on, "TrainableModel<LibTorch>::update_ema: EMA is off (set_optimizer_state with an empty ema)");
  require(decay >= 0 && decay < 1, "TrainableModel<LibTorch>::update_ema: decay = ", decay, " must be in [0, 1)");
  at::NoGradGuard no_grad;
  for (std::size_t i = 0; i < st.theta.size(); ++i) st.ema[i].mul_(decay).add_(st.theta[i], 1.0 - decay);
}

template <class Scalar>
double TrainableModel<LibTorch, Scalar>::loss(DsmBatch const& batch, Weights which) const {
  ScopedRegion region("psgm::score::TrainableModel<LibTorch>::loss");
  Impl::ensure_torch_threads();
  auto const& st = *state_;
  require(which == Weights::raw || st.ema_on, "TrainableModel<LibTorch>::loss: EMA weights requested but EMA is off");
  c10::InferenceMode inference;
  return st.loss(which == Weights::ema ? st.ema : st.theta, st.inputs(batch)).item<double>();
}

template <class Scalar>
model::ParameterSet TrainableModel<LibTorch, Scalar>::gradient() const {
  require(!state_->grads.empty(), "TrainableModel<LibTorch>::gradient: no gradient (call loss_and_gradient first)");
  return Impl::to_parameter_set(state_->grads, architecture());
}

template <class Scalar>
std::vector<double> TrainableModel<LibTorch, Scalar>::flat_gradient() const {
  auto const& st = *state_;
  require(!st.grads.empty(), "TrainableModel<LibTorch>::flat_gradient: no gradient (call loss_and_gradient first)");
  std::vector<at::Tensor> parts;
  for (auto const& g : st.grads) parts.push_back(g.detach().reshape({-1}).to(at::kDouble));
  at::Tensor const flat = at::cat(parts).contiguous();
  double const* p = flat.data_ptr<double>();
  return std::vector<double>(p, p + flat.numel());
}

template <class Scalar>
void TrainableModel<LibTorch, Scalar>::set_flat_gradient(std::vector<double> const& gradient) {
  auto& st = *state_;
  std::int64_t total = 0;
  for (auto const& t : st.theta) total += t.numel();
  require(std::int64_t(gradient.size()) == total, "TrainableModel<LibTorch>::set_flat_gradient: ", gradient.size(),
          " values for ", total, " parameters");
  st.grads.resize(st.theta.size());
  std::int64_t offset = 0;
  for (std::size_t k = 0; k < st.theta.size(); ++k) {
    std::int64_t const n = st.theta[k].numel();
    st.grads[k] = at::from_blob(const_cast<double*>(gradient.data() + offset), st.theta[k].sizes(),
                                at::TensorOptions().dtype(at::kDouble))
                      .to(st.theta[k].scalar_type())
                      .clone();
    offset += n;
  }
  st.gradient_norm = -1;
}

template class TrainableModel<LibTorch, float>;
template class TrainableModel<LibTorch, double>;

}  // namespace score
}  // namespace psgm

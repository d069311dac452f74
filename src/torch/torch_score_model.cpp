// The LibTorch score backend: the FiLM-CNN as tensor operations
// (TorchNetwork) and ScoreModel<LibTorch, Scalar> on Kokkos host Views.
#include "TorchNetwork.hpp"

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/io/ModelFile.hpp>
#include <psgm/torch/TorchScoreModel.hpp>

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <string>

namespace psgm {
namespace score {
namespace Impl {

void ensure_torch_threads() {
  // Kokkos owns the OpenMP pool; LibTorch must use as many threads (it
  // otherwise pins OpenMP to one). Cheap when nothing changes.
  if (!Kokkos::is_initialized()) return;
  int const threads = Kokkos::DefaultHostExecutionSpace().concurrency();
  if (threads > 0 && at::get_num_threads() != threads) at::set_num_threads(threads);
}

at::Tensor wrap(void const* data, at::IntArrayRef sizes, at::ScalarType dtype) {
  // LibTorch does not write through inputs wrapped here; from_blob needs a
  // non-const pointer.
  return at::from_blob(const_cast<void*>(data), sizes, at::TensorOptions().dtype(dtype));
}

std::vector<at::Tensor> zero_parameters(model::FilmCnnConfig const& config, at::ScalarType dtype) {
  std::vector<at::Tensor> out;
  for (auto const& s : parameter_shapes(config)) out.push_back(at::zeros(s.shape, at::TensorOptions().dtype(dtype)));
  return out;
}

void assign_parameters(std::vector<at::Tensor>& dst, model::ParameterSet const& src,
                       model::FilmCnnConfig const& config) {
  src.check_matches(config);
  require(dst.size() == src.values.size(), "assign_parameters: ", dst.size(), " tensors for ", src.values.size(),
          " weights");
  at::NoGradGuard no_grad;
  for (std::size_t i = 0; i < dst.size(); ++i)
    dst[i].copy_(wrap(src.values[i].data(), src.shapes[i].shape, at::kDouble));
}

model::ParameterSet to_parameter_set(std::vector<at::Tensor> const& src, model::FilmCnnConfig const& config) {
  model::ParameterSet set = model::ParameterSet::zeros(config);
  require(src.size() == set.values.size(), "to_parameter_set: ", src.size(), " tensors for ", set.values.size(),
          " weights");
  set.dtype = src.empty() || src[0].scalar_type() == at::kFloat ? "float32" : "float64";
  for (std::size_t i = 0; i < src.size(); ++i) {
    at::Tensor const d = src[i].detach().to(at::kDouble).contiguous();
    std::copy(d.data_ptr<double>(), d.data_ptr<double>() + d.numel(), set.values[i].begin());
  }
  return set;
}

TorchNetwork::TorchNetwork(model::FilmCnnConfig const& config, at::ScalarType dtype) : config_(config), dtype_(dtype) {
  config_.validate();
  std::vector<double> omega(static_cast<std::size_t>(config_.num_frequencies));
  for (int k = 0; k < config_.num_frequencies; ++k) omega[k] = std::ldexp(2.0 * M_PI, k);  // 2π 2^k, exact scaling
  omega_ = wrap(omega.data(), {1, config_.num_frequencies}, at::kDouble).clone();
}

at::Tensor TorchNetwork::time_embedding(at::Tensor const& t) const {
  at::Tensor const arg = t.to(at::kDouble).reshape({-1, 1}) * omega_;
  return at::cat({at::sin(arg), at::cos(arg)}, 1).to(dtype_);
}

at::Tensor TorchNetwork::linear(at::Tensor const& x, at::Tensor const& weight, at::Tensor const& bias) const {
  if (dtype_ != at::kFloat) return at::linear(x, weight, bias);
  return at::conv1d(x.unsqueeze(-1), weight.unsqueeze(-1), bias).squeeze(-1);
}

at::Tensor TorchNetwork::forward(std::vector<at::Tensor> const& p, at::Tensor const& x, at::Tensor const& t,
                                 at::Tensor const& cond, at::Tensor out) const {
  auto const& c = config_;
  std::int64_t const W = c.width, C = c.channels, pad = (c.kernel_size - 1) / 2;
  auto replicate = [pad](at::Tensor const& h) { return pad > 0 ? at::replication_pad1d(h, {pad, pad}) : h; };
  // z = [cond, emb] feeds every FiLM generator and the output affine.
  at::Tensor const z = at::cat({cond, time_embedding(t)}, 1);
  at::Tensor h = at::conv1d(x, p[0], p[1]);  // lift, 1×1
  std::size_t i = 2;
  for (int b = 0; b < c.num_blocks; ++b) {
    at::Tensor const& w1 = p[i];
    at::Tensor const& b1 = p[i + 1];
    at::Tensor const& w2 = p[i + 2];
    at::Tensor const& b2 = p[i + 3];
    i += 4;
    at::Tensor f = z;
    for (int l = 0; l < c.film_layers; ++l, i += 2) {
      f = linear(f, p[i], p[i + 1]);
      if (l + 1 < c.film_layers) f = at::silu(f);
    }
    // One (γ, β) for both FiLM applications of the block (spec §4).
    at::Tensor const gain = 1.0 + f.narrow(1, 0, W).unsqueeze(-1);
    at::Tensor const beta = f.narrow(1, W, W).unsqueeze(-1);
    at::Tensor u = at::silu(at::conv1d(replicate(h), w1, b1) * gain + beta);
    u = at::silu(at::conv1d(replicate(u), w2, b2) * gain + beta);
    h = h + u;
  }
  at::Tensor const projected = at::conv1d(h, p[i], p[i + 1]);  // proj, 1×1
  at::Tensor const go = linear(z, p[i + 2], p[i + 3]);          // output affine
  at::Tensor const scaled = projected * (1.0 + go.narrow(1, 0, C).unsqueeze(-1));
  at::Tensor const offset = go.narrow(1, C, C).unsqueeze(-1);
  if (out.defined()) return at::add_out(out, scaled, offset);
  return scaled + offset;
}

// ================================================================== ScoreModel<LibTorch>
struct TorchScoreModelState {
  model::ModelDescription description;
  TorchNetwork network;
  std::vector<at::Tensor> theta;

  TorchScoreModelState(model::ModelDescription d, at::ScalarType dtype)
      : description(std::move(d)), network(description.architecture, dtype) {
    description.validate();
    theta = zero_parameters(description.architecture, dtype);
    assign_parameters(theta, description.weights, description.architecture);
  }
};

}  // namespace Impl

namespace {

template <class X, class T, class Cond, class Out>
void check_extents(model::FilmCnnConfig const& a, X const& x, T const& t, Cond const& cond, Out const& out,
                   char const* call) {
  auto const B = x.extent(0);
  require(x.extent(1) == std::size_t(a.channels) && x.extent(2) == std::size_t(a.num_points), call, ": x is (",
          x.extent(0), ", ", x.extent(1), ", ", x.extent(2), "), the model needs (B, ", a.channels, ", ",
          a.num_points, ") (channels, N of the training data)");
  require(t.extent(0) == B, call, ": t has ", t.extent(0), " entries for a batch of ", B);
  require(cond.extent(0) == B && cond.extent(1) == std::size_t(a.cond_dim), call, ": cond is (", cond.extent(0),
          ", ", cond.extent(1), "), expected (", B, ", ", a.cond_dim, ")");
  require(out.extent(0) == B && out.extent(1) == x.extent(1) && out.extent(2) == x.extent(2), call,
          ": out is (", out.extent(0), ", ", out.extent(1), ", ", out.extent(2), "), expected the shape of x");
  require(x.span_is_contiguous() && out.span_is_contiguous() && t.span_is_contiguous() &&
              cond.span_is_contiguous(),
          call, ": Views must be contiguous");
}

}  // namespace

template <class Scalar>
ScoreModel<LibTorch, Scalar>::ScoreModel(model::ModelDescription description) {
  ScopedRegion region("psgm::score::ScoreModel<LibTorch>::ScoreModel");
  Impl::ensure_torch_threads();
  require(description.architecture.cond_dim >= 0, "ScoreModel: invalid cond_dim");
  state_ = std::make_unique<Impl::TorchScoreModelState>(std::move(description), Impl::torch_dtype<Scalar>());
}

template <class Scalar>
ScoreModel<LibTorch, Scalar> ScoreModel<LibTorch, Scalar>::load(std::string const& path) {
#if PSGM_HAS_HDF5
  return ScoreModel(io::read_model(path));
#else
  throw IoError("ScoreModel<LibTorch>::load('" + path + "'): this psgm was built without HDF5 (PSGM_ENABLE_HDF5=OFF)");
#endif
}

template <class Scalar>
ScoreModel<LibTorch, Scalar>::~ScoreModel() = default;
template <class Scalar>
ScoreModel<LibTorch, Scalar>::ScoreModel(ScoreModel&&) noexcept = default;
template <class Scalar>
ScoreModel<LibTorch, Scalar>& ScoreModel<LibTorch, Scalar>::operator=(ScoreModel&&) noexcept = default;

template <class Scalar>
model::ModelDescription const& ScoreModel<LibTorch, Scalar>::description() const {
  return state_->description;
}

template <class Scalar>
void ScoreModel<LibTorch, Scalar>::reserve(int max_batch) {
  require(max_batch >= 0, "ScoreModel<LibTorch>::reserve: max_batch = ", max_batch, " must be >= 0");
}

template <class Scalar>
void ScoreModel<LibTorch, Scalar>::network(execution_space const& space, const_field_view x, const_time_view t,
                                           const_cond_view cond, field_view out) const {
  ScopedRegion region("psgm::score::ScoreModel<LibTorch>::network");
  auto const& a = state_->description.architecture;
  check_extents(a, x, t, cond, out, "ScoreModel<LibTorch>::network");
  std::int64_t const B = x.extent(0);
  if (B == 0) return;
  Impl::ensure_torch_threads();
  space.fence();  // LibTorch reads the inputs on the host; kernels on `space` may still write them
  c10::InferenceMode inference;
  auto const dtype = Impl::torch_dtype<Scalar>();
  at::Tensor const X = Impl::wrap(x.data(), {B, a.channels, a.num_points}, dtype);
  at::Tensor const T = Impl::wrap(t.data(), {B}, dtype);
  at::Tensor const Cond = Impl::wrap(cond.data(), {B, a.cond_dim}, dtype);
  at::Tensor Out = Impl::wrap(out.data(), {B, a.channels, a.num_points}, dtype);
  state_->network.forward(state_->theta, X, T, Cond, Out);
}

template <class Scalar>
void ScoreModel<LibTorch, Scalar>::score(execution_space const& space, const_field_view x, const_time_view t,
                                         const_cond_view cond, field_view out) const {
  auto const& sde = state_->description.sde;
  if (sde.type != model::SdeType::edm) {
    // VP and VE: the network is the score (spec §3).
    network(space, x, t, cond, out);
    return;
  }
  ScopedRegion region("psgm::score::ScoreModel<LibTorch>::score");
  auto const& a = state_->description.architecture;
  check_extents(a, x, t, cond, out, "ScoreModel<LibTorch>::score");
  std::int64_t const B = x.extent(0);
  if (B == 0) return;
  Impl::ensure_torch_threads();
  space.fence();  // LibTorch reads the inputs on the host
  c10::InferenceMode inference;
  auto const dtype = Impl::torch_dtype<Scalar>();
  // EDM preconditioning (Karras et al. 2022), coefficients in double:
  // D = c_skip x + c_out F(c_in x, c_noise(σ)),  score = (D − x) / σ².
  std::vector<double> c_in(B), c_skip(B), c_out(B), c_noise(B), inv_s2(B);
  for (std::int64_t i = 0; i < B; ++i) {
    double const s = t(i);
    require(s > 0 && std::isfinite(s), "ScoreModel<LibTorch>::score (EDM): sigma = ", s, " at batch item ", i,
            " must be finite and > 0");
    c_in[i] = sde.edm.c_in(s);
    c_skip[i] = sde.edm.c_skip(s);
    c_out[i] = sde.edm.c_out(s);
    c_noise[i] = sde.edm.c_noise(s);
    inv_s2[i] = 1.0 / (s * s);
  }
  auto column = [&](std::vector<double> const& v) {
    return Impl::wrap(v.data(), {B, 1, 1}, at::kDouble).to(dtype);
  };
  at::Tensor const X = Impl::wrap(x.data(), {B, a.channels, a.num_points}, dtype);
  at::Tensor const Cond = Impl::wrap(cond.data(), {B, a.cond_dim}, dtype);
  at::Tensor Out = Impl::wrap(out.data(), {B, a.channels, a.num_points}, dtype);
  at::Tensor const Tn = Impl::wrap(c_noise.data(), {B}, at::kDouble);
  at::Tensor const F = state_->network.forward(state_->theta, X * column(c_in), Tn, Cond);
  at::Tensor const D = column(c_skip) * X + column(c_out) * F;
  at::mul_out(Out, D - X, column(inv_s2));
}

template class ScoreModel<LibTorch, float>;
template class ScoreModel<LibTorch, double>;

}  // namespace score
}  // namespace psgm

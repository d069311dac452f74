// Private to libpsgm_torch: the FiLM-CNN of docs/design.md §5 as a function
// of LibTorch tensors, shared by ScoreModel<LibTorch> (inference) and
// TrainableModel<LibTorch> (autograd). The parameters are passed in, so one
// network evaluates the raw weights and their EMA copy alike.
#pragma once

#include <psgm/model/ModelDescription.hpp>

#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace psgm {
namespace score {
namespace Impl {

/// at::kFloat for float, at::kDouble for double.
template <class Scalar>
constexpr at::ScalarType torch_dtype() {
  return std::is_same_v<Scalar, float> ? at::kFloat : at::kDouble;
}

/// Zero tensors of every weight of `config`, canonical order.
std::vector<at::Tensor> zero_parameters(model::FilmCnnConfig const& config, at::ScalarType dtype);
/// Copies a ParameterSet (checked against `config`) into existing tensors
/// (rounding to their dtype); works on tensors that require grad.
void assign_parameters(std::vector<at::Tensor>& dst, model::ParameterSet const& src,
                       model::FilmCnnConfig const& config);
/// The tensors' values as a ParameterSet of `config` (exact: float → double).
model::ParameterSet to_parameter_set(std::vector<at::Tensor> const& src, model::FilmCnnConfig const& config);

/// Wraps a contiguous host array as a tensor without copying.
at::Tensor wrap(void const* data, at::IntArrayRef sizes, at::ScalarType dtype);

class TorchNetwork {
 public:
  TorchNetwork(model::FilmCnnConfig const& config, at::ScalarType dtype);
  model::FilmCnnConfig const& config() const { return config_; }
  at::ScalarType dtype() const { return dtype_; }

  /// [sin(ω_k t)]_k ++ [cos(ω_k t)]_k, ω_k = 2π 2^k, evaluated in float64 and
  /// rounded to the network's dtype (sin(2π 2^15 t) in float32 arithmetic
  /// would lose two digits; the Python definition does the same).
  at::Tensor time_embedding(at::Tensor const& t) const;

  /// F(x, t, cond) with weights `theta` (canonical order). x (B, C, N), t (B)
  /// of any floating dtype, cond (B, cond_dim) in the network's dtype. When
  /// `out` is defined, the result is written into it (its storage is reused).
  at::Tensor forward(std::vector<at::Tensor> const& theta, at::Tensor const& x, at::Tensor const& t,
                     at::Tensor const& cond, at::Tensor out = at::Tensor()) const;

  /// y = x Wᵀ + b, x (B, in). In float32 as a 1×1 convolution, which LibTorch
  /// runs in oneDNN, 3-5× faster forward and backward than at::linear on the
  /// generic BLAS of Debian's LibTorch (docs/performance.md, "LibTorch
  /// training"); the same function to round-off.
  at::Tensor linear(at::Tensor const& x, at::Tensor const& weight, at::Tensor const& bias) const;

 private:
  model::FilmCnnConfig config_;
  at::ScalarType dtype_;
  at::Tensor omega_;  // (1, F) float64
};

}  // namespace Impl
}  // namespace score
}  // namespace psgm

// The LibTorch side of training: psgm::score::TrainableModel<LibTorch, Scalar>,
// a model of the TrainableModel concept (psgm/score/Trainer.hpp,
// docs/design.md §7). Parameters, gradients, Adam moments and the EMA copy
// are LibTorch tensors behind an opaque implementation (link psgm::torch);
// the loss and its gradient come from LibTorch's autograd.
#pragma once

#include <psgm/score/Trainer.hpp>
#include <psgm/torch/TorchScoreModel.hpp>

#include <memory>

namespace psgm {
namespace score {

namespace Impl {
struct TorchTrainableState;
}

template <class Scalar>
class TrainableModel<LibTorch, Scalar> {
  static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>,
                "psgm::score::TrainableModel<LibTorch, Scalar>: Scalar must be float or double");

 public:
  using backend_type = LibTorch;
  using scalar_type = Scalar;
  static constexpr char const* dtype() { return std::is_same_v<Scalar, float> ? "float32" : "float64"; }

  explicit TrainableModel(model::FilmCnnConfig const& architecture);
  ~TrainableModel();
  TrainableModel(TrainableModel&&) noexcept;
  TrainableModel& operator=(TrainableModel&&) noexcept;
  TrainableModel(TrainableModel const&) = delete;
  TrainableModel& operator=(TrainableModel const&) = delete;

  model::FilmCnnConfig const& architecture() const;
  void reserve(int max_batch);
  void set_parameters(model::ParameterSet const& theta);
  model::ParameterSet parameters() const;
  void set_optimizer_state(OptimizerState const& state);
  OptimizerState optimizer_state() const;
  double loss_and_gradient(DsmBatch const& batch);
  double gradient_norm() const;
  void adam_step(AdamSettings const& adam, double learning_rate, double gradient_scale, std::int64_t step);
  void update_ema(double decay);
  double loss(DsmBatch const& batch, Weights which) const;
  /// ∇θ L of the last loss_and_gradient (before clipping); beyond the
  /// concept, for checks and diagnostics.
  model::ParameterSet gradient() const;
  /// ∇θ L as one flat vector (canonical order, exact doubles), and its
  /// replacement (rounded to Scalar; gradient_norm() is then its norm): what
  /// data-parallel training reduces across processes (docs/scaling.md §4).
  std::vector<double> flat_gradient() const;
  void set_flat_gradient(std::vector<double> const& gradient);

 private:
  std::unique_ptr<Impl::TorchTrainableState> state_;
};

extern template class TrainableModel<LibTorch, float>;
extern template class TrainableModel<LibTorch, double>;

}  // namespace score
}  // namespace psgm

// The native side of training: psgm::score::TrainableModel<Native<ExecSpace>, Scalar>,
// a model of the TrainableModel concept (psgm/score/Trainer.hpp,
// docs/design.md §7). θ, its gradient, the Adam moments and the EMA copy live
// in ExecSpace's memory; the loss and its gradient come from the native
// backward pass (docs/native_backend.md), checked against finite differences
// and against LibTorch's autograd in tests/score.
//
//   using Model = psgm::score::TrainableModel<psgm::score::Native<Kokkos::OpenMP>, float>;
//   psgm::score::Trainer<Model> trainer(host_space, options);   // what `psgm train --backend native` does
#pragma once

#include <psgm/core/ExecutionSpaces.hpp>
#include <psgm/score/Backend.hpp>
#include <psgm/score/Trainer.hpp>
#include <psgm/score/impl/NativeNetwork.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <vector>
#include <type_traits>

namespace psgm {
namespace score {

template <class ExecSpace, class Scalar>
class TrainableModel<Native<ExecSpace>, Scalar> {
  static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>,
                "psgm::score::TrainableModel<Native<ExecSpace>, Scalar>: Scalar must be float or double");

 public:
  using backend_type = Native<ExecSpace>;
  using execution_space = ExecSpace;
  using memory_space = typename ExecSpace::memory_space;
  using scalar_type = Scalar;
  using vector_view = Kokkos::View<Scalar*, memory_space>;
  static constexpr char const* dtype() { return std::is_same_v<Scalar, float> ? "float32" : "float64"; }

  /// θ starts at zero (set_parameters), Adam moments at zero, EMA off.
  TrainableModel(ExecSpace const& space, model::FilmCnnConfig const& architecture,
                 NativeKernels kernels = NativeKernels::automatic);
  explicit TrainableModel(model::FilmCnnConfig const& architecture, NativeKernels kernels = NativeKernels::automatic)
      : TrainableModel(ExecSpace(), architecture, kernels) {}
  TrainableModel(TrainableModel&&) = default;
  TrainableModel& operator=(TrainableModel&&) = default;
  TrainableModel(TrainableModel const&) = delete;
  TrainableModel& operator=(TrainableModel const&) = delete;

  model::FilmCnnConfig const& architecture() const { return net_.config(); }
  NativeKernels kernels() const { return net_.kernels(); }
  /// Sizes the training workspace for batches up to max_batch.
  void reserve(int max_batch);
  void set_parameters(model::ParameterSet const& theta);
  model::ParameterSet parameters() const;
  void set_optimizer_state(OptimizerState const& state);
  OptimizerState optimizer_state() const;
  /// L(θ) = mean_{i,c,n} (a_i F(x_i, t_i, cond_i) − y_i)², keeping ∇θ L.
  double loss_and_gradient(DsmBatch const& batch);
  /// ‖∇θ L‖₂ of the last loss_and_gradient.
  double gradient_norm() const;
  /// PyTorch's Adam on θ with ∇θ L scaled by gradient_scale (clipping).
  void adam_step(AdamSettings const& adam, double learning_rate, double gradient_scale, std::int64_t step);
  /// ema ← decay·ema + (1 − decay)·θ.
  void update_ema(double decay);
  /// L of the raw or the EMA weights, without gradient.
  double loss(DsmBatch const& batch, Weights which) const;

  /// ∇θ L of the last loss_and_gradient, canonical order (parameter_shapes), in ExecSpace's memory.
  vector_view gradient() const { return net_.gradient(); }
  /// ∇θ L as one flat vector on the host (canonical order, exact doubles),
  /// and its replacement (rounded to Scalar; gradient_norm() is then its
  /// norm): what data-parallel training reduces across processes
  /// (docs/scaling.md §4).
  std::vector<double> flat_gradient() const;
  void set_flat_gradient(std::vector<double> const& gradient);
  /// The same as a ParameterSet (host, exact).
  model::ParameterSet gradient_set() const { return net_.to_parameter_set(space_, net_.gradient()); }

 private:
  int stage(DsmBatch const& batch) const;
  double dsm(int B, bool gradient) const;

  ExecSpace space_;
  Impl::NativeNetwork<ExecSpace, Scalar> net_;
  vector_view adam_m_, adam_v_, ema_;
  bool ema_on_ = false;
  bool have_gradient_ = false;
  mutable double gradient_norm_ = -1;
  int capacity_ = 0;
  // the batch in ExecSpace's memory (rounded to Scalar; times in double)
  vector_view bx_, bcond_, ba_, by_;
  Kokkos::View<double*, memory_space> bt_;
  typename vector_view::host_mirror_type hx_, hcond_, ha_, hy_;
  typename Kokkos::View<double*, memory_space>::host_mirror_type ht_, hloss_;
};

}  // namespace score
}  // namespace psgm

#define PSGM_SCORE_NATIVE_TRAINABLE_MODEL_ETI(Space)                                     \
  extern template class psgm::score::TrainableModel<psgm::score::Native<Space>, float>; \
  extern template class psgm::score::TrainableModel<psgm::score::Native<Space>, double>;
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_SCORE_NATIVE_TRAINABLE_MODEL_ETI)
#undef PSGM_SCORE_NATIVE_TRAINABLE_MODEL_ETI

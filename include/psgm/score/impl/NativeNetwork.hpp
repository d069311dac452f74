// The engine shared by ScoreModel<Native<ExecSpace>, Scalar> (inference) and
// TrainableModel<Native<ExecSpace>, Scalar> (training): the weights in the
// execution space's memory, their packed copies, the workspaces, the forward
// pass of docs/design.md §5 and its backward pass. Not part of the public API;
// use the two models.
#pragma once

#include <psgm/core/ExecutionSpaces.hpp>
#include <psgm/model/ModelDescription.hpp>
#include <psgm/score/impl/NativeLayout.hpp>

#include <Kokkos_Core.hpp>

#include <string>
#include <type_traits>

namespace psgm {
namespace score {

/// How the native backend maps its tiles onto the hardware.
enum class NativeKernels {
  automatic,   ///< host_tiles on host execution spaces, portable elsewhere
  portable,    ///< team per tile, thread per channel (GPUs; any space)
  host_tiles,  ///< register-blocked SIMD micro-kernels (host spaces only)
};
char const* to_string(NativeKernels k);

namespace Impl {

template <class ExecSpace, class Scalar>
class NativeNetwork {
 public:
  using execution_space = ExecSpace;
  using memory_space = typename ExecSpace::memory_space;
  using vector_view = Kokkos::View<Scalar*, memory_space>;
  using fields_view = Kokkos::View<Scalar***, Kokkos::LayoutRight, memory_space>;
  using const_fields_view = Kokkos::View<const Scalar***, Kokkos::LayoutRight, memory_space>;

  static constexpr bool host_space = std::is_same_v<memory_space, Kokkos::HostSpace>;

  NativeNetwork(ExecSpace const& space, model::FilmCnnConfig const& config, NativeKernels kernels);

  model::FilmCnnConfig const& config() const { return config_; }
  NativeLayout const& layout() const { return lay_; }
  NativeKernels kernels() const { return use_host_ ? NativeKernels::host_tiles : NativeKernels::portable; }

  // ---------------------------------------------------------------- weights
  /// θ, canonical order (parameter_shapes). After writing into it, call pack().
  vector_view parameters() const { return params_; }
  void set_parameters(ExecSpace const& space, model::ParameterSet const& theta);
  /// θ (or another vector of the same layout) on the host; fences `space`.
  model::ParameterSet to_parameter_set(ExecSpace const& space, vector_view values) const;
  void set_vector(ExecSpace const& space, vector_view dst, model::ParameterSet const& src) const;
  /// Copies `weights` (θ by default) into the packed layouts the kernels read.
  void pack(ExecSpace const& space) const { pack(space, params_); }
  void pack(ExecSpace const& space, vector_view weights) const;

  // ---------------------------------------------------------------- inference
  void reserve(int max_batch);
  int capacity() const { return capacity_; }
  /// out = F(x, t, cond) with the packed weights. Exactly one of t, td is non-null
  /// (the time in Scalar or in double); out has strides (sb, sc, 1).
  void forward(ExecSpace const& space, int B, Scalar const* x, Scalar const* t, double const* td, Scalar const* cond,
               Scalar* out, native_index out_sb, native_index out_sc) const;
  /// EDM preconditioning around forward(): out = (c_skip x + c_out F(c_in x, c_noise(σ)) − x) / σ².
  void edm_score(ExecSpace const& space, int B, model::EdmConfig const& edm, Scalar const* x, Scalar const* sigma,
                 Scalar const* cond, Scalar* out) const;

  // ---------------------------------------------------------------- training
  void reserve_training(int max_batch);
  int training_capacity() const { return train_capacity_; }
  /// Per-sample DSM losses (Trainer.hpp, DsmBatch) into `loss` (B, host
  /// readable after a fence) and, when `gradient`, dL/dθ into gradient().
  /// Inputs are device arrays: x (B, C, N), t (B, double), cond (B, cond_dim),
  /// a (B), y (B, C, N).
  void dsm(ExecSpace const& space, int B, Scalar const* x, double const* t, Scalar const* cond, Scalar const* a,
           Scalar const* y, bool gradient) const;
  vector_view gradient() const { return grad_; }
  Kokkos::View<double*, memory_space> sample_losses() const { return loss_; }

 private:
  template <class Functor>
  void launch_tiles(ExecSpace const& space, char const* label, int tasks, int width, Functor const& f) const;
  void forward_stored(ExecSpace const& space, int B, Scalar const* x, double const* td, Scalar const* cond) const;
  void film_forward(ExecSpace const& space, int B, Scalar const* z, Scalar* const* pre, Scalar* const* post) const;

  ExecSpace space_;  ///< the construction instance: workspaces are allocated on it
  model::FilmCnnConfig config_;
  NativeLayout lay_;
  bool use_host_ = false;
  int capacity_ = 0, train_capacity_ = 0;

  vector_view params_;
  mutable vector_view packed_;
  Kokkos::View<int*, memory_space> tables_;  ///< [N][K] forward, [K][N] taps, [N][K] transposed
  vector_view zeros_;                        ///< ldw zeros

  // inference workspace (mutable: network() is logically const)
  mutable vector_view z_, oa_, fa_, fb_, gb_, h_, u_, xin_;
  mutable Kokkos::View<double*, memory_space> tin_;
  // training workspace
  mutable vector_view hs_, a1_, a2_, fpre_, fpost_, proj_, F_, dF_, doa_, g_, dA_, dB_, dq_, partial_, grad_;
  mutable vector_view tz_, toa_, tu_;
  mutable Kokkos::View<double*, memory_space> loss_;
};

}  // namespace Impl
}  // namespace score
}  // namespace psgm

#define PSGM_SCORE_NATIVE_NETWORK_ETI(Space)                                   \
  extern template class psgm::score::Impl::NativeNetwork<Space, float>; \
  extern template class psgm::score::Impl::NativeNetwork<Space, double>;
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_SCORE_NATIVE_NETWORK_ETI)
#undef PSGM_SCORE_NATIVE_NETWORK_ETI

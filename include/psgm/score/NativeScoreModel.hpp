// The native score backend: psgm::score::ScoreModel<Native<ExecSpace>, Scalar>
// (docs/design.md §6), psgm's own Kokkos implementation of the FiLM-CNN of
// docs/design.md §5 on any execution space: no LibTorch, no host copies.
//
//   using Model = psgm::score::ScoreModel<psgm::score::Native<Kokkos::OpenMP>, float>;
//   Model model(space, psgm::io::read_model("model.h5"));   // or Model::load("model.h5")
//   model.reserve(500);                                     // workspace for batches up to 500
//   model.score(space, x, t, cond, out);                    // ∇ log p_t(x | cond), normalised space
//
// The weights are copied to ExecSpace's memory once, at construction.
// Kernels, their tiling and the measurements behind it: docs/native_backend.md.
#pragma once

#include <psgm/Config.hpp>
#include <psgm/core/ExecutionSpaces.hpp>
#include <psgm/model/ModelDescription.hpp>
#include <psgm/score/Backend.hpp>
#include <psgm/score/impl/NativeNetwork.hpp>

#include <Kokkos_Core.hpp>

#include <string>
#include <type_traits>

namespace psgm {
namespace score {

/// A score model evaluated by psgm's Kokkos kernels on ExecSpace, in
/// precision Scalar (float or double).
///
/// Implements the ScoreModel concept (docs/design.md §6). Inputs are
/// LayoutRight Views in ExecSpace's memory: x (B, C, N) normalised fields,
/// t (B) the network's time input (the diffusion time for VP/VE; σ in
/// score() for EDM), cond (B, cond_dim) normalised conditions.
///
/// network() and score() allocate nothing once reserve(B) has sized the
/// workspace for batches up to B (a larger batch grows it, once). A model
/// holds one workspace: evaluate it from one thread at a time.
template <class ExecSpace, class Scalar>
class ScoreModel<Native<ExecSpace>, Scalar> {
  static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>,
                "psgm::score::ScoreModel<Native<ExecSpace>, Scalar>: Scalar must be float or double");

 public:
  using backend_type = Native<ExecSpace>;
  using execution_space = ExecSpace;
  using memory_space = typename ExecSpace::memory_space;
  using scalar_type = Scalar;
  using field_view = Kokkos::View<Scalar***, Kokkos::LayoutRight, memory_space>;
  using const_field_view = Kokkos::View<const Scalar***, Kokkos::LayoutRight, memory_space>;
  using time_view = Kokkos::View<Scalar*, memory_space>;
  using const_time_view = Kokkos::View<const Scalar*, memory_space>;
  using cond_view = Kokkos::View<Scalar**, Kokkos::LayoutRight, memory_space>;
  using const_cond_view = Kokkos::View<const Scalar**, Kokkos::LayoutRight, memory_space>;

  /// Builds the network from a description (validated here); the weights are
  /// rounded to Scalar and copied to ExecSpace's memory on `space`.
  ScoreModel(ExecSpace const& space, model::ModelDescription description,
             NativeKernels kernels = NativeKernels::automatic);
  explicit ScoreModel(model::ModelDescription description, NativeKernels kernels = NativeKernels::automatic)
      : ScoreModel(ExecSpace(), std::move(description), kernels) {}
  ScoreModel(ScoreModel&&) = default;
  ScoreModel& operator=(ScoreModel&&) = default;
  ScoreModel(ScoreModel const&) = delete;  // the workspace is not shareable
  ScoreModel& operator=(ScoreModel const&) = delete;
#if PSGM_HAS_HDF5
  /// Reads a model file (psgm::io::read_model) and builds the network.
  static ScoreModel load(std::string const& path, NativeKernels kernels = NativeKernels::automatic);
#endif

  /// Architecture, normalisation, SDE and the weights as loaded (in double).
  model::ModelDescription const& description() const { return description_; }
  /// The description with the weights this model evaluates, read back from
  /// ExecSpace's memory (exact: Scalar → double); dtype is Scalar's.
  model::ModelDescription to_description() const;
  /// The kernel path in use (host_tiles or portable).
  NativeKernels kernels() const { return net_.kernels(); }

  /// out = F(x, t, cond): the raw network of docs/design.md §5.
  void network(execution_space const& space, const_field_view x, const_time_view t, const_cond_view cond,
               field_view out) const;
  /// out = ∇_x log p_t(x | cond) in normalised space: F itself for VP and VE;
  /// for EDM, with t = σ > 0, (c_skip x + c_out F(c_in x, c_noise(σ)) − x) / σ².
  void score(execution_space const& space, const_field_view x, const_time_view t, const_cond_view cond,
             field_view out) const;
  /// Sizes the workspace for batches up to max_batch.
  void reserve(int max_batch);
  int capacity() const { return net_.capacity(); }

 private:
  void check(char const* what, const_field_view x, const_time_view t, const_cond_view cond, field_view out) const;

  model::ModelDescription description_;
  ExecSpace space_;
  Impl::NativeNetwork<ExecSpace, Scalar> net_;
};

}  // namespace score
}  // namespace psgm

#define PSGM_SCORE_NATIVE_SCORE_MODEL_ETI(Space)                                     \
  extern template class psgm::score::ScoreModel<psgm::score::Native<Space>, float>; \
  extern template class psgm::score::ScoreModel<psgm::score::Native<Space>, double>;
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_SCORE_NATIVE_SCORE_MODEL_ETI)
#undef PSGM_SCORE_NATIVE_SCORE_MODEL_ETI

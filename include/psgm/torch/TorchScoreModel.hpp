// The LibTorch score backend: psgm::score::ScoreModel<LibTorch, Scalar>
// (docs/design.md §6). The network of docs/design.md §5 runs in LibTorch on
// the host (Debian's LibTorch is CPU-only); inputs and outputs are Kokkos
// Views in DefaultHostExecutionSpace's memory, wrapped as tensors without a
// copy. No LibTorch header is included here: the tensors live behind an
// opaque implementation in libpsgm_torch (link psgm::torch).
//
//   auto model = psgm::score::ScoreModel<psgm::score::LibTorch, float>::load("model.h5");
//   model.score(space, x, t, cond, out);    // ∇ log p_t(x | cond), normalised space
#pragma once

#include <psgm/Config.hpp>
#include <psgm/model/ModelDescription.hpp>
#include <psgm/score/Backend.hpp>

#include <Kokkos_Core.hpp>

#include <memory>
#include <string>
#include <type_traits>

#if !PSGM_HAS_TORCH
#error "psgm/torch/TorchScoreModel.hpp: this psgm was built without LibTorch; reconfigure with -DPSGM_ENABLE_TORCH=ON"
#endif

namespace psgm {
namespace score {

namespace Impl {
struct TorchScoreModelState;  // the tensors (src/torch)
/// Sets LibTorch's intra-op thread count to Kokkos' host concurrency (once
/// Kokkos is initialised). LibTorch otherwise runs OpenMP on one thread.
/// Every LibTorch entry point of psgm calls it; cheap after the first call.
void ensure_torch_threads();
}  // namespace Impl

/// A score model evaluated by LibTorch, in precision Scalar (float or double).
///
/// Implements the ScoreModel concept (docs/design.md §6). Inputs must be
/// contiguous LayoutRight Views: x (B, C, N) normalised fields, t (B) the
/// network's time input (the diffusion time for VP/VE, σ for EDM in score()),
/// cond (B, cond_dim) normalised conditions. LibTorch manages its own memory:
/// reserve() only checks the size, evaluation allocates tensors internally.
template <class Scalar>
class ScoreModel<LibTorch, Scalar> {
  static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>,
                "psgm::score::ScoreModel<LibTorch, Scalar>: Scalar must be float or double");

 public:
  using backend_type = LibTorch;
  using execution_space = Kokkos::DefaultHostExecutionSpace;
  using memory_space = typename execution_space::memory_space;
  using scalar_type = Scalar;
  using field_view = Kokkos::View<Scalar***, Kokkos::LayoutRight, memory_space>;
  using const_field_view = Kokkos::View<const Scalar***, Kokkos::LayoutRight, memory_space>;
  using time_view = Kokkos::View<Scalar*, memory_space>;
  using const_time_view = Kokkos::View<const Scalar*, memory_space>;
  using cond_view = Kokkos::View<Scalar**, Kokkos::LayoutRight, memory_space>;
  using const_cond_view = Kokkos::View<const Scalar**, Kokkos::LayoutRight, memory_space>;

  /// Builds the network from a validated description (weights converted to Scalar).
  explicit ScoreModel(model::ModelDescription description);
  /// Reads a model file (psgm::io::read_model) and builds the network.
  static ScoreModel load(std::string const& path);
  ~ScoreModel();
  ScoreModel(ScoreModel&&) noexcept;
  ScoreModel& operator=(ScoreModel&&) noexcept;
  ScoreModel(ScoreModel const&) = delete;
  ScoreModel& operator=(ScoreModel const&) = delete;

  model::ModelDescription const& description() const;

  /// out = F(x, t, cond): the raw network.
  void network(execution_space const& space, const_field_view x, const_time_view t, const_cond_view cond,
               field_view out) const;
  /// out = ∇_x log p_t(x | cond) in normalised space: F itself for VP and VE;
  /// for EDM, with t = σ, (c_skip x + c_out F(c_in x, c_noise(σ)) − x) / σ².
  void score(execution_space const& space, const_field_view x, const_time_view t, const_cond_view cond,
             field_view out) const;
  void reserve(int max_batch);

 private:
  std::unique_ptr<Impl::TorchScoreModelState> state_;
};

extern template class ScoreModel<LibTorch, float>;
extern template class ScoreModel<LibTorch, double>;

}  // namespace score
}  // namespace psgm

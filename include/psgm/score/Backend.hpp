// Score-network backends are compile-time policies, in the manner of Kokkos
// Kernels' algorithm tags: empty types that select an implementation.
//
//   psgm::score::LibTorch          the network runs in LibTorch (CPU, or CUDA
//                                  with a CUDA LibTorch); needs PSGM_ENABLE_TORCH=ON
//   psgm::score::Native<ExecSpace> psgm's own Kokkos FiLM-CNN kernels on any
//                                  Kokkos execution space; always available
//
// Samplers and trainers are templated on the backend through
// psgm::score::ScoreModel<Backend, Scalar>. Using a backend that was not
// compiled in fails at compile time with a message naming the CMake option
// that enables it.
#pragma once

#include <psgm/Config.hpp>

#include <Kokkos_Core.hpp>

#include <type_traits>

namespace psgm {
namespace score {

/// The LibTorch backend.
struct LibTorch {
  static constexpr char const* name() { return "libtorch"; }
};

/// The native Kokkos backend on ExecSpace.
template <class ExecSpace>
struct Native {
  static_assert(Kokkos::is_execution_space<ExecSpace>::value,
                "psgm::score::Native<ExecSpace>: ExecSpace must be a Kokkos execution space");
  using execution_space = ExecSpace;
  static constexpr char const* name() { return "native"; }
};

/// Whether a backend was compiled into this psgm.
template <class Backend>
struct is_backend_enabled : std::false_type {};
template <>
struct is_backend_enabled<LibTorch> : std::bool_constant<PSGM_HAS_TORCH != 0> {};
template <class ExecSpace>
struct is_backend_enabled<Native<ExecSpace>> : std::true_type {};
template <class Backend>
inline constexpr bool is_backend_enabled_v = is_backend_enabled<Backend>::value;

/// Whether T is one of psgm's backend tags.
template <class T>
struct is_backend : std::false_type {};
template <>
struct is_backend<LibTorch> : std::true_type {};
template <class E>
struct is_backend<Native<E>> : std::true_type {};
template <class T>
inline constexpr bool is_backend_v = is_backend<T>::value;

namespace Impl {
template <class T>
inline constexpr bool always_false_v = false;

/// Instantiating this for a backend that is not compiled in stops the build
/// with a message that names the CMake option to turn on. (Every assertion
/// depends on Backend, so merely including this header never fires.)
template <class Backend>
struct RequireBackend {
  static_assert(is_backend_v<Backend>,
                "psgm::score: not a score backend; use psgm::score::LibTorch or psgm::score::Native<ExecSpace>");
  static_assert(!std::is_same_v<Backend, LibTorch> || is_backend_enabled_v<Backend>,
                "psgm::score::LibTorch: this psgm was built without the LibTorch backend; "
                "reconfigure psgm with -DPSGM_ENABLE_TORCH=ON (needs LibTorch, e.g. Debian's libtorch-dev), "
                "or use psgm::score::Native<ExecSpace>");
};
}  // namespace Impl

/// A score model on a backend: the network, its normalisation and its SDE.
/// Specialised by each backend (score/NativeScoreModel.hpp,
/// torch/TorchScoreModel.hpp). The primary template only checks that the
/// backend exists.
template <class Backend, class Scalar = float>
class ScoreModel : Impl::RequireBackend<Backend> {
  static_assert(!is_backend_enabled_v<Backend> || Impl::always_false_v<Backend>,
                "psgm::score::ScoreModel<Backend, Scalar>: no implementation for this backend is included; "
                "include <psgm/psgm.hpp>");
};

}  // namespace score
}  // namespace psgm

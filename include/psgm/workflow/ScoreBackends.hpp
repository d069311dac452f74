// The score backend picked by name at run time ("native", "libtorch"), in
// one place: psgm train and psgm sample (and any application) call
// with_score_backend, which hands the backend's policy type to a generic
// lambda (docs/workflow.md). The backends themselves stay compile-time
// policies (psgm/score/Backend.hpp).
//
//   psgm::workflow::with_score_backend("native", [&](auto backend) {
//     using Backend = decltype(backend);
//     psgm::score::ScoreModel<Backend, float> model(...);
//   });
//
// When psgm is built with LibTorch, code that calls this links psgm::torch.
#pragma once

#include <psgm/Config.hpp>
#include <psgm/core/Error.hpp>
#include <psgm/score/Backend.hpp>

#include <Kokkos_Core.hpp>

#include <string>
#include <vector>

namespace psgm::workflow {

/// The backends this psgm has, by name: "native" (Kokkos' default execution
/// space), and "libtorch" when built with PSGM_ENABLE_TORCH.
inline std::vector<std::string> score_backend_names() {
  return PSGM_HAS_TORCH ? std::vector<std::string>{"native", "libtorch"} : std::vector<std::string>{"native"};
}

/// psgm::InvalidArgument unless this psgm has a backend called `name`: the
/// names there are, and for "libtorch" in a psgm built without it the CMake
/// option that enables it. `who` names the caller in messages.
inline void require_score_backend(std::string const& name, std::string const& who = "psgm") {
#if !PSGM_HAS_TORCH
  require(name != "libtorch", who, ": backend 'libtorch' is not built into this psgm (configured with "
          "-DPSGM_ENABLE_TORCH=OFF); reconfigure with -DPSGM_ENABLE_TORCH=ON or use another backend");
#endif
  std::string names;
  for (auto const& n : score_backend_names()) names += (names.empty() ? "" : ", ") + n;
  require(name == "native" || (PSGM_HAS_TORCH && name == "libtorch"), who, ": unknown score backend '", name,
          "'; this psgm has: ", names);
}

/// Calls f(Backend{}) for the backend called `name` and returns its result;
/// psgm::InvalidArgument naming the backends there are otherwise, and for
/// "libtorch" in a psgm built without it the CMake option that enables it.
/// `who` names the caller in messages ("psgm sample").
template <class F>
decltype(auto) with_score_backend(std::string const& name, F&& f, std::string const& who = "psgm") {
  require_score_backend(name, who);
#if PSGM_HAS_TORCH
  if (name == "libtorch") return f(score::LibTorch{});
#endif
  // psgm's own kernels (docs/native_backend.md) on Kokkos' default execution
  // space: the GPU when psgm is built for one.
  return f(score::Native<Kokkos::DefaultExecutionSpace>{});
}

}  // namespace psgm::workflow

// The CLI's LibTorch paths live in a module, libpsgm_cli_torch.so (built
// with PSGM_ENABLE_TORCH, installed in <libdir>/psgm), that the psgm
// executable opens the first time a command runs the libtorch backend.
// Every other command (generate, evaluate, merge, info, and train and sample
// on the native backend) starts without LibTorch's libraries: 0.05 s
// instead of 0.6 s per start (docs/performance.md).
//
// The module holds psgm train's training loop (TrainingLoop.hpp) and psgm sample's
// library call (SamplingCall.hpp) for score::LibTorch; the executable the same for
// score::Native. It calls back into the executable (progress, interrupts,
// MPI state), which exports its symbols for it (ENABLE_EXPORTS).
#pragma once

#include <psgm/Config.hpp>

#include <string>

namespace psgm {
namespace workflow {
struct SampleResult;
}
namespace cli {
namespace training {
struct Settings;
struct Options;
}  // namespace training
namespace sampling {
struct Request;
}  // namespace sampling

/// What the module provides.
struct TorchCommands {
  /// PSGM_CLI_TORCH_ABI of the module's build: must equal the executable's.
  char const* abi;
  int (*train_float)(training::Settings const&, training::Options const&);
  int (*train_double)(training::Settings const&, training::Options const&);
  workflow::SampleResult (*sample)(sampling::Request const&);
};

/// The module's table, loaded on the first call. psgm::InvalidArgument when
/// this psgm was built without LibTorch; psgm::Error saying which file and
/// why when the module is missing, does not load or is of another build.
/// `who` names the command in messages ("psgm train").
TorchCommands const& torch_commands(std::string const& who);

/// For psgm info -v: the module's path and whether it loads.
std::string torch_module_report();

}  // namespace cli
}  // namespace psgm

/// The module and the executable must agree on the structures above: same
/// version, compiler and layouts.
#define PSGM_CLI_TORCH_ABI                                                                        \
  (PSGM_VERSION_STRING "/" __VERSION__ "/" PSGM_CLI_TORCH_STR(__cplusplus) "/" PSGM_CLI_TORCH_STR( \
      PSGM_ENABLE_MPI))
#define PSGM_CLI_TORCH_STR_(x) #x
#define PSGM_CLI_TORCH_STR(x) PSGM_CLI_TORCH_STR_(x)

// The module psgm_cli_torch (src/cli/TorchModule.hpp): psgm train's and psgm
// sample's LibTorch paths, opened by the psgm executable on first use.
#include "SamplingCall.hpp"
#include "TorchModule.hpp"
#include "TrainingLoop.hpp"

#include <psgm/score/Backend.hpp>
#include <psgm/torch/TorchScoreModel.hpp>
#include <psgm/torch/TorchTrainableModel.hpp>

namespace {

template <class Scalar>
int train(psgm::cli::training::Settings const& s, psgm::cli::training::Options const& o) {
  return psgm::cli::training::run<psgm::score::TrainableModel<psgm::score::LibTorch, Scalar>>(s, o);
}

psgm::workflow::SampleResult sample(psgm::cli::sampling::Request const& r) {
  return psgm::cli::sampling::run(psgm::score::LibTorch{}, r);
}

}  // namespace

extern "C" __attribute__((visibility("default"))) psgm::cli::TorchCommands const* psgm_cli_torch_commands() {
  static psgm::cli::TorchCommands const table{PSGM_CLI_TORCH_ABI, &train<float>, &train<double>, &sample};
  return &table;
}

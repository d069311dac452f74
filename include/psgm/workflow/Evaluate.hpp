// psgm evaluate as a library call: model samples against a PDE data set,
// every metric beside its noise floor, written as metrics.md, metrics.csv,
// qoi.csv and evaluation.h5 (docs/metrics.md; docs/workflow.md). The floor,
// when no file gives it, is fresh PDE ensembles drawn and solved by
// workflow::EnsembleGenerator. Available when psgm is built with
// PSGM_ENABLE_HDF5.
//
//   psgm::workflow::EvaluateOptions o;
//   o.request.model_path = "samples.h5"; o.request.data_path = "heldout.h5";
//   o.output = "report";
//   auto r = psgm::workflow::evaluate(space, o);   // r.result (per condition), r.files
#pragma once

#include <psgm/core/ExecutionSpaces.hpp>
#include <psgm/stats/Evaluation.hpp>

#include <string>
#include <vector>

namespace psgm::workflow {

struct EvaluateOptions {
  stats::EvaluationRequest request;  ///< the files, the metrics' options, the floor's size and seed
  std::string output;                ///< directory for the tables and evaluation.h5 (created if missing)
  bool overwrite = false;            ///< replace existing outputs (else psgm::IoError before any work is written)
  std::string config_toml;           ///< the caller's configuration, recorded in the outputs (may be empty)
};

struct EvaluateResult {
  stats::EvaluationResult result;
  std::vector<std::string> files;  ///< what was written (stats::evaluation_output_paths)
};

/// The generated noise floor of stats::evaluate_files, by
/// EnsembleGenerator (one generator for the whole evaluation, built on the
/// first condition).
template <class ExecSpace>
stats::FloorEnsemble<ExecSpace> floor_ensemble();

/// Evaluates and writes the outputs. `progress` (conditions done, in total,
/// a message) may throw to stop the run: nothing is written then.
template <class ExecSpace>
EvaluateResult evaluate(ExecSpace const& space, EvaluateOptions const& options,
                        stats::EvaluationProgress const& progress = {});

}  // namespace psgm::workflow

#define PSGM_WORKFLOW_EVALUATE_ETI(Space)                                                                  \
  extern template psgm::stats::FloorEnsemble<Space> psgm::workflow::floor_ensemble<Space>();               \
  extern template psgm::workflow::EvaluateResult psgm::workflow::evaluate<Space>(                          \
      Space const&, psgm::workflow::EvaluateOptions const&, psgm::stats::EvaluationProgress const&);
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_WORKFLOW_EVALUATE_ETI)
#undef PSGM_WORKFLOW_EVALUATE_ETI

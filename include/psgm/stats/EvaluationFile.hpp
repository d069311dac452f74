// The evaluation file: everything behind the figures and tables of an
// evaluation, in HDF5 (`format = "psgm-evaluation"`, version 1;
// docs/metrics.md §6 lists the layout). Readable with h5py and no psgm code;
// python/psgm/report_figures.py draws the figures from it. Available when
// psgm is built with PSGM_ENABLE_HDF5 (psgm/Config.hpp: PSGM_HAS_HDF5).
#pragma once

#include <psgm/stats/Metrics.hpp>
#include <psgm/stats/Report.hpp>

#include <string>
#include <vector>

namespace psgm::stats {

inline constexpr char const* evaluation_format = "psgm-evaluation";
inline constexpr int evaluation_format_version = 1;

/// Writes the evaluation to `path` atomically (a temporary file beside it,
/// renamed at the end). `x` are the cell centres (N). psgm::IoError when
/// `path` exists and `overwrite` is false or the directory is not writable;
/// psgm::InvalidArgument for no evaluations or inconsistent grids.
void write_evaluation_file(std::string const& path, std::vector<double> const& x,
                           std::vector<ConditionEvaluation> const& evaluations, MetricsOptions const& options,
                           EvaluationProvenance const& provenance, bool overwrite = false);

}  // namespace psgm::stats

// Tables of an evaluation (docs/metrics.md §5): the metrics of every
// condition beside their noise floors, as CSV (one row per condition and
// field; one row per condition for the QoI) and as a markdown report with a
// summary over conditions. Host-only.
#pragma once

#include <psgm/pde/Conditions.hpp>
#include <psgm/stats/Metrics.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace psgm::stats {

/// The comparison at one condition of an evaluation.
struct ConditionEvaluation {
  pde::Condition condition;          ///< the porous electrode's (l, U0, F_right); unused when condition_values is set
  std::int64_t condition_index = 0;  ///< row of /conditions in the PDE data set
  EnsembleComparison comparison;
  /// The same comparison for the baseline ensemble (the conditional Gaussian
  /// emulator's samples), with the same PDE ensemble and noise floor; empty
  /// when the evaluation had no baseline.
  std::optional<EnsembleComparison> baseline;
  /// The condition in the data set's own columns (docs/data.md §7); empty: the
  /// porous electrode's `condition`.
  std::vector<double> condition_values;
  std::vector<std::string> condition_names;  ///< one per value
  std::vector<std::string> condition_units;  ///< one per value
};

/// Where the ensembles of an evaluation came from (printed in the report,
/// stored as attributes of the evaluation file).
struct EvaluationProvenance {
  std::string model_path;    ///< the model-samples file
  std::string data_path;     ///< the PDE data set
  std::string floor_source;  ///< "file <path>" or "generated (seed S, ...)"
  std::string baseline_path; ///< the baseline's samples (the Gaussian emulator's); empty: none
  std::string config_toml;   ///< the effective configuration
  /// What the user must know about the inputs (failed samples per condition,
  /// conditions not evaluated); listed in metrics.md.
  std::vector<std::string> notes;
};

/// CSV, one row per condition and field, columns (the condition columns are
/// the data set's; l,U0,F_right for the porous electrode)
///   condition_index,l,U0,F_right,field,n_model,n_pde,n_floor,pinned_points,
///   then <metric>,<metric>_floor for every metric of Metric, and with a
///   baseline n_baseline and <metric>_baseline after them.
std::string metrics_csv(std::vector<ConditionEvaluation> const& evaluations);

/// CSV, one row per condition: condition_index,l,U0,F_right,c_crit,c_crit_from_data,
///   p_pde,p_pde_lower,p_pde_upper,p_model,...,p_floor,...,error,error_floor
///   (and p_baseline,...,error_baseline with a baseline). Without a QoI (data
///   sets other than the porous electrode's) one comment line that says so.
std::string qoi_csv(std::vector<ConditionEvaluation> const& evaluations);

/// A markdown report: provenance and options, a summary over conditions
/// (mean of every metric and of its floor), per-condition tables for c and φ
/// with each metric beside its floor, and the QoI table.
std::string metrics_markdown(std::vector<ConditionEvaluation> const& evaluations, MetricsOptions const& options,
                             EvaluationProvenance const& provenance);

/// Averages over conditions of one metric of one field: {model, floor}.
/// For energy_p_value: the fractions of conditions with p < 0.01.
std::pair<double, double> summarize_metric(std::vector<ConditionEvaluation> const& evaluations, int field,
                                           Metric metric);
/// The same average for the baseline (NaN when there is none).
double summarize_baseline(std::vector<ConditionEvaluation> const& evaluations, int field, Metric metric);
/// Whether every evaluation has a baseline comparison.
bool has_baseline(std::vector<ConditionEvaluation> const& evaluations);

}  // namespace psgm::stats

// Evaluation of sampled fields against a PDE data set, file to file
// (docs/metrics.md §4): what `psgm evaluate` and the pipeline run.
//
// For every condition of the model-samples file that the PDE data set also
// holds (matched by value), the model ensemble is compared with the PDE
// ensemble (status ok only) by psgm::stats::EnsembleComparator, and with a
// noise-floor PDE ensemble of the model's size: read from a third file, or
// generated on the fly with the physics stored in the PDE data set
// (psgm::io::electrode_parameters_from / porosity_model_from) and fresh
// porosity draws that no data set of that seed uses, by the FloorEnsemble
// the caller gives (psgm::workflow::evaluate's draws and solves). Available when psgm is
// built with PSGM_ENABLE_HDF5.
#pragma once

#include <psgm/core/ExecutionSpaces.hpp>
#include <psgm/core/Status.hpp>
#include <psgm/gp/PorosityModel.hpp>
#include <psgm/pde/Conditions.hpp>
#include <psgm/pde/ElectrodeParameters.hpp>
#include <psgm/stats/Metrics.hpp>
#include <psgm/stats/Report.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace psgm::stats {

/// Porosity items of generated noise-floor fields start here (stream
/// `porosity`): condition row m, realisation r uses item
/// floor_item_offset + m · 2^20 + r, far beyond the items m R + r that
/// `psgm generate` uses, so the floor is independent of every data set drawn
/// with the same seed.
inline constexpr std::uint64_t floor_item_offset = std::uint64_t(1) << 40;
inline constexpr std::int64_t max_floor_samples = std::int64_t(1) << 20;

struct EvaluationRequest {
  std::string model_path;  ///< model samples (data set layout; `psgm sample` output)
  std::string data_path;   ///< PDE data set with the same conditions
  /// Noise-floor PDE ensemble file (data set layout); empty: generate it.
  std::string floor_path;
  /// A baseline's samples at the same conditions (the conditional Gaussian
  /// emulator's, `psgm sample -m emulator.h5`), compared with the same PDE
  /// ensembles and floors; empty: none.
  std::string baseline_path;
  /// Seed of generated floor fields; unset: the PDE data set's `seed` attribute.
  std::optional<std::uint64_t> floor_seed;
  /// Generated floor realisations per condition; 0: as many as the model has there.
  std::int64_t floor_samples = 0;
  /// Evaluate at most this many matched conditions (in the model file's order); 0: all.
  std::int64_t max_conditions = 0;
  MetricsOptions metrics;  ///< evaluation_index is set per condition (its position)
};

/// Progress of an evaluation: (conditions done, conditions in total, a
/// message); called with 0 done before the first condition, then after each.
using EvaluationProgress = std::function<void(std::int64_t, std::int64_t, std::string const&)>;

/// Which of the K matched conditions one call of evaluate_files() evaluates:
/// block `index` of `count` contiguous blocks, in order, sizes differing by
/// at most one (the first K mod count blocks one larger; the split of
/// psgm::workflow::Shard, except that a block may be empty when count > K).
/// {0, 1}, the default: all of them. psgm::mpi::evaluate gives rank r of n
/// block r of n. A condition's metrics do not depend on the block it is
/// evaluated in: its permutation stream is its position among the K.
struct ConditionBlock {
  std::int64_t index = 0;
  std::int64_t count = 1;
  /// psgm::InvalidArgument unless count >= 1 and 0 <= index < count.
  void validate() const;
  bool is_whole() const { return count == 1; }
  /// [first, last) of `total` conditions.
  std::pair<std::int64_t, std::int64_t> range(std::int64_t total) const;
};

struct EvaluationResult {
  std::vector<double> x;                       ///< cell centres
  /// One per matched condition evaluated: conditions first_condition ...
  /// first_condition + conditions.size() - 1 of total_conditions (all of
  /// them unless a ConditionBlock selected fewer).
  std::vector<ConditionEvaluation> conditions;
  std::int64_t first_condition = 0;
  std::int64_t total_conditions = 0;  ///< K: the matched conditions (at most max_conditions)
  EvaluationProvenance provenance;              ///< config_toml left empty for the caller
  std::int64_t unmatched_conditions = 0;        ///< model conditions without PDE data (skipped)
  std::int64_t dropped_pde_samples = 0;         ///< PDE samples with status != ok (not used)
  std::int64_t dropped_model_samples = 0;       ///< model samples with status != ok (not used)
  /// Floor samples with status != ok (not used), of the conditions evaluated
  /// (the other counts are of all matched conditions, whatever the block).
  std::int64_t dropped_floor_samples = 0;
  std::int64_t dropped_baseline_samples = 0;    ///< baseline samples with status != ok (not used)
  std::int64_t failed_model_conditions = 0;     ///< model conditions where every sample failed (not evaluated)
  std::vector<std::string> notes;               ///< warnings worth showing the user (also in metrics.md)
};

/// What a generated noise floor of one condition is: `count` fresh PDE
/// realisations at `condition` (data row `row`) with the data set's physics
/// and porosity model, porosity items floor_item_offset + row · 2^20 + r of
/// `seed`; at most `max_count` per condition in the whole evaluation.
struct FloorEnsembleRequest {
  pde::ElectrodeParameters params;
  gp::PorosityModel porosity;
  std::vector<double> x;  ///< the data set's grid
  std::uint64_t seed = 0;
  std::int64_t max_count = 0;
  pde::Condition condition;
  std::int64_t row = 0;
  std::int64_t count = 0;
};
/// Draws and solves such an ensemble into `fields` (count, C, N) and
/// `status` (count), on the device, asynchronously on `space`.
/// psgm::workflow::evaluate supplies it (workflow::EnsembleGenerator, the
/// layer above this one).
template <class ExecSpace>
using FloorEnsemble = std::function<void(
    ExecSpace const&, FloorEnsembleRequest const&,
    Kokkos::View<double***, Kokkos::LayoutRight, typename ExecSpace::memory_space>,
    Kokkos::View<SolveStatus*, typename ExecSpace::memory_space>)>;

/// Runs the evaluation on `space`. psgm::IoError for unreadable files;
/// psgm::InvalidArgument for different grids, no matching condition, too few
/// samples at a condition (< 2 after dropping failed ones), a data set whose
/// porosity came from a file when the floor must be generated, or no floor
/// file and no `floor` to generate one (psgm::workflow::evaluate gives one).
///
/// Every call checks all K conditions (the same errors for every block), but
/// reads, draws and compares only those of `block`, and reports progress
/// over them. The result of a partial block leaves out the closing notes on
/// samples left out: whoever joins the blocks calls note_left_out_samples()
/// once on the joined result (evaluate_files does for the whole block).
template <class ExecSpace>
EvaluationResult evaluate_files(ExecSpace const& space, EvaluationRequest const& request,
                                EvaluationProgress const& progress = {}, FloorEnsemble<ExecSpace> const& floor = {},
                                ConditionBlock const& block = {});

/// Appends to result.notes one note per kind of sample left out (the
/// dropped_* counts) and copies the notes into result.provenance.
void note_left_out_samples(EvaluationResult& result);

/// The files write_evaluation_outputs() writes into `directory`:
/// metrics.md, metrics.csv, qoi.csv, evaluation.h5 (in that order).
std::vector<std::string> evaluation_output_paths(std::string const& directory);

/// Writes metrics.md, metrics.csv, qoi.csv and evaluation.h5 into `directory`
/// (created if missing); returns their paths. psgm::IoError when a file
/// exists and `overwrite` is false.
std::vector<std::string> write_evaluation_outputs(std::string const& directory, EvaluationResult const& result,
                                                  MetricsOptions const& options, bool overwrite = false);

/// Draws the figures of an evaluation file with python/psgm/report_figures.py
/// (Debian's python3 with matplotlib, h5py and numpy) into `directory`.
/// The interpreter is $PSGM_PYTHON, else /usr/bin/python3, else python3 on
/// PATH; the script is looked for in $PSGM_PYTHON_DIR, the source tree psgm
/// was built from, and the installed share/psgm/python. Never throws for a
/// missing interpreter, module or script: `ran` is false and `message` says
/// what is missing.
struct FiguresResult {
  bool ran = false;
  std::string message;             ///< what happened, for the user
  std::vector<std::string> files;  ///< PNG files written
};
FiguresResult draw_report_figures(std::string const& evaluation_file, std::string const& directory);

}  // namespace psgm::stats

#define PSGM_STATS_EVALUATION_ETI(Space)                                                                   \
  extern template psgm::stats::EvaluationResult psgm::stats::evaluate_files<Space>(                        \
      Space const&, psgm::stats::EvaluationRequest const&, psgm::stats::EvaluationProgress const&,         \
      psgm::stats::FloorEnsemble<Space> const&, psgm::stats::ConditionBlock const&);
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_STATS_EVALUATION_ETI)
#undef PSGM_STATS_EVALUATION_ETI

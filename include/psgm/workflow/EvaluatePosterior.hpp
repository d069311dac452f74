// psgm evaluate --observe as a library call (docs/posterior.md §4): posterior
// samples (psgm sample --observe) against the importance-sampled PDE
// posterior of a large PDE ensemble at the same condition(s), every metric
// beside the reference's own noise floor (psgm/posterior/Reference.hpp).
// Available when psgm is built with PSGM_ENABLE_HDF5.
//
//   psgm::workflow::PosteriorEvaluateOptions o;
//   o.samples_path = "post.h5"; o.reference_path = "ref.h5";
//   o.observations = psgm::posterior::read_observations_csv("probes.csv", {"c", "phi"});
//   auto r = psgm::workflow::evaluate_posterior(space, o);
//   for (auto const& c : r.conditions) if (!c.comparison.judged) std::cerr << c.comparison.message;
#pragma once

#include <psgm/core/ExecutionSpaces.hpp>
#include <psgm/posterior/Observations.hpp>
#include <psgm/posterior/Reference.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace psgm::workflow {

struct PosteriorEvaluateOptions {
  std::string samples_path;    ///< the posterior samples (a data set; psgm sample --observe writes one)
  std::string reference_path;  ///< PDE fields at the samples' condition(s), 1e5 or more per condition
  std::vector<posterior::Observation> observations;  ///< the probes the samples were drawn given
  posterior::PosteriorReferenceOptions reference;    ///< ESS threshold, floor resamplings, seed, band
};

struct PosteriorConditionResult {
  std::int64_t samples_row = 0;    ///< the condition's row in the samples file
  std::int64_t reference_row = 0;  ///< the same condition's row in the reference
  std::string description;         ///< "l = ..., U0 = ..., F_right = ..."
  posterior::PosteriorComparison comparison;
};

struct PosteriorEvaluateResult {
  std::vector<std::string> channels;      ///< the data's channel names
  bool observations_recorded = false;     ///< the samples file recorded its observations (and they matched)
  std::vector<PosteriorConditionResult> conditions;  ///< every condition of the samples file with samples
  /// Every condition judged (no ESS below the threshold).
  bool judged() const {
    for (auto const& c : conditions)
      if (!c.comparison.judged) return false;
    return !conditions.empty();
  }
};

/// The observations recorded in a samples file (root attribute
/// `observations`, CSV, written by psgm sample --observe), parsed with the
/// file's channel names; empty when the file records none.
std::vector<posterior::Observation> recorded_observations(std::string const& samples_path);

/// psgm::InvalidArgument naming the first difference unless `given` and
/// `recorded` are the same probes in the same order (channel exactly;
/// position, value and noise to relative 1e-12). `where` names the file.
void require_same_observations(std::vector<posterior::Observation> const& given,
                               std::vector<posterior::Observation> const& recorded, std::string const& where);

/// For every condition of the samples file, its samples (status ok) against
/// the reference's PDE fields (status ok) at the same condition, weighted by
/// the observations. psgm::InvalidArgument for no observations, grids that
/// differ, a condition the reference lacks, observations that differ from
/// those the samples file records; psgm::IoError for unreadable files. An ESS
/// below the threshold is no error: that condition's comparison is not
/// judged and says why. Profiling region "psgm::workflow::evaluate_posterior".
template <class ExecSpace>
PosteriorEvaluateResult evaluate_posterior(ExecSpace const& space, PosteriorEvaluateOptions const& options);

}  // namespace psgm::workflow

#define PSGM_WORKFLOW_EVALUATE_POSTERIOR_ETI(Space)                                                    \
  extern template psgm::workflow::PosteriorEvaluateResult psgm::workflow::evaluate_posterior<Space>( \
      Space const&, psgm::workflow::PosteriorEvaluateOptions const&);
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_WORKFLOW_EVALUATE_POSTERIOR_ETI)
#undef PSGM_WORKFLOW_EVALUATE_POSTERIOR_ETI

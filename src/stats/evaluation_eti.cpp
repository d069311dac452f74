// Explicit instantiations of psgm::stats::evaluate_files for every enabled
// execution space (docs/design.md §2, ETI).
#include <psgm/stats/impl/Evaluation_Impl.hpp>

#define PSGM_STATS_EVALUATION_ETI(Space)                                                                   \
  template psgm::stats::EvaluationResult psgm::stats::evaluate_files<Space>(                               \
      Space const&, psgm::stats::EvaluationRequest const&, psgm::stats::EvaluationProgress const&,         \
      psgm::stats::FloorEnsemble<Space> const&, psgm::stats::ConditionBlock const&);
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_STATS_EVALUATION_ETI)
#undef PSGM_STATS_EVALUATION_ETI

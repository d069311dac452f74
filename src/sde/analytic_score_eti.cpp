// Explicit instantiation of the analytic score models for every enabled execution space.
#include <psgm/sde/impl/AnalyticScore_Impl.hpp>

#define PSGM_SDE_ANALYTIC_SCORE_ETI(Space)                      \
  template class psgm::sde::AnalyticScore<Space, double>; \
  template class psgm::sde::AnalyticScore<Space, float>;
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_SDE_ANALYTIC_SCORE_ETI)
#undef PSGM_SDE_ANALYTIC_SCORE_ETI

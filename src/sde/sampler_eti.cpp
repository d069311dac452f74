// Explicit instantiation of the samplers over the analytic score models, for
// every enabled execution space (tests and benchmarks link these).
#include <psgm/sde/impl/AnalyticScore_Impl.hpp>
#include <psgm/sde/impl/Sampler_Impl.hpp>

#define PSGM_SDE_SAMPLER_ETI(Space)                                              \
  template class psgm::sde::Sampler<psgm::sde::AnalyticScore<Space, double>>; \
  template class psgm::sde::Sampler<psgm::sde::AnalyticScore<Space, float>>;
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_SDE_SAMPLER_ETI)
#undef PSGM_SDE_SAMPLER_ETI

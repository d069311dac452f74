// Explicit instantiation of the samplers over the native Kokkos score models
// (float and double, every enabled execution space), so that programs that
// sample native models (psgm sample, the examples, users' codes) link them
// instead of compiling the sampler kernels themselves.
#include <psgm/score/NativeScoreModel.hpp>
#include <psgm/sde/impl/Sampler_Impl.hpp>

#define PSGM_SDE_SAMPLER_NATIVE_ETI(Space)                                                  \
  template class psgm::sde::Sampler<psgm::score::ScoreModel<psgm::score::Native<Space>, float>>; \
  template class psgm::sde::Sampler<psgm::score::ScoreModel<psgm::score::Native<Space>, double>>;
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_SDE_SAMPLER_NATIVE_ETI)
#undef PSGM_SDE_SAMPLER_NATIVE_ETI

// Explicit instantiation of the posterior sampler over the native score
// models (float and double, every enabled execution space; EDM Heun), so
// that psgm sample --observe and users' codes link it.
#include <psgm/posterior/impl/PosteriorSampler_Impl.hpp>
#include <psgm/score/NativeScoreModel.hpp>

#define PSGM_POSTERIOR_SAMPLER_NATIVE_ETI(Space)                                                                   \
  template class psgm::sde::Sampler<                                                                              \
      psgm::posterior::GuidedScore<psgm::score::ScoreModel<psgm::score::Native<Space>, float>>, psgm::sde::EdmHeun>; \
  template class psgm::sde::Sampler<                                                                              \
      psgm::posterior::GuidedScore<psgm::score::ScoreModel<psgm::score::Native<Space>, double>>,                  \
      psgm::sde::EdmHeun>;                                                                                        \
  template class psgm::posterior::PosteriorSampler<psgm::score::ScoreModel<psgm::score::Native<Space>, float>,   \
                                                   psgm::sde::EdmHeun>;                                         \
  template class psgm::posterior::PosteriorSampler<psgm::score::ScoreModel<psgm::score::Native<Space>, double>,  \
                                                   psgm::sde::EdmHeun>;
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_POSTERIOR_SAMPLER_NATIVE_ETI)
#undef PSGM_POSTERIOR_SAMPLER_NATIVE_ETI

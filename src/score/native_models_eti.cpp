// Explicit instantiation of the native score backend's models,
// ScoreModel<Native<Space>, Scalar> and TrainableModel<Native<Space>, Scalar>,
// for float and double on every enabled execution space.
#include <psgm/score/impl/NativeScoreModel_Impl.hpp>
#include <psgm/score/impl/NativeTrainableModel_Impl.hpp>

#define PSGM_SCORE_NATIVE_MODELS_ETI(Space)                                      \
  template class psgm::score::ScoreModel<psgm::score::Native<Space>, float>;     \
  template class psgm::score::ScoreModel<psgm::score::Native<Space>, double>;    \
  template class psgm::score::TrainableModel<psgm::score::Native<Space>, float>; \
  template class psgm::score::TrainableModel<psgm::score::Native<Space>, double>;
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_SCORE_NATIVE_MODELS_ETI)
#undef PSGM_SCORE_NATIVE_MODELS_ETI

// Explicit instantiation of the samplers over the LibTorch score models
// (float and double, on the host execution space LibTorch runs on), in
// libpsgm_torch, so that programs sampling LibTorch models link them.
#include <psgm/sde/impl/Sampler_Impl.hpp>
#include <psgm/torch/TorchScoreModel.hpp>

template class psgm::sde::Sampler<psgm::score::ScoreModel<psgm::score::LibTorch, float>>;
template class psgm::sde::Sampler<psgm::score::ScoreModel<psgm::score::LibTorch, double>>;

// The posterior sampler over the LibTorch score models (EDM Heun; psgm
// sample --observe), in the same translation unit: LibTorch's headers are
// parsed once.
#include <psgm/posterior/impl/PosteriorSampler_Impl.hpp>

template class psgm::sde::Sampler<psgm::posterior::GuidedScore<psgm::score::ScoreModel<psgm::score::LibTorch, float>>,
                                  psgm::sde::EdmHeun>;
template class psgm::sde::Sampler<psgm::posterior::GuidedScore<psgm::score::ScoreModel<psgm::score::LibTorch, double>>,
                                  psgm::sde::EdmHeun>;
template class psgm::posterior::PosteriorSampler<psgm::score::ScoreModel<psgm::score::LibTorch, float>,
                                                 psgm::sde::EdmHeun>;
template class psgm::posterior::PosteriorSampler<psgm::score::ScoreModel<psgm::score::LibTorch, double>,
                                                 psgm::sde::EdmHeun>;

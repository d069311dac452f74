// Explicit instantiation of the porosity sampler for every enabled execution
// space (docs/design.md, ETI).
#include <psgm/gp/impl/PorositySampler_Impl.hpp>

#define PSGM_GP_POROSITY_SAMPLER_INST(Space) template class psgm::gp::PorositySampler<Space>;
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_GP_POROSITY_SAMPLER_INST)
#undef PSGM_GP_POROSITY_SAMPLER_INST

// Explicit instantiations of psgm::workflow::generate for every enabled
// execution space (docs/design.md, ETI).
#include <psgm/workflow/impl/Generate_Impl.hpp>

#define PSGM_WORKFLOW_GENERATE_INST(Space)                                                                   \
  template psgm::workflow::GeneratePlan psgm::workflow::plan_generate<Space>(                                \
      Space const&, psgm::workflow::GenerateOptions const&);                                                 \
  template psgm::workflow::GenerateResult psgm::workflow::generate<Space>(                                   \
      Space const&, psgm::workflow::GenerateOptions const&, psgm::workflow::Progress const&);
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_WORKFLOW_GENERATE_INST)
#undef PSGM_WORKFLOW_GENERATE_INST

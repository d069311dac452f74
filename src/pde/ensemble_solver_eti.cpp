// Explicit instantiation of the ensemble solver for every enabled execution
// space (docs/design.md, ETI).
#include <psgm/pde/impl/EnsembleSolver_Impl.hpp>

#define PSGM_PDE_ENSEMBLE_SOLVER_INST(Space)  \
  template class psgm::pde::EnsembleSolver<Space>; \
  template void psgm::pde::check_porosity<Space>(Space const&, psgm::pde::EnsembleSolver<Space>::porosity_view);
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_PDE_ENSEMBLE_SOLVER_INST)
#undef PSGM_PDE_ENSEMBLE_SOLVER_INST

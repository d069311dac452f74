// Explicit instantiation of the ensemble solver for every enabled execution
// space (docs/design.md, ETI).
#include <psgm/pde/impl/EnsembleSolver_Impl.hpp>

namespace psgm::pde {

char const* to_string(SolverKernels kernels) {
  switch (kernels) {
    case SolverKernels::automatic: return "automatic";
    case SolverKernels::portable: return "portable";
    case SolverKernels::host_avx512: return "host_avx512";
    case SolverKernels::host_avx2: return "host_avx2";
    case SolverKernels::host_baseline: return "host_baseline";
  }
  return "unknown";
}

}  // namespace psgm::pde

#define PSGM_PDE_ENSEMBLE_SOLVER_INST(Space)  \
  template class psgm::pde::EnsembleSolver<Space>; \
  template void psgm::pde::check_porosity<Space>(Space const&, psgm::pde::EnsembleSolver<Space>::porosity_view);
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_PDE_ENSEMBLE_SOLVER_INST)
#undef PSGM_PDE_ENSEMBLE_SOLVER_INST

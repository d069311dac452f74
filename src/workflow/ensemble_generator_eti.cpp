// Explicit instantiations of the ensemble generator for every enabled
// execution space (docs/design.md, ETI), and its host-only helpers.
#include <psgm/workflow/impl/EnsembleGenerator_Impl.hpp>

#include <algorithm>

namespace psgm::workflow {

std::vector<RealisationBlock> realisation_blocks(std::vector<pde::Condition> const& conditions,
                                                 std::int64_t per_condition, std::int64_t first, std::int64_t last) {
  std::int64_t const total = static_cast<std::int64_t>(conditions.size()) * per_condition;
  require(per_condition >= 1, "realisation_blocks: per_condition = ", per_condition, " must be >= 1");
  require(0 <= first && first <= last && last <= total, "realisation_blocks: realisations [", first, ", ", last,
          ") do not lie in [0, ", total, ")");
  std::vector<RealisationBlock> blocks;
  for (std::int64_t i = first; i < last;) {
    std::int64_t const m = i / per_condition, r = i % per_condition;
    std::int64_t const count = std::min(per_condition - r, last - i);
    blocks.push_back({conditions[static_cast<std::size_t>(m)], m, r, count});
    i += count;
  }
  return blocks;
}

}  // namespace psgm::workflow

#define PSGM_WORKFLOW_ENSEMBLE_GENERATOR_INST(Space)                                                \
  template class psgm::workflow::EnsembleGenerator<Space>;                                          \
  template psgm::workflow::HostEnsemble psgm::workflow::solve_ensemble<Space>(                      \
      Space const&, psgm::pde::ElectrodeParameters const&, psgm::workflow::PorositySource const&,   \
      std::vector<psgm::pde::Condition> const&, std::int64_t, psgm::workflow::PorosityItems);
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_WORKFLOW_ENSEMBLE_GENERATOR_INST)
#undef PSGM_WORKFLOW_ENSEMBLE_GENERATOR_INST

// Explicit instantiation of the importance-sampled posterior reference
// (psgm/posterior/Reference.hpp) for every enabled execution space.
#include <psgm/posterior/impl/Reference_Impl.hpp>

#include <cmath>

namespace psgm::posterior {

void PosteriorReferenceOptions::validate() const {
  require(std::isfinite(min_ess) && min_ess >= 0, "posterior reference: min_ess = ", min_ess,
          " must be finite and >= 0");
  require(floor_draws >= 1, "posterior reference: floor_draws = ", floor_draws, " must be >= 1");
  require(band_level > 0 && band_level < 1, "posterior reference: band_level = ", band_level,
          " must be in (0, 1)");
}

}  // namespace psgm::posterior

#define PSGM_POSTERIOR_REFERENCE_ETI(Space)                                                                \
  template psgm::posterior::ImportanceWeights<Space> psgm::posterior::importance_weights<Space>(           \
      Space const&, psgm::stats::const_fields_view<Space>, psgm::posterior::ObservationOperator const&);   \
  template std::vector<psgm::posterior::PosteriorMetrics> psgm::posterior::posterior_metrics<Space>(       \
      Space const&, psgm::stats::const_fields_view<Space>, psgm::stats::const_fields_view<Space>,          \
      psgm::stats::const_vector_view<Space>, double);                                                      \
  template psgm::posterior::PosteriorComparison psgm::posterior::compare_posterior<Space>(                 \
      Space const&, psgm::stats::const_fields_view<Space>, psgm::stats::const_fields_view<Space>,          \
      psgm::posterior::ObservationOperator const&, psgm::posterior::PosteriorReferenceOptions const&);
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_POSTERIOR_REFERENCE_ETI)
#undef PSGM_POSTERIOR_REFERENCE_ETI

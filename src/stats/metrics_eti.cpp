// Explicit instantiations of psgm::stats for every enabled execution space
// (docs/design.md §2, ETI).
#include <psgm/stats/impl/EnergyDistance_Impl.hpp>
#include <psgm/stats/impl/Metrics_Impl.hpp>
#include <psgm/stats/impl/Pointwise_Impl.hpp>

#define PSGM_STATS_ETI(Space)                                                                                    \
  template void psgm::stats::sort_columns<Space>(Space const&, psgm::stats::const_fields_view<Space>,            \
                                                 psgm::stats::SortedColumns<Space::memory_space>&);              \
  template void psgm::stats::column_quantiles<Space>(Space const&,                                               \
                                                     psgm::stats::SortedColumns<Space::memory_space> const&,     \
                                                     double, psgm::stats::vector_view<Space>);                   \
  template void psgm::stats::wasserstein_columns<Space>(                                                         \
      Space const&, psgm::stats::SortedColumns<Space::memory_space> const&,                                      \
      psgm::stats::SortedColumns<Space::memory_space> const&, psgm::stats::vector_view<Space>);                  \
  template void psgm::stats::band_coverage_columns<Space>(                                                       \
      Space const&, psgm::stats::const_vector_view<Space>, psgm::stats::const_vector_view<Space>,                \
      psgm::stats::SortedColumns<Space::memory_space> const&, psgm::stats::vector_view<Space>);                  \
  template void psgm::stats::sample_minimum<Space>(Space const&, psgm::stats::const_fields_view<Space>, int,     \
                                                   psgm::stats::vector_view<Space>);                             \
  template std::int64_t psgm::stats::count_non_finite<Space>(Space const&, psgm::stats::const_fields_view<Space>); \
  template class psgm::stats::EnergyDistanceTest<Space>;                                                         \
  template class psgm::stats::EnsembleComparator<Space>;
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_STATS_ETI)
#undef PSGM_STATS_ETI

// Per-grid-point statistics of ensembles of fields (docs/metrics.md §2):
// every (channel, point) pair is a "column" holding the n values the ensemble
// takes there. Columns are sorted once per ensemble; quantile bands, the
// pointwise 1-D Wasserstein distance and band coverage are then read off the
// sorted columns. Templated on the execution space; one thread per column.
//
// Ensembles are (n, C, N) LayoutRight Views (docs/design.md §3); column
// k = channel · N + i.
#pragma once

#include <psgm/core/ExecutionSpaces.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>

namespace psgm::stats {

/// An ensemble of fields, (n, C, N): channel 0 = c, 1 = φ.
template <class ExecSpace>
using const_fields_view = Kokkos::View<const double***, Kokkos::LayoutRight, typename ExecSpace::memory_space>;
/// One value per column (C · N) or per sample (n).
template <class ExecSpace>
using vector_view = Kokkos::View<double*, typename ExecSpace::memory_space>;
template <class ExecSpace>
using const_vector_view = Kokkos::View<const double*, typename ExecSpace::memory_space>;

/// An ensemble rearranged by column: the n values of each column sorted in
/// ascending order, with the column's mean and sample standard deviation
/// (divisor n - 1). `values` is (columns, n) in the memory space's default
/// layout, as Kokkos intends it for one thread per row: LayoutRight on CPUs
/// (a column is contiguous while its thread sorts it), LayoutLeft on GPUs
/// (threads of neighbouring columns touch neighbouring addresses: coalesced).
template <class MemorySpace>
struct SortedColumns {
  using memory_space = MemorySpace;
  Kokkos::View<double**, MemorySpace> values;  ///< (C · N, n), sorted along n
  Kokkos::View<double*, MemorySpace> mean;                          ///< (C · N)
  Kokkos::View<double*, MemorySpace> stddev;                        ///< (C · N), divisor n - 1 (0 for n = 1)
  int num_channels = 0;
  int num_points = 0;

  int num_columns() const { return num_channels * num_points; }
  std::int64_t num_samples() const { return static_cast<std::int64_t>(values.extent(1)); }
};

/// Sorts every column of `fields` into `out` and computes its mean and
/// standard deviation (two-pass, so c ≈ 1000 ± 5 loses no digits). `out`'s
/// Views are (re)allocated on `space` only when their extents differ, so a
/// SortedColumns reused across calls of one size allocates once.
/// psgm::InvalidArgument for an empty ensemble. Asynchronous on `space`.
template <class ExecSpace>
void sort_columns(ExecSpace const& space, const_fields_view<ExecSpace> fields,
                  SortedColumns<typename ExecSpace::memory_space>& out);

/// The p-quantile of every column, linear interpolation between order
/// statistics (Hyndman & Fan type 7, numpy's default): with h = p (n - 1),
/// q = v[⌊h⌋] + (h - ⌊h⌋)(v[⌊h⌋ + 1] - v[⌊h⌋]). `out` has one entry per
/// column. psgm::InvalidArgument for p outside [0, 1] or a wrong extent.
template <class ExecSpace>
void column_quantiles(ExecSpace const& space, SortedColumns<typename ExecSpace::memory_space> const& columns,
                      double p, vector_view<ExecSpace> out);

/// W₁ between the empirical distributions of column k of `a` and of `b`, for
/// every k: W₁ = ∫₀¹ |F_a⁻¹(u) - F_b⁻¹(u)| du, evaluated exactly by merging
/// the two step quantile functions (breakpoints i/n_a and j/n_b compared in
/// integer arithmetic). Sample sizes may differ; the column layouts must match.
template <class ExecSpace>
void wasserstein_columns(ExecSpace const& space, SortedColumns<typename ExecSpace::memory_space> const& a,
                         SortedColumns<typename ExecSpace::memory_space> const& b, vector_view<ExecSpace> out);

/// For every column k, the fraction of the values of column k of `reference`
/// that lie in the closed band [lower(k), upper(k)] (two binary searches in
/// the sorted column).
template <class ExecSpace>
void band_coverage_columns(ExecSpace const& space, const_vector_view<ExecSpace> lower,
                           const_vector_view<ExecSpace> upper,
                           SortedColumns<typename ExecSpace::memory_space> const& reference,
                           vector_view<ExecSpace> out);

/// out(s) = min_i fields(s, channel, i): e.g. min_x c of every field (channel 0).
template <class ExecSpace>
void sample_minimum(ExecSpace const& space, const_fields_view<ExecSpace> fields, int channel,
                    vector_view<ExecSpace> out);

/// Number of entries of `fields` that are NaN or infinite. Fences `space`
/// (the count is returned to the host).
template <class ExecSpace>
std::int64_t count_non_finite(ExecSpace const& space, const_fields_view<ExecSpace> fields);

}  // namespace psgm::stats

#define PSGM_STATS_POINTWISE_ETI(Space)                                                                         \
  extern template void psgm::stats::sort_columns<Space>(Space const&, psgm::stats::const_fields_view<Space>,    \
                                                        psgm::stats::SortedColumns<Space::memory_space>&);      \
  extern template void psgm::stats::column_quantiles<Space>(                                                    \
      Space const&, psgm::stats::SortedColumns<Space::memory_space> const&, double,                             \
      psgm::stats::vector_view<Space>);                                                                         \
  extern template void psgm::stats::wasserstein_columns<Space>(                                                 \
      Space const&, psgm::stats::SortedColumns<Space::memory_space> const&,                                     \
      psgm::stats::SortedColumns<Space::memory_space> const&, psgm::stats::vector_view<Space>);                 \
  extern template void psgm::stats::band_coverage_columns<Space>(                                               \
      Space const&, psgm::stats::const_vector_view<Space>, psgm::stats::const_vector_view<Space>,               \
      psgm::stats::SortedColumns<Space::memory_space> const&, psgm::stats::vector_view<Space>);                 \
  extern template void psgm::stats::sample_minimum<Space>(Space const&, psgm::stats::const_fields_view<Space>,  \
                                                          int, psgm::stats::vector_view<Space>);                \
  extern template std::int64_t psgm::stats::count_non_finite<Space>(Space const&,                               \
                                                                    psgm::stats::const_fields_view<Space>);
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_STATS_POINTWISE_ETI)
#undef PSGM_STATS_POINTWISE_ETI

// Kernels of psgm/stats/Pointwise.hpp (docs/metrics.md §2). Included by
// src/stats/metrics_eti.cpp for the enabled execution spaces; include it
// yourself for another space.
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/stats/Pointwise.hpp>
#include <psgm/stats/impl/Workspace.hpp>

#include <cstdint>

namespace psgm::stats {
namespace Impl {

/// Restores the max-heap property below `root` in row k of v, heap [0, end).
template <class View>
KOKKOS_INLINE_FUNCTION void sift_down(View const& v, int k, std::int64_t root, std::int64_t end) {
  double const x = v(k, root);
  for (;;) {
    std::int64_t child = 2 * root + 1;
    if (child >= end) break;
    if (child + 1 < end && v(k, child) < v(k, child + 1)) ++child;
    if (!(x < v(k, child))) break;
    v(k, root) = v(k, child);
    root = child;
  }
  v(k, root) = x;
}

/// Sorts row k of v[:, 0:n] ascending in place. Heapsort: O(n log n) worst
/// case, no recursion and no scratch memory, so it runs in one device thread
/// per row; the rows (grid points) provide the parallelism.
template <class View>
KOKKOS_INLINE_FUNCTION void heap_sort_row(View const& v, int k, std::int64_t n) {
  for (std::int64_t start = n / 2 - 1; start >= 0; --start) sift_down(v, k, start, n);
  for (std::int64_t end = n - 1; end > 0; --end) {
    double const top = v(k, 0);
    v(k, 0) = v(k, end);
    v(k, end) = top;
    sift_down(v, k, 0, end);
  }
}

/// Type-7 quantile of the sorted row k of v (n values).
template <class View>
KOKKOS_INLINE_FUNCTION double sorted_quantile(View const& v, int k, std::int64_t n, double p) {
  double const h = p * static_cast<double>(n - 1);
  std::int64_t lo = static_cast<std::int64_t>(math::floor(h));
  if (lo < 0) lo = 0;
  if (lo > n - 1) lo = n - 1;
  std::int64_t const hi = lo + 1 < n ? lo + 1 : n - 1;
  double const w = h - static_cast<double>(lo);
  return v(k, lo) + w * (v(k, hi) - v(k, lo));
}

/// First index in the sorted row k of v[:, 0:n] whose value is >= x
/// (strict = false) or > x (strict = true).
template <class View>
KOKKOS_INLINE_FUNCTION std::int64_t sorted_bound(View const& v, int k, std::int64_t n, double x, bool strict) {
  std::int64_t lo = 0, hi = n;
  while (lo < hi) {
    std::int64_t const mid = lo + (hi - lo) / 2;
    bool const before = strict ? !(x < v(k, mid)) : v(k, mid) < x;
    if (before)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

template <class View>
void check_columns(View const& values, int num_channels, int num_points, char const* who) {
  require(values.extent(0) == static_cast<std::size_t>(num_channels) * num_points && values.extent(1) > 0, who,
          ": the SortedColumns is empty or inconsistent (", values.extent(0), " columns for ", num_channels,
          " channels x ", num_points, " points); fill it with psgm::stats::sort_columns first");
}

}  // namespace Impl

template <class ExecSpace>
void sort_columns(ExecSpace const& space, const_fields_view<ExecSpace> fields,
                  SortedColumns<typename ExecSpace::memory_space>& out) {
  ScopedRegion region("psgm::stats::sort_columns");
  std::int64_t const n = fields.extent(0);
  int const C = fields.extent(1);
  int const N = fields.extent(2);
  require(n >= 1 && C >= 1 && N >= 1, "psgm::stats::sort_columns: the ensemble is empty (", n, " samples x ", C,
          " channels x ", N, " points); expected at least one value per column");
  int const columns = C * N;
  Impl::ensure_extents(out.values, space, "psgm::stats::sorted_columns", columns, n);
  Impl::ensure_extents(out.mean, space, "psgm::stats::column_mean", columns);
  Impl::ensure_extents(out.stddev, space, "psgm::stats::column_stddev", columns);
  out.num_channels = C;
  out.num_points = N;
  auto const values = out.values;
  auto const mean = out.mean;
  auto const stddev = out.stddev;
  Kokkos::parallel_for(
      "psgm::stats::sort_columns", Kokkos::RangePolicy<ExecSpace>(space, 0, columns), KOKKOS_LAMBDA(int k) {
        int const ch = k / N;
        int const i = k - ch * N;
        double sum = 0.0;
        for (std::int64_t s = 0; s < n; ++s) {
          double const v = fields(s, ch, i);
          values(k, s) = v;
          sum += v;
        }
        double const m = sum / static_cast<double>(n);
        double ss = 0.0;
        for (std::int64_t s = 0; s < n; ++s) {
          double const d = values(k, s) - m;
          ss += d * d;
        }
        mean(k) = m;
        stddev(k) = n > 1 ? math::sqrt(ss / static_cast<double>(n - 1)) : 0.0;
        Impl::heap_sort_row(values, k, n);
      });
}

template <class ExecSpace>
void column_quantiles(ExecSpace const& space, SortedColumns<typename ExecSpace::memory_space> const& columns,
                      double p, vector_view<ExecSpace> out) {
  ScopedRegion region("psgm::stats::column_quantiles");
  require(p >= 0.0 && p <= 1.0, "psgm::stats::column_quantiles: p = ", p, " must lie in [0, 1]");
  Impl::check_columns(columns.values, columns.num_channels, columns.num_points, "psgm::stats::column_quantiles");
  int const K = columns.num_columns();
  require(out.extent(0) == static_cast<std::size_t>(K), "psgm::stats::column_quantiles: out has ", out.extent(0),
          " entries, expected one per column (", K, ")");
  auto const values = columns.values;
  std::int64_t const n = columns.num_samples();
  Kokkos::parallel_for(
      "psgm::stats::column_quantiles", Kokkos::RangePolicy<ExecSpace>(space, 0, K),
      KOKKOS_LAMBDA(int k) { out(k) = Impl::sorted_quantile(values, k, n, p); });
}

template <class ExecSpace>
void wasserstein_columns(ExecSpace const& space, SortedColumns<typename ExecSpace::memory_space> const& a,
                         SortedColumns<typename ExecSpace::memory_space> const& b, vector_view<ExecSpace> out) {
  ScopedRegion region("psgm::stats::wasserstein_columns");
  Impl::check_columns(a.values, a.num_channels, a.num_points, "psgm::stats::wasserstein_columns");
  Impl::check_columns(b.values, b.num_channels, b.num_points, "psgm::stats::wasserstein_columns");
  require(a.num_channels == b.num_channels && a.num_points == b.num_points,
          "psgm::stats::wasserstein_columns: the ensembles have different grids (", a.num_channels, " x ",
          a.num_points, " and ", b.num_channels, " x ", b.num_points, " channels x points)");
  int const K = a.num_columns();
  require(out.extent(0) == static_cast<std::size_t>(K), "psgm::stats::wasserstein_columns: out has ",
          out.extent(0), " entries, expected one per column (", K, ")");
  auto const va = a.values;
  auto const vb = b.values;
  std::int64_t const na = a.num_samples();
  std::int64_t const nb = b.num_samples();
  Kokkos::parallel_for(
      "psgm::stats::wasserstein_columns", Kokkos::RangePolicy<ExecSpace>(space, 0, K), KOKKOS_LAMBDA(int k) {
        // The quantile functions are steps with breakpoints i/na and j/nb;
        // measured in units of 1/(na nb) they are the integers i nb and j na,
        // so the merge compares them exactly.
        std::int64_t i = 0, j = 0, at = 0;
        double total = 0.0;
        while (i < na && j < nb) {
          std::int64_t const next_a = (i + 1) * nb;
          std::int64_t const next_b = (j + 1) * na;
          std::int64_t const next = next_a < next_b ? next_a : next_b;
          total += static_cast<double>(next - at) * math::fabs(va(k, i) - vb(k, j));
          at = next;
          if (next_a == next) ++i;
          if (next_b == next) ++j;
        }
        out(k) = total / (static_cast<double>(na) * static_cast<double>(nb));
      });
}

template <class ExecSpace>
void band_coverage_columns(ExecSpace const& space, const_vector_view<ExecSpace> lower,
                           const_vector_view<ExecSpace> upper,
                           SortedColumns<typename ExecSpace::memory_space> const& reference,
                           vector_view<ExecSpace> out) {
  ScopedRegion region("psgm::stats::band_coverage_columns");
  Impl::check_columns(reference.values, reference.num_channels, reference.num_points,
                      "psgm::stats::band_coverage_columns");
  int const K = reference.num_columns();
  require(lower.extent(0) == static_cast<std::size_t>(K) && upper.extent(0) == static_cast<std::size_t>(K) &&
              out.extent(0) == static_cast<std::size_t>(K),
          "psgm::stats::band_coverage_columns: lower, upper and out have ", lower.extent(0), ", ", upper.extent(0),
          " and ", out.extent(0), " entries, expected one per column (", K, ")");
  auto const values = reference.values;
  std::int64_t const n = reference.num_samples();
  Kokkos::parallel_for(
      "psgm::stats::band_coverage_columns", Kokkos::RangePolicy<ExecSpace>(space, 0, K), KOKKOS_LAMBDA(int k) {
        std::int64_t const first = Impl::sorted_bound(values, k, n, lower(k), false);
        std::int64_t const last = Impl::sorted_bound(values, k, n, upper(k), true);
        out(k) = last > first ? static_cast<double>(last - first) / static_cast<double>(n) : 0.0;
      });
}

template <class ExecSpace>
void sample_minimum(ExecSpace const& space, const_fields_view<ExecSpace> fields, int channel,
                    vector_view<ExecSpace> out) {
  ScopedRegion region("psgm::stats::sample_minimum");
  std::int64_t const n = fields.extent(0);
  int const N = fields.extent(2);
  require(channel >= 0 && channel < static_cast<int>(fields.extent(1)), "psgm::stats::sample_minimum: channel ",
          channel, " does not exist (the fields have ", fields.extent(1), " channels)");
  require(N >= 1, "psgm::stats::sample_minimum: the fields have no grid points");
  require(out.extent(0) == static_cast<std::size_t>(n), "psgm::stats::sample_minimum: out has ", out.extent(0),
          " entries, expected one per sample (", n, ")");
  Kokkos::parallel_for(
      "psgm::stats::sample_minimum", Kokkos::RangePolicy<ExecSpace>(space, 0, n), KOKKOS_LAMBDA(std::int64_t s) {
        double m = fields(s, channel, 0);
        for (int i = 1; i < N; ++i) m = math::min(m, fields(s, channel, i));
        out(s) = m;
      });
}

template <class ExecSpace>
std::int64_t count_non_finite(ExecSpace const& space, const_fields_view<ExecSpace> fields) {
  ScopedRegion region("psgm::stats::count_non_finite");
  std::int64_t const n = fields.extent(0);
  int const C = fields.extent(1);
  int const N = fields.extent(2);
  std::int64_t count = 0;
  // Reducing into a host scalar fences `space`: the caller needs the count.
  Kokkos::parallel_reduce(
      "psgm::stats::count_non_finite", Kokkos::RangePolicy<ExecSpace>(space, 0, n),
      KOKKOS_LAMBDA(std::int64_t s, std::int64_t & bad) {
        for (int ch = 0; ch < C; ++ch)
          for (int i = 0; i < N; ++i)
            if (!math::isfinite(fields(s, ch, i))) ++bad;
      },
      count);
  return count;
}

}  // namespace psgm::stats

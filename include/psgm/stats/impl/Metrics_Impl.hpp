// psgm::stats::EnsembleComparator (docs/metrics.md): the device work is in
// the pointwise kernels and the energy test; what is left here is O(N) host
// arithmetic on the per-point results.
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/stats/Metrics.hpp>
#include <psgm/stats/impl/EnergyDistance_Impl.hpp>
#include <psgm/stats/impl/Pointwise_Impl.hpp>
#include <psgm/stats/impl/Workspace.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace psgm::stats {
namespace Impl {

/// Starts an asynchronous copy of a device vector into `out` (resized to
/// fit) on `space`; the caller fences `space` before reading `out`.
template <class ExecSpace, class View>
void copy_to_host(ExecSpace const& space, View const& v, std::vector<double>& out) {
  out.resize(v.extent(0));
  Kokkos::View<double*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> h(out.data(), out.size());
  Kokkos::deep_copy(space, h, v);
}

/// Type-7 quantile of unsorted host values.
double host_quantile(std::vector<double> values, double p);

/// M1 and M2 of one field from the host profiles (all N points).
void moment_errors(EnsembleProfile const& candidate, EnsembleProfile const& reference, int field, int num_points,
                   FieldMetrics& out);

/// Mean of v over the points of `field` that are not pinned.
double free_average(std::vector<double> const& v, std::vector<std::uint8_t> const& pinned, int field,
                    int num_points);

/// The pinned mask from the PDE spreads (docs/metrics.md §3). Throws when a
/// field has no spread at all.
std::vector<std::uint8_t> pinned_points(EnsembleProfile const& pde, int num_channels, int num_points, double tolerance,
                                        std::vector<std::string> const& names);

}  // namespace Impl

template <class ExecSpace>
EnsembleComparator<ExecSpace>::EnsembleComparator(MetricsOptions const& options) : options_(options) {
  options_.validate();
}

template <class ExecSpace>
void EnsembleComparator<ExecSpace>::set_options(MetricsOptions const& options) {
  options.validate();
  options_ = options;
}

template <class ExecSpace>
EnsembleProfile EnsembleComparator<ExecSpace>::profile_of(ExecSpace const& space,
                                                          SortedColumns<memory_space> const& columns) {
  int const K = columns.num_columns();
  Impl::ensure_extents(lower_, space, "psgm::stats::band_lower", K);
  Impl::ensure_extents(upper_, space, "psgm::stats::band_upper", K);
  double const level = options_.band_level;
  column_quantiles(space, columns, 0.5 * (1.0 - level), lower_);
  column_quantiles(space, columns, 0.5 * (1.0 + level), upper_);
  EnsembleProfile p;
  p.num_samples = columns.num_samples();
  Impl::copy_to_host(space, columns.mean, p.mean);
  Impl::copy_to_host(space, columns.stddev, p.stddev);
  Impl::copy_to_host(space, lower_, p.lower);
  Impl::copy_to_host(space, upper_, p.upper);
  space.fence();  // the profile is read on the host, and lower_/upper_ are reused
  return p;
}

template <class ExecSpace>
EnsembleProfile EnsembleComparator<ExecSpace>::profile(ExecSpace const& space, fields_view ensemble) {
  ScopedRegion region("psgm::stats::EnsembleComparator::profile");
  require(ensemble.extent(0) >= 1 && ensemble.extent(1) >= 1 && ensemble.extent(2) >= 1,
          "psgm::stats::EnsembleComparator::profile: the ensemble is empty (", ensemble.extent(0), " x ",
          ensemble.extent(1), " x ", ensemble.extent(2), ")");
  sort_columns(space, ensemble, model_);
  return profile_of(space, model_);
}

template <class ExecSpace>
EnsembleComparison EnsembleComparator<ExecSpace>::compare(ExecSpace const& space, fields_view model,
                                                          fields_view pde, fields_view pde_floor) {
  ScopedRegion region("psgm::stats::EnsembleComparator::compare");
  int const N = pde.extent(2);
  int const C = pde.extent(1);
  struct Named {
    char const* name;
    fields_view view;
  };
  for (Named const& e : {Named{"model", model}, Named{"PDE", pde}, Named{"noise-floor PDE", pde_floor}}) {
    require(e.view.extent(1) == std::size_t(C) && C >= 1, "psgm::stats::compare: the ", e.name, " ensemble has ",
            e.view.extent(1), " channels, the PDE ensemble ", C, "; the ensembles must have the same channels");
    require(e.view.extent(2) == std::size_t(N) && N >= 1, "psgm::stats::compare: the ", e.name, " ensemble has ",
            e.view.extent(2), " grid points, the PDE ensemble ", N, "; the ensembles must share one grid");
    require(e.view.extent(0) >= 2, "psgm::stats::compare: the ", e.name, " ensemble has ", e.view.extent(0),
            " samples; at least 2 are needed (hundreds for useful metrics)");
    std::int64_t const bad = count_non_finite(space, e.view);
    require(bad == 0, "psgm::stats::compare: the ", e.name, " ensemble has ", bad,
            " NaN or infinite values; drop the failed samples (status != ok) first");
  }
  int const K = C * N;

  sort_columns(space, model, model_);
  sort_columns(space, pde, pde_);
  sort_columns(space, pde_floor, floor_);

  EnsembleComparison out;
  out.num_points = N;
  for (int f = 0; f < C; ++f)
    out.channels.push_back(C == num_fields ? std::string(field_names[f]) : "channel_" + std::to_string(f));
  out.model.resize(std::size_t(C));
  out.floor.resize(std::size_t(C));
  out.model_profile = profile_of(space, model_);
  out.floor_profile = profile_of(space, floor_);
  out.pde_profile = profile_of(space, pde_);
  out.pinned = Impl::pinned_points(out.pde_profile, C, N, options_.pinned_tolerance, out.channels);

  // M1, M2: host arithmetic on the profiles, over all N points.
  for (int f = 0; f < C; ++f) {
    Impl::moment_errors(out.model_profile, out.pde_profile, f, N, out.model[f]);
    Impl::moment_errors(out.floor_profile, out.pde_profile, f, N, out.floor[f]);
  }

  // M3 (the candidate's band, the PDE's values) and M4, into four slices of
  // one workspace, copied to the host behind one fence.
  Impl::ensure_extents(pointwise_, space, "psgm::stats::pointwise", 4 * K);
  auto const slice = [&](int q) { return Kokkos::subview(pointwise_, Kokkos::make_pair(q * K, (q + 1) * K)); };
  double const level = options_.band_level;
  auto const coverage_of = [&](SortedColumns<memory_space> const& candidate, int q) {
    column_quantiles(space, candidate, 0.5 * (1.0 - level), lower_);
    column_quantiles(space, candidate, 0.5 * (1.0 + level), upper_);
    band_coverage_columns(space, const_vector_view<ExecSpace>(lower_), const_vector_view<ExecSpace>(upper_), pde_,
                          slice(q));
  };
  coverage_of(model_, 0);
  coverage_of(floor_, 1);
  wasserstein_columns(space, model_, pde_, slice(2));
  wasserstein_columns(space, floor_, pde_, slice(3));
  Impl::copy_to_host(space, slice(0), out.coverage_model);
  Impl::copy_to_host(space, slice(1), out.coverage_floor);
  Impl::copy_to_host(space, slice(2), out.wasserstein_model);
  Impl::copy_to_host(space, slice(3), out.wasserstein_floor);
  space.fence();  // the pointwise results are averaged on the host below

  for (int f = 0; f < C; ++f) {
    out.model[f].coverage = Impl::free_average(out.coverage_model, out.pinned, f, N);
    out.floor[f].coverage = Impl::free_average(out.coverage_floor, out.pinned, f, N);
    out.model[f].wasserstein = Impl::free_average(out.wasserstein_model, out.pinned, f, N);
    out.floor[f].wasserstein = Impl::free_average(out.wasserstein_floor, out.pinned, f, N);
  }

  // M5: weights 1/σ_pde on free points, 0 on pinned ones.
  Impl::ensure_extents(weights_, space, "psgm::stats::energy_weights", K);
  {
    std::vector<double> w(K);
    for (int k = 0; k < K; ++k) w[k] = out.pinned[k] ? 0.0 : 1.0 / out.pde_profile.stddev[k];
    Kokkos::View<double const*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> h(w.data(), K);
    Kokkos::deep_copy(space, weights_, h);
    space.fence();  // `w` goes out of scope
  }
  for (int f = 0; f < C; ++f) {
    auto const weights = Kokkos::subview(weights_, Kokkos::make_pair(f * N, (f + 1) * N));
    auto const of = [&](fields_view v) { return Kokkos::subview(v, Kokkos::ALL, f, Kokkos::ALL); };
    for (int is_floor = 0; is_floor < 2; ++is_floor) {
      EnergyTestOptions eo;
      eo.permutations = options_.permutations;
      eo.seed = options_.seed;
      eo.between_batches = options_.between_permutation_batches;
      // 2^32 items per test: relabellings of the 2C tests of a comparison and
      // of comparisons with different evaluation indices never share a generator.
      eo.first_item = (options_.evaluation_index * std::uint64_t(2 * C) + std::uint64_t(2 * f + is_floor)) << 32;
      auto const r = energy_.run(space, of(is_floor ? pde_floor : model), of(pde), weights, eo);
      FieldMetrics& m = is_floor ? out.floor[f] : out.model[f];
      m.energy_distance = r.statistic;
      m.energy_p_value = r.p_value;
    }
  }

  // M6: P(min_x c < c_crit), the porous electrode's quantity of interest.
  if (!options_.quantity_of_interest) return out;
  out.has_qoi = true;
  std::int64_t const n_max = std::max({model.extent(0), pde.extent(0), pde_floor.extent(0)});
  if (minima_.extent(0) < std::size_t(n_max))
    minima_ = column_view(Kokkos::view_alloc(space, Kokkos::WithoutInitializing, "psgm::stats::sample_minima"),
                          n_max);
  std::vector<double> min_model, min_pde, min_floor;
  auto const minima_of = [&](fields_view v, std::vector<double>& host) {
    auto const mins = Kokkos::subview(minima_, Kokkos::make_pair(std::size_t(0), v.extent(0)));
    sample_minimum(space, v, 0, mins);
    Impl::copy_to_host(space, mins, host);
    space.fence();  // minima_ is reused by the next ensemble
  };
  minima_of(model, min_model);
  minima_of(pde, min_pde);
  minima_of(pde_floor, min_floor);
  QuantityOfInterest& q = out.qoi;
  q.c_crit_from_data = !options_.c_crit.has_value();
  q.c_crit = options_.c_crit ? *options_.c_crit : Impl::host_quantile(min_pde, options_.c_crit_quantile);
  auto const below = [&](std::vector<double> const& mins) {
    return wilson_interval(std::count_if(mins.begin(), mins.end(), [&](double v) { return v < q.c_crit; }),
                           std::int64_t(mins.size()), options_.confidence);
  };
  q.model = below(min_model);
  q.pde = below(min_pde);
  q.floor = below(min_floor);
  return out;
}

}  // namespace psgm::stats

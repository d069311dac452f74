// Kernels of psgm::gp::PorositySampler (docs/model.md §2). Included by
// src/gp/porosity_sampler_eti.cpp for every enabled execution space; include
// it yourself only for a space psgm was not built for.
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/core/Random.hpp>
#include <psgm/gp/PorositySampler.hpp>

#include <KokkosBlas3_gemm.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace psgm::gp {

namespace Impl {

// Eq. 2, first half: z(:, r) ~ N(0, I) from the generator of item
// first_item + r. One thread per item; the item's numbers are contiguous.
template <class ExecSpace, class ZView>
struct DrawNormals {
  ZView z;
  std::uint64_t seed;
  std::int64_t first_item;
  int rank;
  KOKKOS_INLINE_FUNCTION void operator()(int r) const {
    auto gen = psgm::random::make_generator<ExecSpace>(seed, psgm::random::porosity,
                                                       static_cast<std::uint64_t>(first_item + r));
    for (int k = 0; k < rank; ++k) z(k, r) = gen.normal();
  }
};

// Eqs. 3–4: ε = ε_min + (ε_max - ε_min) s(g), s = sigmoid or Φ(g / sd).
template <class GView, class OutView>
struct MapToPorosity {
  GView g;    // (N, count), column-major
  OutView eps;  // (count, N)
  PorosityMap map;
  double eps_min, width, inv_sd;
  bool copy_only;
  KOKKOS_INLINE_FUNCTION void operator()(int r, int i) const {
    double const v = g(i, r);
    if (copy_only) {
      eps(r, i) = v;
    } else if (map == PorosityMap::sigmoid) {
      eps(r, i) = eps_min + width * psgm::math::sigmoid(v);
    } else {
      eps(r, i) = eps_min + width * psgm::math::normal_cdf(v * inv_sd);
    }
  }
};

}  // namespace Impl

template <class ExecSpace>
PorositySampler<ExecSpace>::PorositySampler(ExecSpace const& space, PorosityModel const& model,
                                            std::vector<double> const& cell_centres, std::size_t factor_cache_capacity)
    : model_(model),
      x_(cell_centres),
      capacity_(std::max<std::size_t>(1, factor_cache_capacity)),
      host_cache_(std::max<std::size_t>(1, factor_cache_capacity)) {
  psgm::ScopedRegion region("psgm::gp::PorositySampler::PorositySampler");
  (void)space;
  model_.validate();
  require(!x_.empty(), "PorositySampler: the grid has no cell centres (expected N >= 1)");
  for (std::size_t i = 0; i < x_.size(); ++i)
    require(std::isfinite(x_[i]), "PorositySampler: cell centre x[", i, "] = ", x_[i], " must be finite");
}

template <class ExecSpace>
std::shared_ptr<CovarianceFactor const> PorositySampler<ExecSpace>::factor(double l) {
  validate_correlation_length(l);
  return host_cache_.get(model_, l, x_);
}

template <class ExecSpace>
typename PorositySampler<ExecSpace>::factor_view PorositySampler<ExecSpace>::device_factor(ExecSpace const& space,
                                                                                         double l) {
  psgm::ScopedRegion region("psgm::gp::PorositySampler::device_factor");
  validate_correlation_length(l);
  for (auto it = device_cache_.begin(); it != device_cache_.end(); ++it) {
    if (std::memcmp(&it->l, &l, sizeof(double)) == 0) {
      DeviceEntry e = *it;
      device_cache_.erase(it);
      device_cache_.push_back(e);
      return e.factor;
    }
  }
  auto const host = factor(l);
  factor_view dev(Kokkos::view_alloc(space, Kokkos::WithoutInitializing, "psgm::gp::factor"), host->num_cells,
                  host->rank);
  auto mirror = Kokkos::create_mirror_view(Kokkos::HostSpace{}, dev);
  std::copy(host->matrix.begin(), host->matrix.end(), mirror.data());
  Kokkos::deep_copy(space, dev, mirror);
  // The host mirror dies at the end of this scope and the copy may be
  // asynchronous: wait for it (once per cache miss, not per draw).
  space.fence();
  if (device_cache_.size() >= capacity_) device_cache_.erase(device_cache_.begin());
  device_cache_.push_back({l, dev});
  return dev;
}

template <class ExecSpace>
void PorositySampler<ExecSpace>::reserve(ExecSpace const& space, std::size_t z_size, std::size_t g_size) {
  if (z_.extent(0) < z_size) z_ = buffer_view(Kokkos::view_alloc(space, Kokkos::WithoutInitializing, "psgm::gp::z"), z_size);
  if (g_.extent(0) < g_size) g_ = buffer_view(Kokkos::view_alloc(space, Kokkos::WithoutInitializing, "psgm::gp::g"), g_size);
}

template <class ExecSpace>
typename PorositySampler<ExecSpace>::factor_view PorositySampler<ExecSpace>::draw_latent(ExecSpace const& space,
                                                                                        double l, std::uint64_t seed,
                                                                                        std::int64_t first_item,
                                                                                        int count) {
  factor_view const C = device_factor(space, l);
  int const n = static_cast<int>(C.extent(0));
  int const rank = static_cast<int>(C.extent(1));
  reserve(space, static_cast<std::size_t>(rank) * count, static_cast<std::size_t>(n) * count);
  // Unmanaged column-major views over the workspaces, exactly (rank, count)
  // and (N, count). The double/LayoutLeft GEMM is instantiated here, in
  // src/gp/porosity_sampler_eti.cpp, once per space: psgm's KokkosKernels
  // prefixes have no ETI (scripts/install-deps), and a 3.4.01 ETI would not
  // spare this translation unit anything (GEMM's members are defined in the
  // class, so g++ instantiates them here despite the extern template; measured
  // in docs/portability.md §6).
  factor_view z(z_.data(), rank, count);
  factor_view g(g_.data(), n, count);
  Kokkos::parallel_for("psgm::gp::draw_normals", Kokkos::RangePolicy<ExecSpace>(space, 0, count),
                       Impl::DrawNormals<ExecSpace, factor_view>{z, seed, first_item, rank});
  // Eq. 2: g = C z for the whole batch, one GEMM.
#if defined(KOKKOSKERNELS_VERSION) && KOKKOSKERNELS_VERSION >= 40100
  KokkosBlas::gemm(space, "N", "N", 1.0, C, z, 0.0, g);
#else
  // KokkosKernels < 4.1 has no execution-space overload: its GEMM runs on the
  // default instance of ExecSpace. Order it after the draws on `space`, and
  // the following kernels on `space` after it.
  space.fence();
  KokkosBlas::gemm("N", "N", 1.0, C, z, 0.0, g);
  ExecSpace{}.fence();
#endif
  return g;
}

template <class ExecSpace>
void PorositySampler<ExecSpace>::sample_latent(ExecSpace const& space, double l, std::uint64_t seed,
                                               std::int64_t first_item, field_view out) {
  psgm::ScopedRegion region("psgm::gp::PorositySampler::sample_latent");
  require(static_cast<int>(out.extent(1)) == num_cells(), "PorositySampler::sample_latent: output has ",
          out.extent(1), " columns, expected N = ", num_cells());
  int const count = static_cast<int>(out.extent(0));
  if (count == 0) return;
  auto g = draw_latent(space, l, seed, first_item, count);
  Kokkos::parallel_for("psgm::gp::copy_latent",
                       Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>(space, {0, 0}, {count, num_cells()}),
                       Impl::MapToPorosity<factor_view, field_view>{g, out, model_.map, 0.0, 1.0, 1.0, true});
}

template <class ExecSpace>
void PorositySampler<ExecSpace>::sample(ExecSpace const& space, double l, std::uint64_t seed, std::int64_t first_item,
                                        field_view porosity) {
  psgm::ScopedRegion region("psgm::gp::PorositySampler::sample");
  require(static_cast<int>(porosity.extent(1)) == num_cells(), "PorositySampler::sample: output has ",
          porosity.extent(1), " columns, expected N = ", num_cells());
  int const count = static_cast<int>(porosity.extent(0));
  if (count == 0) return;
  auto g = draw_latent(space, l, seed, first_item, count);
  double const sd = std::sqrt(model_.sigma * model_.sigma + model_.nugget);
  Kokkos::parallel_for("psgm::gp::map_porosity",
                       Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>(space, {0, 0}, {count, num_cells()}),
                       Impl::MapToPorosity<factor_view, field_view>{g, porosity, model_.map, model_.epsilon_min,
                                                                    model_.epsilon_max - model_.epsilon_min,
                                                                    1.0 / sd, false});
}

template <class ExecSpace>
void PorositySampler<ExecSpace>::apply_map(ExecSpace const& space, field_view g) const {
  psgm::ScopedRegion region("psgm::gp::PorositySampler::apply_map");
  require(static_cast<int>(g.extent(1)) == num_cells(), "PorositySampler::apply_map: field has ", g.extent(1),
          " columns, expected N = ", num_cells());
  double const sd = std::sqrt(model_.sigma * model_.sigma + model_.nugget);
  auto const map = model_.map;
  double const eps_min = model_.epsilon_min, width = model_.epsilon_max - model_.epsilon_min, inv_sd = 1.0 / sd;
  Kokkos::parallel_for(
      "psgm::gp::apply_map",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>(space, {0, 0}, {static_cast<int>(g.extent(0)), num_cells()}),
      KOKKOS_LAMBDA(int r, int i) {
        double const v = g(r, i);
        g(r, i) = map == PorosityMap::sigmoid ? eps_min + width * psgm::math::sigmoid(v)
                                              : eps_min + width * psgm::math::normal_cdf(v * inv_sd);
      });
}

}  // namespace psgm::gp

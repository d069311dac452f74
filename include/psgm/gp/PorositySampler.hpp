// Batched draws of random porosity fields (spec model.md §2, docs/model.md
// eqs. 1–4), templated on the execution space.
//
//   g = C z,  z ~ N(0, I),  C Cᵀ ≈ K   (one GEMM for the whole batch)
//   ε = map(g)
//
// Realisation r of a call uses its own generator
// psgm::random::make_generator<ExecSpace>(seed, psgm::random::porosity,
// first_item + r), so a field depends only on (seed, l, item) and the model,
// not on how items are batched, on the thread count, or on the backend (up to
// the last bits of log/sqrt on GPUs).
#pragma once

#include <psgm/core/ExecutionSpaces.hpp>
#include <psgm/gp/CovarianceFactor.hpp>
#include <psgm/gp/PorosityModel.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <memory>
#include <vector>

namespace psgm::gp {

template <class ExecSpace>
class PorositySampler {
 public:
  using execution_space = ExecSpace;
  using memory_space = typename ExecSpace::memory_space;
  using device_type = Kokkos::Device<ExecSpace, memory_space>;
  /// (count, N): one field per row, contiguous per field.
  using field_view = Kokkos::View<double**, Kokkos::LayoutRight, memory_space>;
  /// (N, rank), column-major: the factor C on the device.
  using factor_view = Kokkos::View<double**, Kokkos::LayoutLeft, device_type>;

  /// Validates the model and the grid (at least 1 finite cell centre);
  /// throws psgm::InvalidArgument otherwise. `factor_cache_capacity` bounds
  /// the number of (l → factor) entries kept on the host and the device.
  PorositySampler(ExecSpace const& space, PorosityModel const& model, std::vector<double> const& cell_centres,
                  std::size_t factor_cache_capacity = 8);

  /// Porosity fields ε for correlation length l: porosity.extent(0) draws,
  /// porosity.extent(1) must be N. Asynchronous on `space`.
  void sample(ExecSpace const& space, double l, std::uint64_t seed, std::int64_t first_item, field_view porosity);

  /// The latent Gaussian draws g = C z (before the map), same numbers as
  /// sample() uses for the same (seed, l, items). For testing and analysis.
  void sample_latent(ExecSpace const& space, double l, std::uint64_t seed, std::int64_t first_item, field_view g);

  /// Applies the porosity map (docs/model.md eq. 3/4) to g in place.
  void apply_map(ExecSpace const& space, field_view g) const;

  /// The host factor for l (cached), and its device copy.
  std::shared_ptr<CovarianceFactor const> factor(double l);
  factor_view device_factor(ExecSpace const& space, double l);

  PorosityModel const& model() const { return model_; }
  std::vector<double> const& cell_centres() const { return x_; }
  int num_cells() const { return static_cast<int>(x_.size()); }

 private:
  using buffer_view = Kokkos::View<double*, device_type>;
  // Draws z (rank, count) and g = C z (N, count), both column-major in the
  // workspaces; returns g.
  factor_view draw_latent(ExecSpace const& space, double l, std::uint64_t seed, std::int64_t first_item, int count);
  void reserve(ExecSpace const& space, std::size_t z_size, std::size_t g_size);

  struct DeviceEntry {
    double l;
    factor_view factor;
  };
  PorosityModel model_;
  std::vector<double> x_;
  std::size_t capacity_;
  CovarianceFactorCache host_cache_;
  std::vector<DeviceEntry> device_cache_;  // most recently used last
  buffer_view z_;                          // workspace for z, grown on demand (never in a hot loop)
  buffer_view g_;                          // workspace for g = C z, grown on demand
};

}  // namespace psgm::gp

#define PSGM_GP_POROSITY_SAMPLER_ETI(Space) extern template class psgm::gp::PorositySampler<Space>;
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_GP_POROSITY_SAMPLER_ETI)
#undef PSGM_GP_POROSITY_SAMPLER_ETI

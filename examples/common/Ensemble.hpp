// Shared by examples 03-06: solve PDE ensembles at a list of conditions (what
// example 02 does step by step) and, optionally, write them as a psgm data set.
#pragma once

#include <psgm/psgm.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace example {

/// `per_condition` realisations at each condition; realisation r of condition
/// m uses porosity item first_item + m * per_condition + r. Returns host Views
/// (n, 2, N) and (n) of the physical fields and statuses, and the condition
/// index of every realisation.
struct Ensemble {
  Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace> fields;
  Kokkos::View<psgm::SolveStatus*, Kokkos::HostSpace> status;
  Kokkos::View<std::int64_t*, Kokkos::HostSpace> condition_index;
};

inline Ensemble solve_ensemble(psgm::pde::ElectrodeParameters const& electrode,
                               std::vector<psgm::pde::Condition> const& conditions, int per_condition,
                               std::uint64_t seed, std::int64_t first_item = 0) {
  using Space = Kokkos::DefaultExecutionSpace;
  using Mem = Space::memory_space;
  Space space;
  int const M = static_cast<int>(conditions.size()), n = M * per_condition, N = electrode.N;
  psgm::gp::PorositySampler<Space> sampler(space, psgm::gp::PorosityModel{}, electrode.cell_centres());
  Kokkos::View<double**, Kokkos::LayoutRight, Mem> eps(Kokkos::view_alloc(space, "example::porosity"), n, N);
  auto U0 = Kokkos::create_mirror_view(Kokkos::View<double*, Mem>("example::U0", n));
  auto F = Kokkos::create_mirror_view(Kokkos::View<double*, Mem>("example::F_right", n));
  Ensemble out;
  out.condition_index = Kokkos::View<std::int64_t*, Kokkos::HostSpace>("example::condition_index", n);
  for (int m = 0; m < M; ++m) {
    auto rows = Kokkos::make_pair(m * per_condition, (m + 1) * per_condition);
    sampler.sample(space, conditions[m].l, seed, first_item + m * per_condition, Kokkos::subview(eps, rows, Kokkos::ALL));
    for (int r = rows.first; r < rows.second; ++r) {
      U0(r) = conditions[m].U0;
      F(r) = conditions[m].F_right;
      out.condition_index(r) = m;
    }
  }
  auto const d_U0 = Kokkos::create_mirror_view_and_copy(Mem{}, U0);
  auto const d_F = Kokkos::create_mirror_view_and_copy(Mem{}, F);
  Kokkos::View<double***, Kokkos::LayoutRight, Mem> fields(Kokkos::view_alloc(space, "example::fields"), n, 2, N);
  Kokkos::View<psgm::SolveStatus*, Mem> status(Kokkos::view_alloc(space, "example::status"), n);
  psgm::pde::EnsembleSolver<Space> solver(space, electrode, n);
  solver.solve(space, eps, d_U0, d_F, fields, status);
  out.fields = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, fields);
  out.status = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, status);
  return out;
}

/// Writes an ensemble as a psgm data set (docs/data.md), replacing `path`.
inline void write_dataset(std::string const& path, psgm::pde::ElectrodeParameters const& electrode,
                          std::vector<psgm::pde::Condition> const& conditions, Ensemble const& ensemble,
                          std::uint64_t seed) {
  psgm::io::AttributeMap attributes = psgm::io::physics_attributes(electrode, psgm::gp::PorosityModel{});
  attributes.set("seed", static_cast<std::int64_t>(seed));
  psgm::io::DatasetWriterOptions options;
  options.overwrite = true;
  options.store_porosity = false;
  psgm::io::DatasetWriter writer(path, electrode.cell_centres(), conditions, attributes, options);
  writer.append(ensemble.fields, ensemble.condition_index, ensemble.status);
  writer.commit();
}

}  // namespace example

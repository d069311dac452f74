// psgm::workflow::EnsembleGenerator: the porosity draw and the ensemble solve
// of a batch. Included by src/workflow/ensemble_generator_eti.cpp for every
// enabled execution space; include it yourself only for a space psgm was not
// built for.
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/workflow/EnsembleGenerator.hpp>

#include <cmath>
#include <limits>
#include <utility>

namespace psgm::workflow {

namespace Impl {
inline int checked_max_batch(int max_batch) {
  require(max_batch >= 1, "EnsembleGenerator: max_batch = ", max_batch, " must be >= 1");
  return max_batch;
}
}  // namespace Impl

template <class ExecSpace>
EnsembleGenerator<ExecSpace>::EnsembleGenerator(ExecSpace const& space, pde::ElectrodeParameters const& params,
                                                PorositySource const& porosity, PorosityItems const& items,
                                                int max_batch)
    : source_(porosity),
      items_(items),
      max_batch_(Impl::checked_max_batch(max_batch)),
      x_(params.cell_centres()),
      solver_(space, params, max_batch) {
  ScopedRegion region("psgm::workflow::EnsembleGenerator::EnsembleGenerator");
  int const N = params.N;
  if (source_.is_gaussian_process()) {
    sampler_ = std::make_unique<gp::PorositySampler<ExecSpace>>(space, source_.model, x_);
  } else {
    auto const& f = source_.fields;
    require(static_cast<int>(f.extent(1)) == N, "EnsembleGenerator: the porosity fields have ", f.extent(1),
            " cells; the grid has N = ", N);
    for (std::size_t k = 0; k < f.extent(0); ++k)
      for (int i = 0; i < N; ++i)
        require(std::isfinite(f(k, i)) && f(k, i) > 0 && f(k, i) < 1, "EnsembleGenerator: porosity field ", k,
                ", cell ", i, " is ", f(k, i), "; expected a value in (0, 1)");
  }
  auto alloc = [&](char const* what) {
    return Kokkos::view_alloc(space, Kokkos::WithoutInitializing, std::string("psgm::workflow::ensemble::") + what);
  };
  porosity_ = porosity_view(alloc("porosity"), max_batch, N);
  U0_ = decltype(U0_)(alloc("U0"), max_batch);
  F_right_ = decltype(F_right_)(alloc("F_right"), max_batch);
  fields_ = fields_view(alloc("fields"), max_batch, 2, N);
  status_ = status_view(alloc("status"), max_batch);
  h_porosity_ = Kokkos::create_mirror_view(porosity_);
  h_U0_ = Kokkos::create_mirror_view(U0_);
  h_F_right_ = Kokkos::create_mirror_view(F_right_);
}

template <class ExecSpace>
typename EnsembleGenerator<ExecSpace>::Batch EnsembleGenerator<ExecSpace>::generate(
    ExecSpace const& space, std::vector<RealisationBlock> const& blocks) {
  ScopedRegion region("psgm::workflow::EnsembleGenerator::generate");
  std::int64_t B = 0;
  for (auto const& block : blocks) {
    require(block.count >= 0 && block.first_realisation >= 0 && block.condition_index >= 0,
            "EnsembleGenerator::generate: a block of ", block.count, " realisations from ", block.first_realisation,
            " at condition ", block.condition_index, "; expected non-negative numbers");
    B += block.count;
  }
  require(B <= max_batch_, "EnsembleGenerator::generate: ", B, " realisations exceed max_batch = ", max_batch_);
  // The host staging buffers are rewritten below: the previous call's
  // copies from them must have completed (a no-op when nothing is pending).
  space.fence();
  auto const rows = std::make_pair(std::int64_t(0), B);
  int const N = static_cast<int>(x_.size());
  std::int64_t b = 0;
  for (auto const& block : blocks) {
    auto const mine = std::make_pair(b, b + block.count);
    if (sampler_ && block.count > 0) {
      std::int64_t const item =
          items_.first_item + block.condition_index * items_.items_per_condition + block.first_realisation;
      sampler_->sample(space, block.condition.l, items_.seed, item, Kokkos::subview(porosity_, mine, Kokkos::ALL));
    } else if (!sampler_) {
      auto const count = static_cast<std::int64_t>(source_.fields.extent(0));
      for (std::int64_t r = 0; r < block.count; ++r)
        for (int i = 0; i < N; ++i)
          h_porosity_(b + r, i) = source_.fields((block.first_realisation + r) % count, i);
    }
    for (std::int64_t r = 0; r < block.count; ++r) {
      h_U0_(b + r) = block.condition.U0;
      h_F_right_(b + r) = block.condition.F_right;
    }
    b += block.count;
  }
  if (!sampler_)
    Kokkos::deep_copy(space, Kokkos::subview(porosity_, rows, Kokkos::ALL), Kokkos::subview(h_porosity_, rows, Kokkos::ALL));
  Kokkos::deep_copy(space, Kokkos::subview(U0_, rows), Kokkos::subview(h_U0_, rows));
  Kokkos::deep_copy(space, Kokkos::subview(F_right_, rows), Kokkos::subview(h_F_right_, rows));
  Batch batch{Kokkos::subview(porosity_, rows, Kokkos::ALL), Kokkos::subview(fields_, rows, Kokkos::ALL, Kokkos::ALL),
              Kokkos::subview(status_, rows)};
  solver_.solve(space, batch.porosity, Kokkos::subview(U0_, rows), Kokkos::subview(F_right_, rows), batch.fields,
                batch.status);
  return batch;
}

template <class ExecSpace>
HostEnsemble solve_ensemble(ExecSpace const& space, pde::ElectrodeParameters const& params,
                            PorositySource const& porosity, std::vector<pde::Condition> const& conditions,
                            std::int64_t per_condition, PorosityItems items) {
  ScopedRegion region("psgm::workflow::solve_ensemble");
  require(per_condition >= 1, "solve_ensemble: per_condition = ", per_condition, " must be >= 1");
  require(!conditions.empty(), "solve_ensemble: no conditions");
  std::int64_t const n = static_cast<std::int64_t>(conditions.size()) * per_condition;
  require(n <= std::numeric_limits<int>::max(), "solve_ensemble: ", n, " realisations are too many for one batch");
  items.items_per_condition = per_condition;
  EnsembleGenerator<ExecSpace> generator(space, params, porosity, items, static_cast<int>(n));
  auto const batch = generator.generate(space, realisation_blocks(conditions, per_condition, 0, n));
  HostEnsemble out;
  out.fields = decltype(out.fields)(Kokkos::view_alloc(Kokkos::WithoutInitializing, "psgm::workflow::ensemble::host_fields"),
                                    n, 2, params.N);
  out.porosity = decltype(out.porosity)(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "psgm::workflow::ensemble::host_porosity"), n, params.N);
  out.status = decltype(out.status)(Kokkos::view_alloc(Kokkos::WithoutInitializing, "psgm::workflow::ensemble::host_status"), n);
  out.condition_index = decltype(out.condition_index)("psgm::workflow::ensemble::condition_index", n);
  Kokkos::deep_copy(space, out.fields, batch.fields);
  Kokkos::deep_copy(space, out.porosity, batch.porosity);
  Kokkos::deep_copy(space, out.status, batch.status);
  for (std::int64_t i = 0; i < n; ++i) out.condition_index(i) = i / per_condition;
  space.fence();  // the caller reads the host copies
  return out;
}

}  // namespace psgm::workflow

// psgm::workflow::generate: batches of EnsembleGenerator streamed into a data
// set file. Host bookkeeping in src/workflow/generate.cpp; included by
// src/workflow/generate_eti.cpp for every enabled execution space.
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/io/DatasetAttributes.hpp>
#include <psgm/workflow/Generate.hpp>
#include <psgm/workflow/impl/EnsembleGenerator_Impl.hpp>

#include <algorithm>
#include <chrono>
#include <limits>
#include <sstream>

namespace psgm::workflow {

namespace Impl {
/// The checks of plan_generate that need no execution space; returns the
/// realisations per batch that memory_budget_mb allows.
std::int64_t check_generate_options(GenerateOptions const& options);
/// The file's attributes: physics, provenance, the caller's, the shard's.
io::AttributeMap generate_attributes(GenerateOptions const& options, GeneratePlan const& plan, char const* backend,
                                     std::int64_t concurrency);
}  // namespace Impl

template <class ExecSpace>
GeneratePlan plan_generate(ExecSpace const& space, GenerateOptions const& options) {
  ScopedRegion region("psgm::workflow::plan_generate");
  std::int64_t const memory_items = Impl::check_generate_options(options);
  std::int64_t const M = static_cast<std::int64_t>(options.conditions.size());
  std::int64_t const R = options.realisations;
  GeneratePlan plan;
  plan.total = M * R;
  std::tie(plan.first, plan.last) = options.shard.range(plan.total);
  // Batches of whole conditions: at most memory_budget_mb, and otherwise
  // about 1/20 of the run so that progress is reported, but never fewer
  // realisations than keep the execution space busy (64 per unit of
  // concurrency).
  std::int64_t items = options.batch_size;
  if (items == 0) {
    std::int64_t const busy = 64 * static_cast<std::int64_t>(space.concurrency());
    items = std::max<std::int64_t>((plan.size() + 19) / 20, busy);
    items = std::min(items, std::max<std::int64_t>(memory_items, 1));
  }
  plan.max_batch = std::clamp<std::int64_t>(items / R, 1, M) * R;
  require(plan.max_batch <= std::numeric_limits<int>::max(), "generate: a batch of ", plan.max_batch,
          " realisations is too large");
  return plan;
}

template <class ExecSpace>
GenerateResult generate(ExecSpace const& space, GenerateOptions const& options, Progress const& progress) {
  ScopedRegion region("psgm::workflow::generate");
  auto const t_start = std::chrono::steady_clock::now();
  GenerateResult result;
  result.plan = plan_generate(space, options);
  GeneratePlan const& plan = result.plan;
  std::int64_t const R = options.realisations;

  io::DatasetWriterOptions wopts = options.writer;
  wopts.store_porosity = true;
  io::DatasetWriter writer(options.output, options.pde.cell_centres(), options.conditions,
                           Impl::generate_attributes(options, plan, ExecSpace::name(), space.concurrency()), wopts);
  EnsembleGenerator<ExecSpace> generator(space, options.pde, options.porosity, {options.seed, 0, R},
                                         static_cast<int>(plan.max_batch));
  Kokkos::View<std::int64_t*, Kokkos::HostSpace> h_index("psgm::workflow::generate::condition_index", plan.max_batch);
  using host_porosity = Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace>;
  using host_fields = Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace>;
  using host_status = Kokkos::View<SolveStatus*, Kokkos::HostSpace>;
  int const N = options.pde.N;
  host_porosity h_eps(Kokkos::view_alloc(Kokkos::WithoutInitializing, "psgm::workflow::generate::porosity_host"),
                      plan.max_batch, N);
  host_fields h_fields(Kokkos::view_alloc(Kokkos::WithoutInitializing, "psgm::workflow::generate::fields_host"),
                       plan.max_batch, 2, N);
  host_status h_status(Kokkos::view_alloc(Kokkos::WithoutInitializing, "psgm::workflow::generate::status_host"),
                       plan.max_batch);

  result.status_counts.assign(num_solve_statuses, 0);
  if (progress) progress(0, plan.size(), status_summary(result.status_counts));
  for (std::int64_t i0 = plan.first; i0 < plan.last; i0 += plan.max_batch) try {
    auto const t0 = std::chrono::steady_clock::now();
    std::int64_t const i1 = std::min(plan.last, i0 + plan.max_batch);
    std::int64_t const B = i1 - i0;
    auto const blocks = realisation_blocks(options.conditions, R, i0, i1);
    auto const batch = generator.generate(space, blocks);
    auto const rows = std::make_pair(std::int64_t(0), B);
    Kokkos::deep_copy(space, Kokkos::subview(h_fields, rows, Kokkos::ALL, Kokkos::ALL), batch.fields);
    Kokkos::deep_copy(space, Kokkos::subview(h_status, rows), batch.status);
    Kokkos::deep_copy(space, Kokkos::subview(h_eps, rows, Kokkos::ALL), batch.porosity);
    for (std::int64_t b = 0; b < B; ++b) h_index(b) = (i0 + b) / R;
    space.fence();  // the host writes this batch next
    auto const t1 = std::chrono::steady_clock::now();
    writer.append(Kokkos::subview(h_fields, rows, Kokkos::ALL, Kokkos::ALL), Kokkos::subview(h_index, rows),
                  Kokkos::subview(h_status, rows), Kokkos::subview(h_eps, rows, Kokkos::ALL));
    for (std::int64_t b = 0; b < B; ++b) ++result.status_counts[static_cast<int>(h_status(b))];
    auto const t2 = std::chrono::steady_clock::now();
    result.compute_s += std::chrono::duration<double>(t1 - t0).count();
    result.write_s += std::chrono::duration<double>(t2 - t1).count();
    if (progress) progress(writer.size(), plan.size(), status_summary(result.status_counts));
  } catch (...) {
    writer.fail(std::current_exception());  // with psgm::mpi's group: the other processes stop too
    throw;
  }
  result.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  io::AttributeMap timing;
  timing.set("wall_time_s", result.wall_s);
  writer.set_attributes(timing);
  writer.commit();
  return result;
}

}  // namespace psgm::workflow

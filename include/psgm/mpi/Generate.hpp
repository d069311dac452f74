// psgm generate on every rank of a communicator (docs/scaling.md §3):
// workflow::generate, each rank computing one contiguous block of the
// global realisation indices into one file: written directly by every rank
// through the parallel HDF5 (CollectiveOutput), or, with a serial HDF5 or
// OutputPath::sharded, as part files merged by rank 0 (ShardedOutput). The
// file's content sha256 equals the one-process run's for any rank count.
//
//   MPI_Init(&argc, &argv);  psgm::ScopeGuard kokkos;   // MPI first, then Kokkos
//   psgm::workflow::GenerateOptions o = ...;              // as for workflow::generate
//   auto result = psgm::mpi::generate(Kokkos::DefaultExecutionSpace{}, MPI_COMM_WORLD, o);
#pragma once

#include <psgm/core/KokkosCompat.hpp>
#include <psgm/mpi/impl/WriteOnRanks.hpp>
#include <psgm/workflow/Generate.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

namespace psgm::mpi {

/// Collective over `comm`. Every rank passes the same options (with more
/// than one rank options.shard must be whole: the ranks are the shards);
/// `progress` reports this rank's realisations. Returns the whole run's
/// result on every rank: plan of all samples, status counts summed, compute
/// and write times the slowest rank's, wall time of the whole call. A
/// failure on any rank throws on every rank (Comm.hpp, collective) and
/// leaves nothing under options.output. `path` picks how the file is
/// written (automatic: directly when the HDF5 is parallel).
template <class ExecSpace>
workflow::GenerateResult generate(ExecSpace const& space, MPI_Comm comm, workflow::GenerateOptions const& options,
                                  workflow::Progress const& progress = {},
                                  OutputPath path = OutputPath::automatic) {
  ScopedRegion region("psgm::mpi::generate");
  auto const t_start = std::chrono::steady_clock::now();
  // One rank: workflow::generate itself (a shard too), no parts.
  if (size(comm) == 1) return workflow::generate(space, options, progress);
  require(options.shard.is_whole(), "psgm::mpi::generate: options.shard = ", options.shard.to_string(),
          ": the ranks of the communicator are the shards; pass the whole run");
  workflow::GenerateResult const local = impl::write_on_ranks(
      comm, "psgm::mpi::generate", path, static_cast<std::int64_t>(options.conditions.size()) * options.realisations,
      options, [&](workflow::GenerateOptions const& part) { return workflow::generate(space, part, progress); });

  workflow::GenerateResult result = local;
  result.plan.first = 0;
  result.plan.last = result.plan.total;
  int const statuses = static_cast<int>(local.status_counts.size());
  MPI_Allreduce(local.status_counts.data(), result.status_counts.data(), statuses, MPI_INT64_T, MPI_SUM, comm);
  double times[2] = {local.compute_s, local.write_s};
  MPI_Allreduce(MPI_IN_PLACE, times, 2, MPI_DOUBLE, MPI_MAX, comm);
  result.compute_s = times[0];
  result.write_s = times[1];
  result.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return result;
}

}  // namespace psgm::mpi

// psgm sample on every rank of a communicator (docs/scaling.md §3):
// workflow::sample, each rank drawing one contiguous block of the global
// sample indices, into one file: directly through the parallel HDF5
// (CollectiveOutput) or as part files merged by rank 0 (ShardedOutput). Sample r of
// condition m draws its noise from (seed, m n + r) only, so the file's
// content sha256 equals the one-process run's (same backend, precision and
// thread count) for any rank count. Like workflow/Sample.hpp, sample() by
// backend name reaches every score backend (a program that calls it links
// psgm::torch when psgm has it); by policy type only that backend.
#pragma once

#include <psgm/core/KokkosCompat.hpp>
#include <psgm/mpi/impl/WriteOnRanks.hpp>
#include <psgm/workflow/Sample.hpp>

#include <chrono>
#include <memory>

namespace psgm::mpi {

/// Collective over `comm`; every rank passes the same model and options
/// (options.shard whole when there is more than one rank). `progress` and
/// `on_evaluation` report this rank's work. Returns the whole run's result
/// on every rank: plan of all samples; failed, batches and network
/// evaluations summed; nfe_max the largest; nfe_mean over all samples; wall
/// time of the whole call. A failure on any rank throws on every rank and
/// leaves nothing under options.output. `path` picks how the file is
/// written (automatic: directly when the HDF5 is parallel).
/// The score backend is a policy type (score::Native<Kokkos::DefaultExecutionSpace>,
/// score::LibTorch; only that one is instantiated) or, in the overload
/// below, a name ("native", "libtorch": workflow::with_score_backend).
template <class Backend>
workflow::SampleResult sample(Backend backend, Kokkos::DefaultExecutionSpace const& space, MPI_Comm comm,
                              model::ModelDescription const& model, std::string const& dtype,
                              workflow::SampleOptions const& options, workflow::Progress const& progress = {},
                              workflow::EvaluationHook const& on_evaluation = {},
                              OutputPath path = OutputPath::automatic) {
  ScopedRegion region("psgm::mpi::sample");
  auto const t_start = std::chrono::steady_clock::now();
  // One rank: workflow::sample itself (a shard too), no parts.
  if (size(comm) == 1) return workflow::sample(backend, space, model, dtype, options, progress, on_evaluation);
  require(options.shard.is_whole(), "psgm::mpi::sample: options.shard = ", options.shard.to_string(),
          ": the ranks of the communicator are the shards; pass the whole run");
  workflow::SampleResult const local = impl::write_on_ranks(
      comm, "psgm::mpi::sample", path, workflow::plan_sample(model, options).total, options,
      [&](workflow::SampleOptions const& part) {
        return workflow::sample(backend, space, model, dtype, part, progress, on_evaluation);
      });

  workflow::SampleResult result = local;
  result.plan.first = 0;
  result.plan.last = result.plan.total;
  std::int64_t sums[3] = {local.failed, local.batches, local.network_evaluations};
  MPI_Allreduce(MPI_IN_PLACE, sums, 3, MPI_INT64_T, MPI_SUM, comm);
  result.failed = sums[0];
  result.batches = sums[1];
  result.network_evaluations = sums[2];
  MPI_Allreduce(&local.nfe_max, &result.nfe_max, 1, MPI_INT64_T, MPI_MAX, comm);
  double weighted = local.nfe_mean * double(local.plan.size());
  MPI_Allreduce(MPI_IN_PLACE, &weighted, 1, MPI_DOUBLE, MPI_SUM, comm);
  result.nfe_mean = weighted / double(result.plan.total);
  result.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return result;
}

inline workflow::SampleResult sample(Kokkos::DefaultExecutionSpace const& space, MPI_Comm comm,
                                     model::ModelDescription const& model, std::string const& backend,
                                     std::string const& dtype, workflow::SampleOptions const& options,
                                     workflow::Progress const& progress = {},
                                     workflow::EvaluationHook const& on_evaluation = {},
                                     OutputPath path = OutputPath::automatic) {
  // A Gaussian emulator draws exactly, with no score backend: the name is not read.
  if (model.kind == model::ModelKind::gaussian_emulator)
    return sample(score::Native<Kokkos::DefaultExecutionSpace>{}, space, comm, model, dtype, options, progress,
                  on_evaluation, path);
  return workflow::with_score_backend(
      backend,
      [&](auto b) { return sample(b, space, comm, model, dtype, options, progress, on_evaluation, path); },
      "psgm sample");
}

}  // namespace psgm::mpi

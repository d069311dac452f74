// The one pattern behind mpi::generate and mpi::sample (docs/scaling.md §3):
// every rank runs the one-process workflow on its contiguous block of the
// global sample indices, and all blocks land in the one output file, either
// directly through the parallel HDF5 (CollectiveOutput) or as part files
// that rank 0 merges (ShardedOutput). A new distributed writer of samples
// (workflow options with `shard`, `output` and `writer`) calls this and adds
// only the reduction of its result.
#pragma once

#include <psgm/mpi/CollectiveOutput.hpp>
#include <psgm/mpi/Comm.hpp>
#include <psgm/mpi/ShardedOutput.hpp>

#include <cstdint>
#include <memory>
#include <utility>

namespace psgm::mpi::impl {

/// Collective over `comm`: `body(part)` on every rank, `part` being `options`
/// narrowed to the rank's shard of `total` samples and routed to the one
/// output file. A failure on any rank throws on every rank (`what` names the
/// call) and leaves nothing under options.output. Returns this rank's result.
template <class Options, class Body>
auto write_on_ranks(MPI_Comm comm, char const* what, OutputPath path, std::int64_t total, Options const& options,
                    Body&& body) {
  decltype(body(options)) local{};
  Options part = options;
  if (resolve(path) == OutputPath::direct) {
    auto const group = std::make_shared<CollectiveOutput>(comm, total);
    part.shard = group->shard();
    part.writer.group = group;
    collective(
        comm, what, [&] { local = body(std::as_const(part)); }, [&] { return group->failed(); });
  } else {
    ShardedOutput out(comm, options.output, options.writer);
    part.shard = out.shard();
    part.output = out.part_path();
    part.writer.overwrite = true;  // a part left by a killed run is replaced
    collective(comm, what, [&] { local = body(std::as_const(part)); });
    out.commit();
  }
  return local;
}

}  // namespace psgm::mpi::impl

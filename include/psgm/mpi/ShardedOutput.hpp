// One data set file written by every rank of a communicator (docs/scaling.md
// §3): rank r of n computes shard r of n of the run's global sample indices
// (workflow::Shard, a contiguous block) into a part file beside the output,
// and rank 0 joins the parts with workflow::merge_shards into the output,
// atomically (temporary file, then rename; docs/data.md §1). psgm's random
// streams depend only on (seed, stream, item), so the output's content sha256
// is that of the one-process run, for any number of ranks.
//
// The parts go through psgm's ordinary (serial) data set writer, so this
// works with the serial and the parallel HDF5 alike; the parts cost one extra
// write and read of the samples (docs/scaling.md §3 measures it).
#pragma once

#include <psgm/io/Dataset.hpp>
#include <psgm/workflow/Shard.hpp>

#include <mpi.h>

#include <string>

namespace psgm::mpi {

class ShardedOutput {
 public:
  /// Collective. psgm::IoError on every rank when `output` exists and
  /// writer.overwrite is false (checked by rank 0 before any work).
  ShardedOutput(MPI_Comm comm, std::string output, io::DatasetWriterOptions writer);
  /// Removes this rank's part file (whether or not commit() ran).
  ~ShardedOutput();
  ShardedOutput(ShardedOutput const&) = delete;
  ShardedOutput& operator=(ShardedOutput const&) = delete;

  /// Shard rank of size: the samples this rank computes.
  workflow::Shard shard() const { return shard_; }
  /// The file this rank writes its shard to ("<output>.part<r>of<n>").
  std::string const& part_path() const { return part_; }
  /// Collective, after every rank wrote its part: rank 0 merges the parts
  /// into the output; every rank throws if that fails.
  void commit();

 private:
  MPI_Comm comm_;
  std::string output_, part_;
  io::DatasetWriterOptions writer_;
  workflow::Shard shard_;
};

}  // namespace psgm::mpi

// One data set file written directly by every rank of a communicator through
// the parallel HDF5 (docs/scaling.md §3): the io::DatasetWriteGroup that
// psgm::mpi::generate and psgm::mpi::sample give their data set writer.
// Rank r of n writes shard r of n of the global samples (workflow::Shard, a
// contiguous block) into its hyperslab of the one file, with collective
// transfers; rank 0 writes the root attributes and renames the file once
// every rank has closed it. Needs an HDF5 built with MPI (H5_HAVE_PARALLEL);
// ShardedOutput is the path for a serial one.
#pragma once

#include <psgm/io/Dataset.hpp>
#include <psgm/workflow/Shard.hpp>

#include <mpi.h>

#include <cstdint>
#include <string>

namespace psgm::mpi {

/// How psgm::mpi::generate and psgm::mpi::sample write their one file
/// (docs/scaling.md §3).
enum class OutputPath {
  automatic,  ///< direct when the HDF5 is parallel, else sharded
  direct,     ///< CollectiveOutput: one file, collective parallel-HDF5 writes
  sharded     ///< ShardedOutput: a part file per rank, merged by rank 0
};
/// "auto", "direct", "sharded"; parse_output_path: psgm::InvalidArgument for another name.
char const* to_string(OutputPath path);
OutputPath parse_output_path(std::string const& name);
/// Whether psgm's HDF5 is parallel (H5_HAVE_PARALLEL), so that the direct path exists.
bool direct_output_available();
/// `path` with automatic resolved; psgm::InvalidArgument for direct without a parallel HDF5.
OutputPath resolve(OutputPath path);

class CollectiveOutput final : public io::DatasetWriteGroup {
 public:
  /// Not collective. `total`: the samples of the whole file; this rank
  /// writes shard rank of size of them.
  CollectiveOutput(MPI_Comm comm, std::int64_t total);

  /// This rank's block of the samples.
  workflow::Shard shard() const { return shard_; }

  std::int64_t total_samples() const override { return total_; }
  std::int64_t first_sample() const override { return first_; }
  bool is_root() const override { return shard_.index == 0; }
  std::string broadcast(std::string const& value) override;
  void set_file_access(std::int64_t fapl) override;
  void set_collective_transfer(std::int64_t dxpl) override;
  /// The agreement of psgm::mpi::collective (Comm.hpp), so that a rank
  /// that failed before it reached the writer, in its own collective(),
  /// answers it.
  bool agree(std::exception_ptr failure, bool writing) override;
  bool failed() const override { return failed_; }
  /// Drops the shard attributes; the run record (wall_time_s,
  /// samples_per_second, nfe, nfe_mean_per_sample, network_evaluations,
  /// num_failed) combined over the ranks as psgm merge combines shards';
  /// adds mpi_ranks.
  void combine_attributes(io::AttributeMap& attributes) override;

 private:
  MPI_Comm comm_;
  workflow::Shard shard_;
  std::int64_t total_ = 0, first_ = 0, last_ = 0;
  bool failed_ = false;
};

}  // namespace psgm::mpi

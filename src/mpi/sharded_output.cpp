// psgm::mpi::ShardedOutput: shard files per rank, merged by rank 0
// (include/psgm/mpi/ShardedOutput.hpp).
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/mpi/Comm.hpp>
#include <psgm/mpi/ShardedOutput.hpp>
#include <psgm/workflow/Merge.hpp>

#include <filesystem>
#include <system_error>

namespace psgm::mpi {

ShardedOutput::ShardedOutput(MPI_Comm comm, std::string output, io::DatasetWriterOptions writer)
    : comm_(comm), output_(std::move(output)), writer_(writer), shard_{rank(comm), size(comm)} {
  ScopedRegion region("psgm::mpi::ShardedOutput");
  part_ = output_ + ".part" + std::to_string(shard_.index) + "of" + std::to_string(shard_.count);
  collective(comm_, "psgm::mpi::ShardedOutput", [&] {
    require(!output_.empty(), "psgm::mpi::ShardedOutput: no output file");
    if (shard_.index == 0)
      require<IoError>(writer_.overwrite || !std::filesystem::exists(output_), "'", output_,
                       "' already exists; refusing to overwrite it (pass --overwrite, or "
                       "DatasetWriterOptions::overwrite = true, to replace it)");
  });
}

ShardedOutput::~ShardedOutput() {
  std::error_code ec;
  std::filesystem::remove(part_, ec);  // nothing to report from a destructor: a missing part is fine
}

void ShardedOutput::commit() {
  ScopedRegion region("psgm::mpi::ShardedOutput::commit");
  collective(comm_, "psgm::mpi: merging the ranks' parts into '" + output_ + "'", [&] {
    if (shard_.index != 0) return;
    workflow::MergeOptions m;
    for (std::int64_t r = 0; r < shard_.count; ++r)
      m.inputs.push_back(output_ + ".part" + std::to_string(r) + "of" + std::to_string(shard_.count));
    m.output = output_;
    m.writer = writer_;
    workflow::merge_shards(m);
  });
}

}  // namespace psgm::mpi

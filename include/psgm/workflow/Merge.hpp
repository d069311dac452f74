// psgm merge as a library call: the shard files of one run (psgm generate or
// psgm sample with --shard i/n, workflow::Shard) joined into the file the
// run would have written in one process (docs/workflow.md, "Shards").
// Available when psgm is built with PSGM_ENABLE_HDF5.
#pragma once

#include <psgm/io/Dataset.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace psgm::workflow {

struct MergeOptions {
  std::vector<std::string> inputs;   ///< the shard files, in any order
  std::string output;                ///< written atomically (temporary file, then rename)
  io::DatasetWriterOptions writer;   ///< overwrite, chunking, compression (porosity as the shards have it)
};

struct MergeResult {
  std::int64_t shards = 0;
  std::int64_t samples = 0;
};

/// Checks that the inputs are the complete, non-overlapping shards i/n,
/// i = 0 ... n-1, of one run: every file a shard of the same n, each index
/// once, each holding exactly its samples (Shard::range), the same grid,
/// conditions, schema and attributes (all but the shard's own and its run
/// record: wall_time_s, samples_per_second, nfe, nfe_mean_per_sample,
/// network_evaluations, num_failed, which are combined); and that the output
/// is none of them. psgm::InvalidArgument naming the file and what is wrong
/// otherwise, psgm::IoError for unreadable files or an existing output
/// without overwrite. Then copies the samples in order: the content sha256
/// equals that of the one-process run.
MergeResult merge_shards(MergeOptions const& options);

}  // namespace psgm::workflow

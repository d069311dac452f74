// A shard: one of n contiguous parts of a run's global sample indices
// (docs/workflow.md, "Shards"). psgm's random streams depend only on (seed,
// stream, item), so shard i of n computes exactly the samples a one-process
// run computes at those indices; psgm merge joins the shard files into the
// one-process file, bit for bit.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

namespace psgm::workflow {

struct Shard {
  std::int64_t index = 0;  ///< i, 0-based: 0 <= i < count
  std::int64_t count = 1;  ///< n >= 1; 1: the whole run

  /// "i/n" (0 <= i < n, e.g. "0/4" ... "3/4"); psgm::InvalidArgument with the
  /// spec and what is expected otherwise.
  static Shard parse(std::string const& spec);
  /// psgm::InvalidArgument unless count >= 1 and 0 <= index < count.
  void validate() const;
  bool is_whole() const { return count == 1; }
  /// The samples [first, last) this shard takes of `total`: contiguous,
  /// in order, sizes differing by at most one (the first total mod n shards
  /// take one more). psgm::InvalidArgument when count > total (a shard
  /// would be empty).
  std::pair<std::int64_t, std::int64_t> range(std::int64_t total) const;
  std::string to_string() const;  ///< "i/n"
  bool operator==(Shard const& o) const { return index == o.index && count == o.count; }
};

/// Root attributes of a shard's output file (data-set layout, docs/data.md):
/// shard ("i/n"), shard_first_sample, shard_total_samples (the whole run's).
inline constexpr char const* shard_attribute = "shard";
inline constexpr char const* shard_first_sample_attribute = "shard_first_sample";
inline constexpr char const* shard_total_samples_attribute = "shard_total_samples";

}  // namespace psgm::workflow

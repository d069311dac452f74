// psgm::workflow::Shard: parsing and the contiguous split of a run.
#include <psgm/core/Error.hpp>
#include <psgm/workflow/Shard.hpp>

#include <algorithm>
#include <cctype>

namespace psgm::workflow {

namespace {
bool parse_integer(std::string const& text, std::int64_t& value) {
  if (text.empty() || text.size() > 18) return false;
  if (!std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) return false;
  value = std::stoll(text);
  return true;
}
}  // namespace

Shard Shard::parse(std::string const& spec) {
  auto const slash = spec.find('/');
  Shard s;
  bool const ok = slash != std::string::npos && parse_integer(spec.substr(0, slash), s.index) &&
                  parse_integer(spec.substr(slash + 1), s.count);
  require(ok, "shard '", spec, "': expected i/n with whole numbers 0 <= i < n (e.g. 0/4 ... 3/4)");
  s.validate();
  return s;
}

void Shard::validate() const {
  require(count >= 1, "shard ", index, "/", count, ": the shard count n must be >= 1");
  require(index >= 0 && index < count, "shard ", index, "/", count, ": the index i must lie in 0 ... ", count - 1,
          " (shards are numbered from 0)");
}

std::pair<std::int64_t, std::int64_t> Shard::range(std::int64_t total) const {
  validate();
  require(total >= 0, "shard ", to_string(), ": ", total, " samples");
  require(count <= total, "shard ", to_string(), ": ", count, " shards for ", total,
          " samples would leave a shard empty; use at most ", total, " shards");
  std::int64_t const base = total / count, extra = total % count;
  std::int64_t const first = base * index + std::min(index, extra);
  return {first, first + base + (index < extra ? 1 : 0)};
}

std::string Shard::to_string() const { return std::to_string(index) + "/" + std::to_string(count); }

}  // namespace psgm::workflow

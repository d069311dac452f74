// psgm::workflow::Shard: the spec "i/n", and the contiguous split of a run.
#include <psgm/core/Error.hpp>
#include <psgm/workflow/Shard.hpp>

#include <psgm_test.hpp>

using psgm::workflow::Shard;

TEST_CASE("shard: i/n parses; shards cover the samples contiguously", "[workflow]") {
  CHECK(Shard::parse("0/1").is_whole());
  CHECK(Shard::parse("2/3") == Shard{2, 3});
  for (std::int64_t total : {3, 10, 11, 1000}) {
    std::int64_t next = 0, smallest = total, largest = 0;
    for (std::int64_t i = 0; i < 3; ++i) {
      auto const [first, last] = Shard{i, 3}.range(total);
      CHECK(first == next);
      next = last;
      smallest = std::min(smallest, last - first);
      largest = std::max(largest, last - first);
    }
    CHECK(next == total);
    CHECK(largest - smallest <= 1);
  }
  // No overflow near the largest counts.
  auto const [first, last] = Shard{5, 7}.range(std::int64_t(1) << 62);
  CHECK(first > 0);
  CHECK(last > first);
}

TEST_CASE("shard: bad specs are refused with what is expected", "[workflow]") {
  for (char const* spec : {"", "1", "a/b", "1/", "/3", "-1/3", "1/3/4", "1.0/3", " 1/3"})
    CHECK_THROWS_WITH(Shard::parse(spec), Catch::Contains(std::string("shard '") + spec + "'") &&
                                              Catch::Contains("expected i/n"));
  CHECK_THROWS_WITH(Shard::parse("3/3"), Catch::Contains("index i must lie in 0 ... 2"));
  CHECK_THROWS_WITH(Shard::parse("0/0"), Catch::Contains("shard count n must be >= 1"));
  CHECK_THROWS_WITH(Shard({1, 4}).range(3), Catch::Contains("4 shards for 3 samples"));
  CHECK_THROWS_AS(Shard::parse("1/0"), psgm::InvalidArgument);
}

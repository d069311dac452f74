// psgm::workflow::generate: the file of a run, whatever its batch size, and
// the shards of a run, which concatenate to it bit for bit and which
// merge_shards joins into it.
#include <psgm/core/Error.hpp>
#include <psgm/io/Dataset.hpp>
#include <psgm/workflow/Generate.hpp>
#include <psgm/workflow/Merge.hpp>

#include "WorkflowTest.hpp"
#include <psgm_test.hpp>

#include <cstring>
#include <filesystem>
#include <vector>

namespace {

psgm::workflow::GenerateOptions small_run(std::string const& output) {
  psgm::workflow::GenerateOptions o;
  o.pde.N = 10;
  o.pde.T = 1.0;
  o.conditions = psgm::pde::random_conditions(psgm::pde::ConditionRanges::reference(o.pde.L), 4, 5);
  o.realisations = 5;
  o.seed = 5;
  o.batch_size = 5;
  o.output = output;
  return o;
}

/// Every sample of a file: fields, porosity, condition index, status.
struct Samples {
  std::vector<double> fields, porosity;
  std::vector<std::int64_t> index;
  std::vector<psgm::SolveStatus> status;
};

Samples read_all(std::string const& path) {
  psgm::io::DatasetReader reader(path);
  std::int64_t const n = reader.size();
  int const N = reader.num_points();
  psgm::io::DatasetReader::host_fields_view f("psgm::test::fields", n, 2, N);
  psgm::io::DatasetReader::host_porosity_view eps("psgm::test::porosity", n, N);
  reader.read_fields(0, f);
  reader.read_porosity(0, eps);
  Samples s;
  s.fields.assign(f.data(), f.data() + f.size());
  s.porosity.assign(eps.data(), eps.data() + eps.size());
  s.index = reader.condition_index();
  s.status = reader.status();
  return s;
}

using psgm_test::bitwise_equal;

}  // namespace

PSGM_BACKEND_TEST_CASE("generate: 3 shards concatenate to the one-process file, bit for bit", "[workflow]") {
  using ExecSpace = TestType;
  ExecSpace space;
  auto const dir = psgm_test::scratch_dir(std::string("workflow_generate_shards_") + ExecSpace::name());
  psgm_test::warm_up_team_scratch(space);
  psgm_test::ProfilingRecorder recorder;
  auto whole_options = small_run((dir / "whole.h5").string());
  whole_options.batch_size = 0;  // automatic: another batching than the shards'
  auto const whole = psgm::workflow::generate(space, whole_options);
  CHECK(whole.plan.total == 20);
  CHECK(whole.status_counts[0] == 20);
  CHECK(recorder.has_region("psgm::workflow::generate"));
  CHECK(psgm_test::foreign_kernels(recorder).empty());
  for (auto const& a : recorder.unlabelled_allocations()) UNSCOPED_INFO("allocation without a psgm:: label: " << a);
  CHECK(recorder.unlabelled_allocations().empty());

  Samples joined;
  std::int64_t next = 0;
  for (std::int64_t i = 0; i < 3; ++i) {
    auto o = small_run((dir / ("shard" + std::to_string(i) + ".h5")).string());
    o.batch_size = 3;  // cuts conditions (R = 5) and shards in the middle
    o.shard = {i, 3};
    auto const r = psgm::workflow::generate(space, o);
    CHECK(r.plan.first == next);
    next = r.plan.last;
    psgm::io::DatasetReader reader(o.output);
    CHECK(reader.info().attributes.get_string("shard") == o.shard.to_string());
    CHECK(reader.info().attributes.get_int("shard_first_sample") == r.plan.first);
    CHECK(reader.info().attributes.get_int("shard_total_samples") == 20);
    auto const s = read_all(o.output);
    joined.fields.insert(joined.fields.end(), s.fields.begin(), s.fields.end());
    joined.porosity.insert(joined.porosity.end(), s.porosity.begin(), s.porosity.end());
    joined.index.insert(joined.index.end(), s.index.begin(), s.index.end());
    joined.status.insert(joined.status.end(), s.status.begin(), s.status.end());
  }
  CHECK(next == 20);
  auto const one = read_all(whole_options.output);
  CHECK(bitwise_equal(one.fields, joined.fields));
  CHECK(bitwise_equal(one.porosity, joined.porosity));
  CHECK(one.index == joined.index);
  CHECK(one.status == joined.status);
  CHECK_FALSE(psgm::io::DatasetReader(whole_options.output).info().attributes.contains("shard"));

  // merge_shards: the file of the one-process run, by content; refusals name the problem.
  psgm::workflow::MergeOptions merge;
  for (int i : {2, 0, 1}) merge.inputs.push_back((dir / ("shard" + std::to_string(i) + ".h5")).string());
  merge.output = (dir / "merged.h5").string();
  auto const merged = psgm::workflow::merge_shards(merge);
  CHECK(merged.shards == 3);
  CHECK(merged.samples == 20);
  CHECK(psgm::io::DatasetReader(merge.output).content_sha256() ==
        psgm::io::DatasetReader(whole_options.output).content_sha256());
  merge.output = (dir / "merged2.h5").string();
  merge.inputs.pop_back();
  CHECK_THROWS_WITH(psgm::workflow::merge_shards(merge), Catch::Contains("1 of the 3 shards are missing: 1/3"));
  merge.inputs.push_back(merge.inputs.front());
  CHECK_THROWS_WITH(psgm::workflow::merge_shards(merge), Catch::Contains("are both shard 2/3"));
  merge.inputs = {whole_options.output};
  CHECK_THROWS_WITH(psgm::workflow::merge_shards(merge), Catch::Contains("is not a shard"));
  merge.inputs = {(dir / "shard0.h5").string()};
  merge.output = merge.inputs.front();
  CHECK_THROWS_WITH(psgm::workflow::merge_shards(merge), Catch::Contains("is also an input"));
  CHECK_FALSE(std::filesystem::exists(dir / "merged2.h5"));
}

PSGM_BACKEND_TEST_CASE("generate: bad options are refused before any file exists", "[workflow]") {
  using ExecSpace = TestType;
  ExecSpace space;
  auto const dir = psgm_test::scratch_dir(std::string("workflow_generate_errors_") + ExecSpace::name());
  auto o = small_run((dir / "out.h5").string());
  o.shard = {3, 3};
  CHECK_THROWS_WITH(psgm::workflow::generate(space, o), Catch::Contains("index i must lie in 0 ... 2"));
  o.shard = {0, 21};
  CHECK_THROWS_WITH(psgm::workflow::generate(space, o), Catch::Contains("21 shards for 20 samples"));
  o.shard = {};
  o.realisations = 0;
  CHECK_THROWS_WITH(psgm::workflow::generate(space, o), Catch::Contains("realisations = 0 must be >= 1"));
  o.realisations = 100000000;
  CHECK_THROWS_WITH(psgm::workflow::generate(space, o), Catch::Contains("for one condition's batch"));
  o.realisations = 5;
  o.conditions.clear();
  CHECK_THROWS_WITH(psgm::workflow::generate(space, o), Catch::Contains("no conditions"));
  CHECK_FALSE(std::filesystem::exists(o.output));
}

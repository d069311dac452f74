// psgm::workflow::evaluate: the generated noise floor is EnsembleGenerator's
// draw + solve at porosity items 2^40 + row · 2^20 + r: an evaluation against
// a floor file holding exactly those realisations gives the same numbers.
// Without a floor file the evaluation of psgm::stats needs a generator.
#include <psgm/core/Error.hpp>
#include <psgm/io/Dataset.hpp>
#include <psgm/io/DatasetAttributes.hpp>
#include <psgm/workflow/Evaluate.hpp>
#include <psgm/workflow/Generate.hpp>

#include "WorkflowTest.hpp"
#include <psgm_test.hpp>

#include <filesystem>

PSGM_BACKEND_TEST_CASE("evaluate: the generated floor is the EnsembleGenerator's, item for item", "[workflow]") {
  using ExecSpace = TestType;
  ExecSpace space;
  auto const dir = psgm_test::scratch_dir(std::string("workflow_evaluate_") + ExecSpace::name());
  psgm::workflow::GenerateOptions g;
  g.pde.N = 10;
  g.pde.T = 1.0;
  g.conditions = psgm::pde::random_conditions(psgm::pde::ConditionRanges::reference(g.pde.L), 2, 3);
  g.realisations = 6;
  g.seed = 3;
  g.output = (dir / "pde.h5").string();
  psgm::workflow::generate(space, g);
  g.seed = 4;  // "model samples": another PDE ensemble at the same conditions
  g.output = (dir / "model.h5").string();
  psgm::workflow::generate(space, g);

  // The floor by hand: 6 realisations per condition row at items 2^40 + m 2^20 + r of seed 3.
  {
    psgm::workflow::EnsembleGenerator<ExecSpace> gen(
        space, g.pde, psgm::workflow::PorositySource::gaussian_process(psgm::gp::PorosityModel{}),
        {3, std::int64_t(psgm::stats::floor_item_offset), psgm::stats::max_floor_samples}, 6);
    psgm::io::AttributeMap attributes = psgm::io::DatasetReader((dir / "pde.h5").string()).info().attributes;
    for (char const* reserved : psgm::io::dataset_reserved_attributes) attributes.erase(reserved);
    psgm::io::DatasetWriter writer((dir / "floor.h5").string(), g.pde.cell_centres(), g.conditions, attributes);
    Kokkos::View<std::int64_t*, Kokkos::HostSpace> index("psgm::test::index", 6);
    for (std::int64_t m = 0; m < 2; ++m) {
      auto const batch = gen.generate(space, {{g.conditions[std::size_t(m)], m, 0, 6}});
      Kokkos::deep_copy(index, m);
      writer.append(space, batch.fields, index, batch.status, batch.porosity);
    }
    writer.commit();
  }

  psgm_test::warm_up_team_scratch(space);
  psgm_test::ProfilingRecorder recorder;
  psgm::workflow::EvaluateOptions o;
  o.request.model_path = (dir / "model.h5").string();
  o.request.data_path = (dir / "pde.h5").string();
  o.request.metrics.permutations = 19;
  o.output = (dir / "generated").string();
  auto const generated = psgm::workflow::evaluate(space, o);
  CHECK(recorder.has_region("psgm::workflow::evaluate"));
  CHECK(recorder.has_region("psgm::workflow::EnsembleGenerator::generate"));
  CHECK(psgm_test::foreign_kernels(recorder).empty());
  for (auto const& a : recorder.unlabelled_allocations()) UNSCOPED_INFO("allocation without a psgm:: label: " << a);
  CHECK(recorder.unlabelled_allocations().empty());
  CHECK(generated.files.size() == 4);
  for (auto const& f : generated.files) CHECK(std::filesystem::exists(f));

  o.request.floor_path = (dir / "floor.h5").string();
  o.output = (dir / "from_file").string();
  auto const from_file = psgm::workflow::evaluate(space, o);
  REQUIRE(generated.result.conditions.size() == 2);
  REQUIRE(from_file.result.conditions.size() == 2);
  for (std::size_t k = 0; k < 2; ++k)
    for (int f = 0; f < 2; ++f)
      for (auto const metric : psgm::stats::all_metrics) {
        CHECK(generated.result.conditions[k].comparison.floor[f].get(metric) ==
              from_file.result.conditions[k].comparison.floor[f].get(metric));
        CHECK(generated.result.conditions[k].comparison.model[f].get(metric) ==
              from_file.result.conditions[k].comparison.model[f].get(metric));
      }

  // psgm::stats alone cannot generate a floor: it says what to use.
  o.request.floor_path.clear();
  CHECK_THROWS_WITH(psgm::stats::evaluate_files(space, o.request),
                    Catch::Contains("nothing to generate the floor with") &&
                        Catch::Contains("psgm::workflow::evaluate"));
}

// The blocks psgm::mpi::evaluate gives its ranks: evaluated separately,
// each with a generator of its own, they concatenate to the whole
// evaluation, bit for bit (a condition's floor items and permutation stream
// are set by its position among all conditions, not by its block).
PSGM_BACKEND_TEST_CASE("evaluate: blocks of the conditions concatenate to the whole evaluation", "[workflow]") {
  using ExecSpace = TestType;
  ExecSpace space;
  auto const dir = psgm_test::scratch_dir(std::string("workflow_evaluate_blocks_") + ExecSpace::name());
  psgm::workflow::GenerateOptions g;
  g.pde.N = 10;
  g.pde.T = 1.0;
  g.conditions = psgm::pde::random_conditions(psgm::pde::ConditionRanges::reference(g.pde.L), 3, 5);
  g.realisations = 4;
  g.seed = 5;
  g.output = (dir / "pde.h5").string();
  psgm::workflow::generate(space, g);
  g.seed = 6;
  g.output = (dir / "model.h5").string();
  psgm::workflow::generate(space, g);

  psgm::stats::EvaluationRequest request;
  request.model_path = (dir / "model.h5").string();
  request.data_path = (dir / "pde.h5").string();
  request.metrics.permutations = 19;
  auto const whole = psgm::stats::evaluate_files(space, request, {}, psgm::workflow::floor_ensemble<ExecSpace>());
  REQUIRE(whole.conditions.size() == 3);
  CHECK(whole.first_condition == 0);
  CHECK(whole.total_conditions == 3);

  // 2 blocks (2 + 1 conditions) and 4 blocks (1 + 1 + 1 + none).
  for (std::int64_t count : {2, 4}) {
    std::vector<psgm::stats::ConditionEvaluation> joined;
    for (std::int64_t index = 0; index < count; ++index) {
      auto const part = psgm::stats::evaluate_files(space, request, {}, psgm::workflow::floor_ensemble<ExecSpace>(),
                                                    psgm::stats::ConditionBlock{index, count});
      auto const [first, last] = psgm::stats::ConditionBlock{index, count}.range(3);
      CHECK(part.first_condition == first);
      CHECK(part.total_conditions == 3);
      CHECK(std::int64_t(part.conditions.size()) == last - first);
      CHECK(std::int64_t(joined.size()) == first);
      joined.insert(joined.end(), part.conditions.begin(), part.conditions.end());
    }
    REQUIRE(joined.size() == 3);
    for (std::size_t k = 0; k < 3; ++k) {
      INFO(count << " blocks, condition " << k);
      auto const& a = whole.conditions[k].comparison;
      auto const& b = joined[k].comparison;
      CHECK(whole.conditions[k].condition_index == joined[k].condition_index);
      for (int f = 0; f < 2; ++f)
        for (auto const metric : psgm::stats::all_metrics) {
          CHECK(a.model[f].get(metric) == b.model[f].get(metric));
          CHECK(a.floor[f].get(metric) == b.floor[f].get(metric));
        }
      CHECK(a.floor_profile.mean == b.floor_profile.mean);
      CHECK(a.model_profile.upper == b.model_profile.upper);
      CHECK(a.qoi.floor.successes == b.qoi.floor.successes);
      CHECK(a.wasserstein_floor == b.wasserstein_floor);
    }
  }

  CHECK(psgm::stats::ConditionBlock{1, 2}.range(5) == std::make_pair(std::int64_t(3), std::int64_t(5)));
  CHECK(psgm::stats::ConditionBlock{3, 4}.range(3) == std::make_pair(std::int64_t(3), std::int64_t(3)));
  CHECK_THROWS_WITH(psgm::stats::evaluate_files(space, request, {}, psgm::workflow::floor_ensemble<ExecSpace>(),
                                                psgm::stats::ConditionBlock{2, 2}),
                    Catch::Contains("condition block 2 of 2"));
}

// psgm::workflow::EnsembleGenerator: a realisation's fields depend on (seed,
// condition, realisation) only: any split into blocks and batches gives the
// same numbers bit for bit, and they equal a hand-written draw + solve with
// the porosity sampler and the ensemble solver. User fields cycle; bad
// input is refused; every View, kernel and entry point is labelled.
#include <psgm/core/Error.hpp>
#include <psgm/workflow/EnsembleGenerator.hpp>

#include "WorkflowTest.hpp"
#include <psgm_test.hpp>

#include <cstring>
#include <vector>

namespace {

using psgm::workflow::EnsembleGenerator;
using psgm::workflow::PorositySource;
using psgm::workflow::RealisationBlock;

psgm::pde::ElectrodeParameters small_problem() {
  psgm::pde::ElectrodeParameters p;
  p.N = 12;
  p.T = 1.0;  // 10 implicit-Euler steps
  return p;
}

std::vector<psgm::pde::Condition> three_conditions(double L) {
  return {{L / 10, 0.0, 25.0}, {L / 20, 0.1, 10.0}, {L / 5, -0.1, 40.0}};
}

struct HostBatch {
  std::vector<double> porosity, fields;
  std::vector<psgm::SolveStatus> status;
};

template <class ExecSpace>
void append(ExecSpace const& space, typename EnsembleGenerator<ExecSpace>::Batch const& batch, HostBatch& out) {
  auto const eps = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, batch.porosity);
  auto const f = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, batch.fields);
  auto const st = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, batch.status);
  space.fence();
  for (std::size_t b = 0; b < st.extent(0); ++b) {
    out.status.push_back(st(b));
    for (std::size_t i = 0; i < eps.extent(1); ++i) out.porosity.push_back(eps(b, i));
    for (std::size_t c = 0; c < 2; ++c)
      for (std::size_t i = 0; i < f.extent(2); ++i) out.fields.push_back(f(b, c, i));
  }
}

using psgm_test::bitwise_equal;

}  // namespace

PSGM_BACKEND_TEST_CASE("ensemble generator: any split of the realisations gives the same bits", "[workflow]") {
  using ExecSpace = TestType;
  ExecSpace space;
  auto const p = small_problem();
  auto const conditions = three_conditions(p.L);
  std::int64_t const R = 5, total = 3 * R;
  auto const source = PorositySource::gaussian_process(psgm::gp::PorosityModel{});

  HostBatch whole;
  {
    EnsembleGenerator<ExecSpace> gen(space, p, source, {7, 0, R}, int(total));
    append(space, gen.generate(space, psgm::workflow::realisation_blocks(conditions, R, 0, total)), whole);
  }
  REQUIRE(whole.status.size() == std::size_t(total));
  for (auto s : whole.status) CHECK(s == psgm::SolveStatus::ok);

  // Batches of 4 that cut conditions in the middle.
  HostBatch pieces;
  EnsembleGenerator<ExecSpace> gen(space, p, source, {7, 0, R}, 4);
  for (std::int64_t i = 0; i < total; i += 4)
    append(space, gen.generate(space, psgm::workflow::realisation_blocks(conditions, R, i, std::min(total, i + 4))),
           pieces);
  CHECK(bitwise_equal(whole.porosity, pieces.porosity));
  CHECK(bitwise_equal(whole.fields, pieces.fields));
  CHECK(whole.status == pieces.status);

  // By hand: the sampler at items m R + r, then the solver.
  psgm::gp::PorositySampler<ExecSpace> sampler(space, psgm::gp::PorosityModel{}, p.cell_centres());
  psgm::pde::EnsembleSolver<ExecSpace> solver(space, p, int(total));
  typename psgm::gp::PorositySampler<ExecSpace>::field_view eps("psgm::test::eps", total, p.N);
  Kokkos::View<double*, typename ExecSpace::memory_space> U0("psgm::test::U0", total), F("psgm::test::F", total);
  auto U0h = Kokkos::create_mirror_view(U0);
  auto Fh = Kokkos::create_mirror_view(F);
  for (std::int64_t m = 0; m < 3; ++m) {
    sampler.sample(space, conditions[m].l, 7, m * R, Kokkos::subview(eps, std::make_pair(m * R, (m + 1) * R), Kokkos::ALL));
    for (std::int64_t r = 0; r < R; ++r) {
      U0h(m * R + r) = conditions[m].U0;
      Fh(m * R + r) = conditions[m].F_right;
    }
  }
  Kokkos::deep_copy(space, U0, U0h);
  Kokkos::deep_copy(space, F, Fh);
  typename psgm::pde::EnsembleSolver<ExecSpace>::fields_view fields("psgm::test::fields", total, 2, p.N);
  typename psgm::pde::EnsembleSolver<ExecSpace>::status_view status("psgm::test::status", total);
  solver.solve(space, eps, U0, F, fields, status);
  HostBatch by_hand;
  append(space, typename EnsembleGenerator<ExecSpace>::Batch{eps, fields, status}, by_hand);
  CHECK(bitwise_equal(whole.porosity, by_hand.porosity));
  CHECK(bitwise_equal(whole.fields, by_hand.fields));
}

PSGM_BACKEND_TEST_CASE("ensemble generator: user fields cycle per condition", "[workflow]") {
  using ExecSpace = TestType;
  ExecSpace space;
  auto const p = small_problem();
  Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> user("psgm::test::user", 2, p.N);
  for (int i = 0; i < p.N; ++i) {
    user(0, i) = 0.3;
    user(1, i) = 0.4 + 0.001 * i;
  }
  EnsembleGenerator<ExecSpace> gen(space, p, PorositySource::from_fields(user), {0, 0, 3}, 6);
  HostBatch out;
  // Realisations 1, 2 of condition 0 and 0..2 of condition 1: fields 1, 0, 0, 1, 0.
  append(space, gen.generate(space, {{{p.L / 10, 0, 25}, 0, 1, 2}, {{p.L / 10, 0, 25}, 1, 0, 3}}), out);
  int const expected[] = {1, 0, 0, 1, 0};
  for (int b = 0; b < 5; ++b)
    for (int i = 0; i < p.N; ++i) CHECK(out.porosity[std::size_t(b * p.N + i)] == user(expected[b], i));
}

PSGM_BACKEND_TEST_CASE("ensemble generator: bad input is refused", "[workflow]") {
  using ExecSpace = TestType;
  ExecSpace space;
  auto const p = small_problem();
  auto const gp = PorositySource::gaussian_process(psgm::gp::PorosityModel{});
  CHECK_THROWS_WITH((EnsembleGenerator<ExecSpace>(space, p, gp, {0, 0, 1}, 0)),
                    Catch::Contains("max_batch = 0 must be >= 1"));
  Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> wrong("psgm::test::wrong", 1, p.N + 1);
  Kokkos::deep_copy(wrong, 0.3);
  CHECK_THROWS_WITH((EnsembleGenerator<ExecSpace>(space, p, PorositySource::from_fields(wrong), {0, 0, 1}, 2)),
                    Catch::Contains("13 cells; the grid has N = 12"));
  Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> bad("psgm::test::bad", 1, p.N);
  Kokkos::deep_copy(bad, 0.3);
  bad(0, 4) = 1.5;
  CHECK_THROWS_WITH((EnsembleGenerator<ExecSpace>(space, p, PorositySource::from_fields(bad), {0, 0, 1}, 2)),
                    Catch::Contains("porosity field 0, cell 4 is 1.5"));
  EnsembleGenerator<ExecSpace> gen(space, p, gp, {0, 0, 4}, 3);
  CHECK_THROWS_WITH(gen.generate(space, {{{p.L / 10, 0, 25}, 0, 0, 4}}), Catch::Contains("4 realisations exceed max_batch = 3"));
  CHECK_THROWS_WITH(psgm::workflow::realisation_blocks({{p.L / 10, 0, 25}}, 4, 2, 5),
                    Catch::Contains("[2, 5) do not lie in [0, 4)"));
}

PSGM_BACKEND_TEST_CASE("ensemble generator labels its views and kernels and opens regions", "[workflow][profiling]") {
  using ExecSpace = TestType;
  ExecSpace space;
  psgm_test::warm_up_team_scratch(space);
  psgm_test::ProfilingRecorder recorder;
  auto const p = small_problem();
  auto const ensemble = psgm::workflow::solve_ensemble(
      space, p, PorositySource::gaussian_process(psgm::gp::PorosityModel{}), three_conditions(p.L), 2, {3, 0, 0});
  CHECK(ensemble.fields.extent(0) == 6);
  CHECK(ensemble.condition_index(5) == 2);
  CHECK(recorder.has_region("psgm::workflow::solve_ensemble"));
  CHECK(recorder.has_region("psgm::workflow::EnsembleGenerator::generate"));
  CHECK(psgm_test::foreign_kernels(recorder).empty());
  for (auto const& a : recorder.unlabelled_allocations()) UNSCOPED_INFO("allocation without a psgm:: label: " << a);
  CHECK(recorder.unlabelled_allocations().empty());
}

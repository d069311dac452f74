// Condition designs (spec model.md §7): the reference design's ranges and
// distributions, reproducibility and prefix stability, held-out conditions,
// user lists from rows and CSV files, and the errors for invalid ones.
#include "IoTestUtils.hpp"

#include <psgm/pde/Conditions.hpp>

#include <psgm_test.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

using psgm::InvalidArgument;
using psgm::IoError;
using psgm::pde::Condition;
using psgm::pde::ConditionRanges;
using psgm_test::error_message;
using Catch::Matchers::Contains;

namespace {
// Kolmogorov–Smirnov distance of u (sorted in place) from U(0, 1).
double ks_uniform(std::vector<double> u) {
  std::sort(u.begin(), u.end());
  double d = 0;
  double const n = static_cast<double>(u.size());
  for (std::size_t i = 0; i < u.size(); ++i) d = std::max({d, (i + 1) / n - u[i], u[i] - i / n});
  return d;
}
}  // namespace

TEST_CASE("the reference design: 1000 conditions with the spec's ranges and distributions", "[io][conditions]") {
  double const L = 1e-4;
  auto const design = psgm::pde::reference_conditions(2024, L);
  REQUIRE(design.size() == 1000);
  std::vector<double> ul, uu, uf;
  for (auto const& c : design) {
    REQUIRE(c.l >= L / 50);
    REQUIRE(c.l <= L / 5);
    REQUIRE(c.U0 >= -0.2);
    REQUIRE(c.U0 <= 0.2);
    REQUIRE(c.F_right >= 0.0);
    REQUIRE(c.F_right <= 50.0);
    ul.push_back(std::log(c.l / (L / 50)) / std::log(10.0));  // log-uniform l  <=>  uniform log(l)
    uu.push_back((c.U0 + 0.2) / 0.4);
    uf.push_back(c.F_right / 50.0);
  }
  // KS critical value at the 0.1 % level for n = 1000: 1.95 / sqrt(n) = 0.062.
  // (l uniform rather than log-uniform would give a distance of about 0.2.)
  CHECK(ks_uniform(ul) < 0.062);
  CHECK(ks_uniform(uu) < 0.062);
  CHECK(ks_uniform(uf) < 0.062);
  // The coordinates are not correlated with one another (|r| < 4 / sqrt(n)).
  auto corr = [](std::vector<double> const& a, std::vector<double> const& b) {
    double ma = 0, mb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) ma += a[i], mb += b[i];
    ma /= a.size(), mb /= b.size();
    double sab = 0, saa = 0, sbb = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
      sab += (a[i] - ma) * (b[i] - mb), saa += (a[i] - ma) * (a[i] - ma), sbb += (b[i] - mb) * (b[i] - mb);
    return sab / std::sqrt(saa * sbb);
  };
  CHECK(std::abs(corr(ul, uu)) < 0.126);
  CHECK(std::abs(corr(ul, uf)) < 0.126);
  CHECK(std::abs(corr(uu, uf)) < 0.126);
  // The spec's evaluation condition.
  CHECK(psgm::pde::reference_evaluation_condition(L) == Condition{L / 10, 0.0, 25.0});
}

TEST_CASE("random designs are reproducible, prefix-stable and seed-dependent", "[io][conditions]") {
  auto const ranges = ConditionRanges::reference();
  auto const a = psgm::pde::random_conditions(ranges, 40, 7);
  auto const b = psgm::pde::random_conditions(ranges, 1000, 7);
  auto const c = psgm::pde::random_conditions(ranges, 40, 8);
  CHECK(a == psgm::pde::random_conditions(ranges, 40, 7));
  CHECK(std::equal(a.begin(), a.end(), b.begin()));  // the small design is the start of the large one
  int same = 0;
  for (int k = 0; k < 40; ++k) same += a[k] == c[k];
  CHECK(same == 0);
  // Held-out conditions: same ranges, other generators.
  auto const h = psgm::pde::heldout_conditions(ranges, 40, 7);
  REQUIRE(h.size() == 40);
  for (auto const& x : h) {
    CHECK(std::find(b.begin(), b.end(), x) == b.end());
    CHECK((x.l >= ranges.l_min && x.l <= ranges.l_max));
  }
  CHECK(h == psgm::pde::heldout_conditions(ranges, 40, 7));
  // Other ranges: a degenerate (fixed) coordinate and uniform l.
  ConditionRanges r;
  r.l_min = r.l_max = 1e-5;
  r.U0_min = 0.05;
  r.U0_max = 0.1;
  r.F_right_min = r.F_right_max = 25.0;
  for (auto const& x : psgm::pde::random_conditions(r, 20, 1)) {
    CHECK(x.l == 1e-5);
    CHECK((x.U0 >= 0.05 && x.U0 <= 0.1));
    CHECK(x.F_right == 25.0);
  }
  CHECK(psgm::pde::random_conditions(r, 0, 1).empty());
}

TEST_CASE("invalid ranges and conditions name the value and what is expected", "[io][conditions]") {
  ConditionRanges r;
  r.l_min = 0.0;
  CHECK_THAT(error_message<InvalidArgument>([&] { psgm::pde::random_conditions(r, 3, 1); }),
             Contains("l_min must be > 0"));
  r = ConditionRanges{};
  r.U0_min = 0.3;
  CHECK_THAT(error_message<InvalidArgument>([&] { psgm::pde::random_conditions(r, 3, 1); }),
             Contains("U0 = [0.29999999999999999, 0.20000000000000001]") && Contains("expected U0_min <= U0_max"));
  r = ConditionRanges{};
  r.F_right_max = std::nan("");
  CHECK_THAT(error_message<InvalidArgument>([&] { r.validate(); }), Contains("F_right") && Contains("finite"));
  CHECK_THAT(error_message<InvalidArgument>([&] { psgm::pde::random_conditions({}, -1, 1); }),
             Contains("-1 must be >= 0"));
  CHECK_THAT(error_message<InvalidArgument>([&] { psgm::pde::validate_condition({-1e-5, 0, 0}); }),
             Contains("l = -1.0000000000000001e-05 must be finite and > 0"));
  CHECK_THAT(error_message<InvalidArgument>([&] { psgm::pde::validate_condition({1e-5, std::nan(""), 0}); }),
             Contains("U0 = nan must be finite"));
  CHECK(psgm::pde::spacing_from_string("log_uniform") == psgm::pde::Spacing::log_uniform);
  CHECK_THAT(error_message<InvalidArgument>([&] { psgm::pde::spacing_from_string("log"); }),
             Contains("'uniform' or 'log_uniform'"));
}

TEST_CASE("user-given conditions: rows and CSV files", "[io][conditions]") {
  auto const rows = psgm::pde::conditions_from_rows({{1e-5, 0.1, 10}, {2e-5, -0.1, 0}}, "conditions.list");
  CHECK(rows == std::vector<Condition>{{1e-5, 0.1, 10}, {2e-5, -0.1, 0}});
  CHECK_THAT(error_message<InvalidArgument>([&] { psgm::pde::conditions_from_rows({{1e-5, 0.1}}, "conditions.list"); }),
             Contains("conditions.list: row 0 has 2 values; expected 3 (l, U0, F_right)"));
  CHECK_THAT(
      error_message<InvalidArgument>([&] { psgm::pde::conditions_from_rows({{1e-5, 0, 1}, {0, 0, 1}}, "conditions.list"); }),
      Contains("conditions.list: row 1: correlation length l = 0 must be finite and > 0"));

  auto const dir = psgm_test::scratch_dir("io_conditions_csv");
  auto write = [&](std::string const& name, std::string const& text) {
    std::string const path = (dir / name).string();
    std::ofstream(path) << text;
    return path;
  };
  auto const good = write("good.csv", "# my design\nl,U0,F_right\n1e-5, 0.1, 10\n\n2e-5,-0.1,0\r\n");
  CHECK(psgm::pde::read_conditions_csv(good) == rows);
  CHECK(psgm::pde::read_conditions_csv(write("noheader.csv", "1e-5,0.1,10\n2e-5,-0.1,0\n")) == rows);
  auto const short_row = write("short.csv", "l,U0,F_right\n1e-5,0.1,10\n2e-5,0.1\n");
  CHECK_THAT(error_message<InvalidArgument>([&] { psgm::pde::read_conditions_csv(short_row); }),
             Contains("line 3: found 2 comma-separated values") && Contains("expected 3"));
  auto const word = write("word.csv", "1e-5,abc,10\n");
  CHECK_THAT(error_message<InvalidArgument>([&] { psgm::pde::read_conditions_csv(word); }),
             Contains("line 1: 'abc' is not a number"));
  auto const negative = write("negative.csv", "l,U0,F_right\n-2e-5,0,10\n");
  CHECK_THAT(error_message<InvalidArgument>([&] { psgm::pde::read_conditions_csv(negative); }),
             Contains("line 2: correlation length l = -2.0000000000000002e-05 must be finite and > 0"));
  auto const empty = write("empty.csv", "l,U0,F_right\n");
  CHECK_THAT(error_message<InvalidArgument>([&] { psgm::pde::read_conditions_csv(empty); }),
             Contains("holds no conditions"));
  CHECK_THAT(error_message<IoError>([&] { psgm::pde::read_conditions_csv((dir / "none.csv").string()); }),
             Contains("cannot be opened"));
}

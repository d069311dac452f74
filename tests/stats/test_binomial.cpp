// Binomial proportions: the normal quantile against tabulated values and its
// own inverse, and Wilson intervals against the published values of Newcombe
// (1998), "Two-sided confidence intervals for the single proportion",
// Stat. Med. 17, 857–872, Table II (method 3, score interval without
// continuity correction).
#include <psgm/core/Error.hpp>
#include <psgm/stats/Binomial.hpp>

#include <psgm_test.hpp>

#include <cmath>

TEST_CASE("normal_quantile matches tabulated values and inverts the normal CDF", "[stats][binomial]") {
  using psgm::stats::normal_quantile;
  CHECK(normal_quantile(0.975) == Approx(1.959963984540054).epsilon(1e-15));
  CHECK(normal_quantile(0.995) == Approx(2.5758293035489004).epsilon(1e-15));
  CHECK(normal_quantile(0.5) == Approx(0.0).margin(1e-16));
  CHECK(normal_quantile(0.025) == Approx(-1.959963984540054).epsilon(1e-15));
  CHECK(normal_quantile(1e-10) == Approx(-6.361340902404056).epsilon(1e-13));
  // Φ(Φ⁻¹(p)) = p across the central region and both tails.
  for (double p : {1e-300, 1e-12, 1e-4, 0.01, 0.02425, 0.1, 0.3, 0.5, 0.77, 0.97575, 0.999, 1 - 1e-9}) {
    double const x = normal_quantile(p);
    double const back = 0.5 * std::erfc(-x / std::sqrt(2.0));
    CHECK(back == Approx(p).epsilon(1e-13));
  }
  CHECK_THROWS_AS(normal_quantile(0.0), psgm::InvalidArgument);
  CHECK_THROWS_AS(normal_quantile(1.0), psgm::InvalidArgument);
  CHECK_THROWS_AS(normal_quantile(std::nan("")), psgm::InvalidArgument);
}

TEST_CASE("Wilson intervals reproduce Newcombe (1998), Table II", "[stats][binomial]") {
  struct Row {
    int k, n;
    double lower, upper;
  };
  for (Row const r : {Row{81, 263, 0.2553, 0.3662}, Row{15, 148, 0.0624, 0.1605}, Row{0, 20, 0.0, 0.1611},
                      Row{1, 29, 0.0061, 0.1718}, Row{29, 29, 0.8830, 1.0}}) {
    auto const p = psgm::stats::wilson_interval(r.k, r.n, 0.95);
    INFO(r.k << " / " << r.n << ": [" << p.lower << ", " << p.upper << "]");
    CHECK(p.successes == r.k);
    CHECK(p.trials == r.n);
    CHECK(p.estimate == Approx(double(r.k) / r.n).epsilon(1e-15));
    CHECK(std::fabs(p.lower - r.lower) <= 0.5e-4);
    CHECK(std::fabs(p.upper - r.upper) <= 0.5e-4);
    CHECK(p.lower <= p.estimate);
    CHECK(p.estimate <= p.upper);
  }
  // Exact ends at k = 0 and k = n, and narrower intervals at lower confidence.
  CHECK(psgm::stats::wilson_interval(0, 50).lower == 0.0);
  CHECK(psgm::stats::wilson_interval(50, 50).upper == 1.0);
  auto const wide = psgm::stats::wilson_interval(30, 100, 0.99);
  auto const narrow = psgm::stats::wilson_interval(30, 100, 0.8);
  CHECK(wide.lower < narrow.lower);
  CHECK(wide.upper > narrow.upper);
}

TEST_CASE("Wilson intervals cover the true proportion at about their nominal rate", "[stats][binomial]") {
  // Exact coverage for p = 0.1, n = 200 by summing the binomial pmf over the
  // k whose interval contains p; Wilson's is close to 0.95 here.
  int const n = 200;
  double const p = 0.1;
  double coverage = 0.0;
  for (int k = 0; k <= n; ++k) {
    auto const ci = psgm::stats::wilson_interval(k, n);
    if (ci.lower <= p && p <= ci.upper) {
      double const log_pmf = std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0) +
                             k * std::log(p) + (n - k) * std::log1p(-p);
      coverage += std::exp(log_pmf);
    }
  }
  CHECK(coverage > 0.93);
  CHECK(coverage < 0.97);
}

TEST_CASE("Wilson intervals reject impossible counts", "[stats][binomial]") {
  CHECK_THROWS_AS(psgm::stats::wilson_interval(1, 0), psgm::InvalidArgument);
  CHECK_THROWS_AS(psgm::stats::wilson_interval(-1, 10), psgm::InvalidArgument);
  CHECK_THROWS_AS(psgm::stats::wilson_interval(11, 10), psgm::InvalidArgument);
  CHECK_THROWS_AS(psgm::stats::wilson_interval(5, 10, 1.0), psgm::InvalidArgument);
  CHECK_THROWS_WITH(psgm::stats::wilson_interval(11, 10), Catch::Contains("successes = 11"));
}

// The samplers' contract apart from accuracy (docs/sampling.md): time grids
// and reparametrisations, reproducibility (seed, batch split, thread count),
// NFE counts measured on the model, profiling labels, float models, and the
// refusal of bad parameters with messages that say what is wrong.
#include "SdeTestProblems.hpp"

#include <psgm/core/Error.hpp>
#include <psgm/sde/AnalyticScore.hpp>
#include <psgm/sde/Sampler.hpp>
#include <psgm/sde/impl/Sampler_Impl.hpp>

#include <ProfilingRecorder.hpp>
#include <psgm_test.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>

namespace {

using psgm::sde::SamplerConfig;
using psgm::sde::SamplerKind;
using psgm::model::SdeConfig;
using psgm::model::SdeType;
using psgm::sde::TimeGrid;

using psgm_test::sde_of;

/// Every sampler with few steps (fast), and churn for EDM.
std::vector<SamplerConfig> all_configs() {
  std::vector<SamplerConfig> out;
  for (auto const& name : psgm::sde::sampler_names()) {
    auto c = SamplerConfig::defaults(psgm::sde::sampler_kind_from_string(name));
    c.steps = c.kind == SamplerKind::edm_heun ? 6 : 5;
    c.rtol = c.atol = 1e-4;
    if (c.kind == SamplerKind::edm_heun) c.s_churn = 10;
    out.push_back(c);
  }
  return out;
}

/// A ScoreModel that forwards to an analytic one and counts its evaluations:
/// the NFE a sampler reports must be the number of score() calls it made.
template <class ExecSpace>
struct CountingModel {
  using inner_type = psgm::sde::AnalyticScore<ExecSpace, double>;
  using execution_space = ExecSpace;
  using memory_space = typename inner_type::memory_space;
  using scalar_type = double;
  using field_view = typename inner_type::field_view;
  using const_field_view = typename inner_type::const_field_view;
  using const_time_view = typename inner_type::const_time_view;
  using const_cond_view = typename inner_type::const_cond_view;

  inner_type* inner;
  std::int64_t calls = 0;
  int largest_batch = 0;

  psgm::model::ModelDescription const& description() const { return inner->description(); }
  void reserve(int b) { inner->reserve(b); }
  void score(ExecSpace const& space, const_field_view x, const_time_view t, const_cond_view c, field_view out) {
    ++calls;
    largest_batch = std::max(largest_batch, int(x.extent(0)));
    inner->score(space, x, t, c, out);
  }
};

template <class ExecSpace>
std::vector<double> sample_flat(SdeConfig const& sde, SamplerConfig const& config, std::vector<int> const& batches,
                                std::uint64_t seed) {
  ExecSpace space;
  psgm_test::GaussianProblem const p;
  auto const norm = psgm_test::test_normalization();
  psgm::sde::AnalyticScore<ExecSpace, double> model(space, p.spec(), sde, norm);
  psgm::sde::Sampler<psgm::sde::AnalyticScore<ExecSpace, double>> sampler(space, model, config, 16);
  std::vector<double> out;
  std::int64_t first = 0;
  for (int b : batches) {
    Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> cond("psgm::test::cond", b, 3);
    for (int i = 0; i < b; ++i) {
      cond(i, 0) = (i + first) % 2 ? 1e-5 : 4e-6;
      cond(i, 1) = 0.05;
      cond(i, 2) = 25;
    }
    typename decltype(sampler)::field_view fields("psgm::test::fields", b, 2, psgm_test::num_points);
    sampler.sample(space, cond, seed, first, fields);
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, fields);
    for (std::size_t i = 0; i < h.size(); ++i) out.push_back(h.data()[i]);
    first += b;
  }
  return out;
}

template <class E>
void check_message(E const& e, std::vector<std::string> const& parts) {
  std::string const what = e.what();
  for (auto const& part : parts) {
    INFO("message: " << what << "\nexpected to contain: " << part);
    CHECK(what.find(part) != std::string::npos);
  }
}

template <class F>
void expect_invalid(F&& f, std::vector<std::string> const& parts) {
  try {
    f();
    FAIL("no psgm::InvalidArgument thrown; expected a message with " << parts.front());
  } catch (psgm::InvalidArgument const& e) {
    check_message(e, parts);
  }
}

/// Labelled buffers for one call of Sampler::sample: n conditions (l = 1e-5,
/// the others 0), the fields and the statuses.
template <class Sampler>
struct SampleBuffers {
  Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> cond;
  typename Sampler::field_view out;
  typename Sampler::status_view status;
  explicit SampleBuffers(int n)
      : cond(Kokkos::view_alloc(std::string("psgm::test::cond")), n, 3),
        out(Kokkos::view_alloc(std::string("psgm::test::out")), n, 2, psgm_test::num_points),
        status(Kokkos::view_alloc(std::string("psgm::test::status")), n) {
    for (int i = 0; i < n; ++i) cond(i, 0) = 1e-5;
  }
};

}  // namespace

TEST_CASE("time grids and reparametrisations", "[sde][grid]") {
  // The reference grid of spec sgm.md §5: t_n = t_min + (1 - t_min)(1 - n/K)^2.
  psgm::sde::DiffusionProcess const vp(SdeConfig{});
  auto const g = psgm::sde::make_time_grid(vp, TimeGrid::quadratic, 1000, 1.0, 1e-4);
  REQUIRE(g.size() == 1001);
  for (int n = 0; n <= 1000; ++n) {
    double const u = n / 1000.0;
    CHECK(g[n] == Approx(1e-4 + (1 - 1e-4) * (1 - u) * (1 - u)).epsilon(1e-15).margin(1e-18));
  }
  CHECK(g.front() == 1.0);
  CHECK(g.back() == 1e-4);
  for (auto type : {SdeType::vp, SdeType::ve, SdeType::edm}) {
    psgm::sde::DiffusionProcess const p(sde_of(type));
    for (double u : {0.0, 0.1, 0.37, 0.5, 0.9, 1.0}) {
      double const t = p.t_lo() + u * (p.t_hi() - p.t_lo());
      CHECK(p.time_of_sigma(p.sigma(t)) == Approx(t).epsilon(1e-12).margin(1e-14 * p.t_hi()));
      CHECK(p.time_of_lambda(p.lambda(t)) == Approx(t).epsilon(1e-10).margin(1e-14 * p.t_hi()));
      CHECK(p.sigma(t) == Approx(p.stddev(t) / p.mean(t)).epsilon(1e-12));
      CHECK(p.lambda(t) == Approx(std::log(p.mean(t) / p.stddev(t))).epsilon(1e-12).margin(1e-12));
      // v' = 2 f v + g^2 (the variance of the forward SDE), by central differences.
      double const dt = 1e-6 * (p.t_hi() - p.t_lo());
      if (t - dt > 0) {
        double const dv = (p.variance(t + dt) - p.variance(t - dt)) / (2 * dt);
        CHECK(dv == Approx(2 * p.drift(t) * p.variance(t) + p.diffusion2(t)).epsilon(1e-6));
        double const dm = (p.mean(t + dt) - p.mean(t - dt)) / (2 * dt);
        CHECK(dm == Approx(p.drift(t) * p.mean(t)).epsilon(1e-6).margin(1e-12));
      }
    }
    // log-SNR grid: uniform in lambda; Karras grid: uniform in sigma^(1/rho).
    auto const l = psgm::sde::make_time_grid(p, TimeGrid::log_snr, 10, p.t_hi(), p.t_lo());
    auto const k = psgm::sde::make_time_grid(p, TimeGrid::karras, 10, p.t_hi(), p.t_lo(), 7.0);
    for (int n = 1; n < 10; ++n) {
      CHECK(p.lambda(l[n + 1]) - p.lambda(l[n]) == Approx(p.lambda(l[1]) - p.lambda(l[0])).epsilon(1e-9));
      CHECK(std::pow(p.sigma(k[n + 1]), 1 / 7.0) - std::pow(p.sigma(k[n]), 1 / 7.0) ==
            Approx(std::pow(p.sigma(k[1]), 1 / 7.0) - std::pow(p.sigma(k[0]), 1 / 7.0)).epsilon(1e-9));
    }
  }
  // EDM: 18 levels, 35 evaluations (spec sgm.md §2).
  CHECK(SamplerConfig::defaults(SamplerKind::edm_heun).planned_nfe() == 35);
  CHECK(SamplerConfig::defaults(SamplerKind::stochastic_heun).planned_nfe() == 2000);
}

PSGM_BACKEND_TEST_CASE("same seed, same samples; the batch split does not matter", "[sde][sampler][repro]") {
  using ExecSpace = TestType;
  for (auto const& config : all_configs()) {
    INFO("sampler " << config.describe());
    for (auto type : {SdeType::vp, SdeType::edm}) {
      if (type == SdeType::edm && config.kind == SamplerKind::predictor_corrector) continue;
      auto const a = sample_flat<ExecSpace>(sde_of(type), config, {12}, 42);
      auto const b = sample_flat<ExecSpace>(sde_of(type), config, {12}, 42);
      CHECK(a == b);
      auto const other = sample_flat<ExecSpace>(sde_of(type), config, {12}, 43);
      CHECK(a != other);
      // The Langevin corrector's step size is a batch statistic (as in Song
      // et al.): predictor-corrector samples depend on the batch split.
      if (config.kind != SamplerKind::predictor_corrector) {
        auto const split = sample_flat<ExecSpace>(sde_of(type), config, {5, 7}, 42);
        CHECK(a == split);
      }
    }
  }
}

#if defined(KOKKOS_ENABLE_SERIAL) && defined(KOKKOS_ENABLE_OPENMP)
TEST_CASE("the samples do not depend on the thread count (Serial == OpenMP, bitwise)", "[sde][sampler][repro]") {
  std::printf("[sde] OpenMP runs with %d threads\n", Kokkos::OpenMP::impl_thread_pool_size());
  for (auto const& config : all_configs()) {
    INFO("sampler " << config.describe());
    auto const serial = sample_flat<Kokkos::Serial>(SdeConfig{}, config, {12}, 11);
    auto const openmp = sample_flat<Kokkos::OpenMP>(SdeConfig{}, config, {12}, 11);
    CHECK(serial == openmp);
  }
}
#endif

PSGM_BACKEND_TEST_CASE("the reported NFE is the number of score evaluations", "[sde][sampler][nfe]") {
  using ExecSpace = TestType;
  ExecSpace space;
  psgm_test::GaussianProblem const p;
  for (auto type : {SdeType::vp, SdeType::ve, SdeType::edm}) {
    psgm::sde::AnalyticScore<ExecSpace, double> inner(space, p.spec(), sde_of(type), psgm_test::test_normalization());
    for (auto config : all_configs()) {
      INFO("sampler " << config.describe() << " on " << psgm::model::to_string(type));
      CountingModel<ExecSpace> model{&inner};
      psgm::sde::Sampler<CountingModel<ExecSpace>> sampler(space, model, config, 8);
      Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> cond("psgm::test::cond", 6, 3);
      for (int i = 0; i < 6; ++i) {
        cond(i, 0) = 1e-5;
        cond(i, 2) = 25;
      }
      typename decltype(sampler)::field_view out("psgm::test::out", 6, 2, psgm_test::num_points);
      auto const r = sampler.sample(space, cond, 3, 0, out);
      CHECK(r.nfe == model.calls);
      CHECK(model.largest_batch == 6);
      CHECK(r.num_samples == 6);
      CHECK(r.num_failed == 0);
      if (config.kind != SamplerKind::ode_dopri5) {
        CHECK(r.nfe == config.planned_nfe());
      } else {
        CHECK(r.nfe == 2 + 6 * r.steps);
        CHECK(r.accepted_steps >= 6);
      }
    }
  }
  // The reference sampler: 1000 steps, 2000 evaluations.
  CHECK(SamplerConfig::defaults(SamplerKind::stochastic_heun).steps == 1000);
}

PSGM_BACKEND_TEST_CASE("every kernel and View is labelled; every call opens a region", "[sde][sampler][profiling]") {
  using ExecSpace = TestType;
  ExecSpace space;
  psgm_test::GaussianProblem const p;
  for (auto type : {SdeType::vp, SdeType::edm}) {
    for (auto const& config : all_configs()) {
      INFO("sampler " << config.describe());
      psgm_test::ProfilingRecorder recorder;
      psgm::sde::AnalyticScore<ExecSpace, float> model(space, p.spec(), sde_of(type), psgm_test::test_normalization());
      psgm::sde::Sampler<psgm::sde::AnalyticScore<ExecSpace, float>> sampler(space, model, config, 4);
      SampleBuffers<decltype(sampler)> buf(4);
      sampler.sample(space, buf.cond, 1, 0, buf.out, buf.status);
      CHECK(recorder.has_region("psgm::sde::Sampler::Sampler"));
      CHECK(recorder.has_region("psgm::sde::Sampler::sample"));
      CHECK(recorder.has_region("psgm::sde::Sampler::integrate"));
      CHECK(recorder.has_region("psgm::sde::AnalyticScore::score"));
      CHECK(recorder.unlabelled_kernels().empty());
      for (auto const& k : recorder.unlabelled_kernels()) UNSCOPED_INFO("unlabelled kernel " << k);
      CHECK(recorder.unlabelled_allocations().empty());
      for (auto const& a : recorder.unlabelled_allocations()) UNSCOPED_INFO("unlabelled View " << a);
    }
  }
}

PSGM_BACKEND_TEST_CASE("float models sample like double models", "[sde][sampler][float]") {
  using ExecSpace = TestType;
  ExecSpace space;
  psgm_test::GaussianProblem const p;
  auto const norm = psgm::sde::identity_normalization();
  for (auto kind : {SamplerKind::stochastic_heun, SamplerKind::ode_dopri5, SamplerKind::dpm_solver_2m}) {
    auto config = SamplerConfig::defaults(kind);
    if (kind == SamplerKind::stochastic_heun) config.steps = 100;
    psgm::sde::AnalyticScore<ExecSpace, double> md(space, p.spec(), SdeConfig{}, norm);
    psgm::sde::AnalyticScore<ExecSpace, float> mf(space, p.spec(), SdeConfig{}, norm);
    psgm::sde::Sampler<decltype(md)> sd(space, md, config, 32);
    psgm::sde::Sampler<decltype(mf)> sf(space, mf, config, 32);
    std::vector<std::array<double, 3>> conditions(32, {0.2, 0.4, 0.6});
    auto const xd = psgm_test::draw(space, sd, conditions, 8, norm);
    auto const xf = psgm_test::draw(space, sf, conditions, 8, norm);
    double worst = 0;
    for (std::size_t s = 0; s < xd.size(); ++s)
      for (int i = 0; i < psgm_test::dim; ++i) worst = std::max(worst, std::fabs(xd[s][i] - xf[s][i]));
    std::printf("[sde] %-16s %-7s float vs double: max |difference| %.2e\n", psgm::sde::to_string(kind),
                ExecSpace::name(), worst);
    CHECK(worst < 2e-3);
  }
}

PSGM_BACKEND_TEST_CASE("bad parameters are refused with a message that says what is wrong", "[sde][sampler][errors]") {
  using ExecSpace = TestType;
  ExecSpace space;
  psgm_test::GaussianProblem const p;
  psgm::sde::AnalyticScore<ExecSpace, double> model(space, p.spec(), SdeConfig{}, psgm_test::test_normalization());
  using S = psgm::sde::Sampler<psgm::sde::AnalyticScore<ExecSpace, double>>;
  auto make = [&](SamplerConfig const& c, int max_batch = 4) { S s(space, model, c, max_batch); };

  expect_invalid([] { psgm::sde::sampler_kind_from_string("heun2"); }, {"unknown sampler 'heun2'", "stochastic_heun"});
  expect_invalid([] { psgm::sde::time_grid_from_string("cubic"); }, {"unknown time grid 'cubic'", "quadratic"});
  auto c = SamplerConfig::defaults(SamplerKind::euler_maruyama);
  c.steps = 0;
  expect_invalid([&] { make(c); }, {"euler_maruyama", "steps = 0", ">= 1"});
  c = SamplerConfig::defaults(SamplerKind::edm_heun);
  c.steps = 1;
  expect_invalid([&] { make(c); }, {"edm_heun", "steps = 1", ">= 2"});
  c = SamplerConfig::defaults(SamplerKind::predictor_corrector);
  c.snr = 0;
  expect_invalid([&] { make(c); }, {"snr = 0", "> 0"});
  c = SamplerConfig::defaults(SamplerKind::ode_dopri5);
  c.rtol = 0;
  expect_invalid([&] { make(c); }, {"rtol = 0", "(0, 1)"});
  c = SamplerConfig::defaults(SamplerKind::ode_dopri5);
  c.atol = -1;
  expect_invalid([&] { make(c); }, {"atol = -1"});
  c = SamplerConfig::defaults(SamplerKind::ode_dopri5);
  c.max_factor = 0.5;
  expect_invalid([&] { make(c); }, {"max_factor = 0.5"});
  c = SamplerConfig::defaults(SamplerKind::edm_heun);
  c.s_churn = -1;
  expect_invalid([&] { make(c); }, {"s_churn = -1"});
  c = SamplerConfig::defaults(SamplerKind::ode_heun);
  c.t_end = 0.5;
  c.t_start = 0.25;
  expect_invalid([&] { make(c); }, {"t_end = 0.5", "t_start = 0.25", "backwards"});
  c = SamplerConfig::defaults(SamplerKind::ode_heun);
  c.t_end = 1.52587890625e-05;  // 2^-16, below t_min = 1e-4
  expect_invalid([&] { make(c); }, {"[1.52587890625e-05, 1]", "trained only there"});
  c = SamplerConfig::defaults(SamplerKind::ode_heun);
  expect_invalid([&] { make(c, 0); }, {"max_batch = 0"});
  // A VP schedule that leaves signal at t = 1 is refused by the model (spec sgm.md §2).
  SdeConfig weak;
  weak.vp.beta_max = 3;
  expect_invalid([&] { psgm::sde::AnalyticScore<ExecSpace, double>(space, p.spec(), weak); },
                 {"beta_max = 3", "m(1) = 0.47", "biased"});
  // Calls with inconsistent shapes.
  S sampler(space, model, SamplerConfig::defaults(SamplerKind::ode_heun), 4);
  Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> cond("psgm::test::cond", 4, 3);
  for (int i = 0; i < 4; ++i) cond(i, 0) = 1e-5;
  typename S::field_view big("psgm::test::big", 5, 2, psgm_test::num_points);
  expect_invalid([&] { sampler.sample(space, cond, 1, 0, big); }, {"batch of 5", "max_batch = 4"});
  typename S::field_view three("psgm::test::three", 3, 2, psgm_test::num_points);
  expect_invalid([&] { sampler.sample(space, cond, 1, 0, three); }, {"4 conditions for 3 samples"});
  typename S::field_view wrong("psgm::test::wrong", 4, 2, psgm_test::num_points + 1);
  expect_invalid([&] { sampler.sample(space, cond, 1, 0, wrong); }, {"out has shape (4, 2, 5)", "(B, 2, 4)"});
  cond(1, 0) = -0.0078125;
  typename S::field_view four("psgm::test::four", 4, 2, psgm_test::num_points);
  expect_invalid([&] { sampler.sample(space, cond, 1, 0, four); },
                 {"sample 1", "condition 0 = -0.0078125", "log-transformed"});
  cond(1, 0) = std::nan("");
  expect_invalid([&] { sampler.sample(space, cond, 1, 0, four); }, {"sample 1", "not finite"});
}

PSGM_BACKEND_TEST_CASE("a sample that is not finite in physical units is not ok", "[sde][sampler][status]") {
  using ExecSpace = TestType;
  ExecSpace space;
  psgm_test::GaussianProblem const p;
  // Finite in normalised space, but c = 1e300 x overflows a float: the
  // stored fields decide the status, not the normalised ones.
  auto overflowing = psgm_test::test_normalization();
  overflowing.field_std[0] = 1e300;
  for (bool const overflow : {false, true}) {
    INFO((overflow ? "c scale 1e300" : "the test normalisation"));
    psgm::sde::AnalyticScore<ExecSpace, float> model(space, p.spec(), SdeConfig{},
                                                     overflow ? overflowing : psgm_test::test_normalization());
    auto config = SamplerConfig::defaults(SamplerKind::ode_heun);
    config.steps = 4;
    psgm::sde::Sampler<decltype(model)> sampler(space, model, config, 4);
    SampleBuffers<decltype(sampler)> buf(4);
    auto const report = sampler.sample(space, buf.cond, 5, 0, buf.out, buf.status);
    auto const h_out = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, buf.out);
    auto const h_status = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, buf.status);
    std::int64_t not_ok = 0;
    for (int b = 0; b < 4; ++b) {
      bool finite = true;
      for (int c = 0; c < 2; ++c)
        for (int i = 0; i < psgm_test::num_points; ++i) finite = finite && std::isfinite(h_out(b, c, i));
      CHECK(finite == !overflow);
      CHECK(h_status(b) == (finite ? psgm::SolveStatus::ok : psgm::SolveStatus::non_finite));
      not_ok += h_status(b) == psgm::SolveStatus::ok ? 0 : 1;
    }
    CHECK(report.num_failed == not_ok);
  }
}

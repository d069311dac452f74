// Samplers as policy types (docs/sampling.md, "adding a sampler"): each method
// composes with a model at compile time and draws what the run-time choice
// draws, the name table maps names and keys to methods, and a key that the
// chosen method does not take is refused with the keys it does take.
#include "SdeTestProblems.hpp"

#include <psgm/core/Error.hpp>
#include <psgm/sde/AnalyticScore.hpp>
#include <psgm/sde/Sampler.hpp>
#include <psgm/sde/impl/Sampler_Impl.hpp>

#include <psgm_test.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace {

using psgm::sde::SamplerConfig;
using psgm::sde::SamplerKind;

template <class Sampler>
std::vector<double> draw_fields(Sampler& sampler, psgm::sde::SampleReport& report) {
  using ExecSpace = typename Sampler::execution_space;
  ExecSpace space;
  Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> cond("psgm::test::cond", 3, 3);
  for (int i = 0; i < 3; ++i) {
    cond(i, 0) = i % 2 ? 1e-5 : 4e-6;
    cond(i, 1) = 0.05;
    cond(i, 2) = 25;
  }
  typename Sampler::field_view fields("psgm::test::fields", 3, 2, psgm_test::num_points);
  report = sampler.sample(space, cond, 77, 2, fields);
  auto const h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, fields);
  return std::vector<double>(h.data(), h.data() + h.size());
}

}  // namespace

TEST_CASE("each method composes with a model at compile time and draws what the name table's choice draws",
          "[sde][sampler][policy]") {
  using ExecSpace = Kokkos::DefaultHostExecutionSpace;
  using Model = psgm::sde::AnalyticScore<ExecSpace, double>;
  ExecSpace space;
  psgm_test::GaussianProblem const p;
  psgm::model::SdeConfig sde;
  sde.type = psgm::model::SdeType::edm;
  Model model(space, p.spec(), sde, psgm_test::test_normalization());
  psgm::sde::Impl::for_each_method([&](auto method) {
    using Method = decltype(method);
    INFO("method " << Method::name);
    auto any = SamplerConfig::defaults(psgm::sde::sampler_kind_from_string(Method::name));
    typename Method::Config own;  // the method's defaults are the table's
    CHECK(any.to_toml() == ([&] {
            auto c = any;
            static_cast<typename Method::Config&>(c) = own;
            return c.to_toml();
          })());
    any.steps = 5;
    any.rtol = any.atol = 1e-4;
    if (any.kind == SamplerKind::edm_heun) any.s_churn = 10;
    own = any.template of<Method>();
    psgm::sde::Sampler<Model, Method> typed(space, model, own, 4);
    psgm::sde::Sampler<Model> chosen(space, model, any, 4);
    psgm::sde::SampleReport rt, rc;
    auto const a = draw_fields(typed, rt);
    auto const b = draw_fields(chosen, rc);
    CHECK(a == b);
    CHECK(rt.nfe == rc.nfe);
    CHECK(rt.steps == rc.steps);
    CHECK(typed.time_grid() == chosen.time_grid());
  });
}

TEST_CASE("the name table: names, aliases, keys, and refusal of another sampler's keys", "[sde][sampler][policy]") {
  // The methods of docs/sampling.md §2-§4 (a new method adds to them).
  auto const names = psgm::sde::sampler_names();
  for (char const* name : {"euler_maruyama", "stochastic_heun", "predictor_corrector", "ode_heun", "ode_dopri5",
                           "dpm_solver_2m", "edm_heun"})
    CHECK(std::count(names.begin(), names.end(), name) == 1);
  for (auto const& name : names) CHECK(psgm::sde::to_string(psgm::sde::sampler_kind_from_string(name)) == name);
  CHECK(psgm::sde::to_string(SamplerKind::edm_heun) == std::string("edm_heun"));
  CHECK(psgm::sde::sampler_kind_from_string("reference") == SamplerKind::stochastic_heun);
  CHECK(psgm::sde::sampler_kind_from_string("dopri5") == SamplerKind::ode_dopri5);
  CHECK(psgm::sde::sampler_kind_from_string("edm") == SamplerKind::edm_heun);

  auto const keys = psgm::sde::sampler_parameter_names();
  for (char const* k : {"t_start", "t_end", "steps", "grid", "rho", "corrector_steps", "snr", "rtol", "atol",
                        "initial_step", "safety", "min_factor", "max_factor", "max_iterations", "s_churn", "s_tmin",
                        "s_tmax", "s_noise", "exact_gaussian"})
    CHECK(std::count(keys.begin(), keys.end(), k) == 1);

  auto const heun = SamplerConfig::defaults(SamplerKind::ode_heun);
  CHECK(heun.parameter_names() == std::vector<std::string>{"t_start", "t_end", "steps", "grid", "rho"});
  CHECK(heun.accepts("steps"));
  CHECK_FALSE(heun.accepts("rtol"));
  try {
    heun.require_accepts("rtol");
    FAIL("sampler.rtol accepted by ode_heun");
  } catch (psgm::InvalidArgument const& e) {
    std::string const what = e.what();
    INFO(what);
    CHECK(what.find("ode_heun does not take 'rtol'") != std::string::npos);
    CHECK(what.find("t_start, t_end, steps, grid, rho") != std::string::npos);
  }
  auto const dopri = SamplerConfig::defaults(SamplerKind::ode_dopri5);
  CHECK_FALSE(dopri.accepts("steps"));
  CHECK(dopri.accepts("max_iterations"));
  auto const edm = SamplerConfig::defaults(SamplerKind::edm_heun);
  for (char const* k : {"s_churn", "s_tmin", "s_tmax", "s_noise", "exact_gaussian", "steps"}) CHECK(edm.accepts(k));
  CHECK_FALSE(edm.accepts("snr"));

  // What files record (provenance) and the one-line description, as before the policies.
  CHECK(edm.to_toml() ==
        "name = \"edm_heun\"\nt_start = 0.0\nt_end = 0.0\nsteps = 18\ngrid = \"karras\"\nrho = 7.0\n"
        "s_churn = 0.0\ns_tmin = 0.0\ns_tmax = inf\ns_noise = 1.0\nexact_gaussian = false\n");
  CHECK(dopri.to_toml() ==
        "name = \"ode_dopri5\"\nt_start = 0.0\nt_end = 0.0\nrtol = 1.0000000000000001e-05\n"
        "atol = 1.0000000000000001e-05\ninitial_step = 0.0\nsafety = 0.90000000000000002\nmin_factor = "
        "0.20000000000000001\nmax_factor = 10.0\nmax_iterations = 100000\n");
  CHECK(SamplerConfig::defaults(SamplerKind::dpm_solver_2m).describe() == "dpm_solver_2m steps=20 grid=log_snr");
  auto pc = SamplerConfig::defaults(SamplerKind::predictor_corrector);
  pc.t_end = 0.01;
  CHECK(pc.describe() == "predictor_corrector steps=1000 grid=quadratic corrector_steps=1 snr=0.16 t_end=0.01");
  CHECK(SamplerConfig::defaults(SamplerKind::stochastic_heun).is_stochastic());
  CHECK_FALSE(edm.is_stochastic());
}

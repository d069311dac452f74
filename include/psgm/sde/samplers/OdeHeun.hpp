// Fixed-step Heun on the probability-flow ODE (docs/sampling.md §3, eqs.
// 3.1-3.2): two evaluations per step, no noise after the prior.
#pragma once

#include <psgm/sde/samplers/Integration.hpp>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace psgm {
namespace sde {

struct OdeHeun {
  static constexpr char const* name = "ode_heun";
  static constexpr char const* aliases[] = {"heun"};

  /// 100 steps on the quadratic grid.
  struct Config : virtual FixedStepParameters {
    Config() {
      steps = 100;
      grid = TimeGrid::quadratic;
    }
    template <class F>
    void for_each_parameter(F&& f) {
      for_each_fixed_step_parameter(f);
    }
  };

  static void validate(Config const& c, DiffusionProcess const& process) {
    c.validate_interval(name, process);
    c.validate_steps(name, 1);
  }
  static std::vector<double> time_grid(Config const& c, DiffusionProcess const& process) {
    return c.fixed_step_grid(process, c.steps);
  }
  static bool is_stochastic(Config const&) { return false; }
  static std::int64_t planned_nfe(Config const& c) { return 2 * std::int64_t(c.steps); }
  static std::string describe(Config const& c) {
    std::ostringstream os;
    os.precision(6);
    os << name;
    c.describe_steps(os);
    c.describe_interval(os);
    return os.str();
  }

  template <class Model>
  struct Workspace {
    using field_view = typename Integration<Model>::field_view;
    field_view score, velocity, predictor;
    Workspace(Integration<Model> const& in, typename Model::execution_space const& space, Config const&)
        : score(in.allocate_field(space, "psgm::sde::sampler::score")),
          velocity(in.allocate_field(space, "psgm::sde::sampler::velocity")),
          predictor(in.allocate_field(space, "psgm::sde::sampler::predictor")) {}
  };

  template <class Model>
  static void run(typename Model::execution_space const& space, Integration<Model>& in, Workspace<Model> const& w,
                  Config const&, SamplerCall const& call, typename Integration<Model>::field_view x,
                  SampleReport& report) {
    int const batch = call.batch;
    auto const s = in.work(w.score, batch), k1 = in.work(w.velocity, batch), xp = in.work(w.predictor, batch);
    auto const& grid = in.grid();
    auto const& process = in.process();
    std::int64_t const n = static_cast<std::int64_t>(x.size());
    int const steps = static_cast<int>(grid.size()) - 1;
    for (int k = 0; k < steps; ++k) {
      double const t0 = grid[k], t1 = grid[k + 1], h = t1 - t0;  // h < 0
      double const f0 = process.drift(t0), g20 = process.diffusion2(t0);
      double const f1 = process.drift(t1), g21 = process.diffusion2(t1);
      in.evaluate(space, x, t0, s);
      // (3.1) k1 = f x - 1/2 g^2 s;  x~ = x + h k1
      Impl::combine(space, "psgm::sde::ode_heun_velocity", n, {}, k1.data(), f0, x.data(), -0.5 * g20, s.data());
      Impl::combine(space, "psgm::sde::ode_heun_predictor", n, in.next_time(batch, t1), xp.data(), 1.0, x.data(), h,
                    k1.data());
      in.evaluate(space, xp, t1, s);
      // (3.2) x <- x + h/2 (k1 + f1 x~ - 1/2 g1^2 s~)
      Impl::combine(space, "psgm::sde::ode_heun_corrector", n, {}, x.data(), 1.0, x.data(), 0.5 * h, k1.data(),
                    0.5 * h * f1, xp.data(), -0.25 * h * g21, s.data());
    }
    in.report_fixed_steps(report, steps);
  }
};

}  // namespace sde
}  // namespace psgm

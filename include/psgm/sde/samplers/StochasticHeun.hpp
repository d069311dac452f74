// The reference stochastic Heun of spec sgm.md §5 on the reverse-time SDE
// (docs/sampling.md §2, eqs. 2.2-2.3): an Euler-Maruyama predictor and a
// trapezoidal corrector with the same noise draw, two evaluations per step.
#pragma once

#include <psgm/sde/samplers/Integration.hpp>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace psgm {
namespace sde {

struct StochasticHeun {
  static constexpr char const* name = "stochastic_heun";
  static constexpr char const* aliases[] = {"reference"};

  /// 1000 steps on the quadratic grid (spec sgm.md §5).
  struct Config : virtual FixedStepParameters {
    Config() {
      steps = 1000;
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
  static bool is_stochastic(Config const&) { return true; }
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
    field_view score, noise, predictor, predictor_score;
    Workspace(Integration<Model> const& in, typename Model::execution_space const& space, Config const&)
        : score(in.allocate_field(space, "psgm::sde::sampler::score")),
          noise(in.allocate_field(space, "psgm::sde::sampler::noise")),
          predictor(in.allocate_field(space, "psgm::sde::sampler::predictor")),
          predictor_score(in.allocate_field(space, "psgm::sde::sampler::predictor_score")) {}
  };

  template <class Model>
  static void run(typename Model::execution_space const& space, Integration<Model>& in, Workspace<Model> const& w,
                  Config const&, SamplerCall const& call, typename Integration<Model>::field_view x,
                  SampleReport& report) {
    int const batch = call.batch;
    auto const s = in.work(w.score, batch), z = in.work(w.noise, batch), xp = in.work(w.predictor, batch),
               sp = in.work(w.predictor_score, batch);
    auto const& grid = in.grid();
    auto const& process = in.process();
    std::int64_t const n = static_cast<std::int64_t>(x.size());
    int const steps = static_cast<int>(grid.size()) - 1;
    for (int k = 0; k < steps; ++k) {
      double const t0 = grid[k], t1 = grid[k + 1], h = t0 - t1;
      double const f0 = process.drift(t0), g20 = process.diffusion2(t0);
      double const f1 = process.drift(t1), g21 = process.diffusion2(t1);
      double const sqh = std::sqrt(h);
      in.evaluate(space, x, t0, s);
      in.draw_noise(space, z, call, k + 1, 1.0);
      // (2.2) predictor: an Euler-Maruyama step with the step's noise z
      Impl::combine(space, "psgm::sde::stochastic_heun_predictor", n, in.next_time(batch, t1), xp.data(),
                    1.0 - h * f0, x.data(), h * g20, s.data(), std::sqrt(g20) * sqh, z.data());
      in.evaluate(space, xp, t1, sp);
      // (2.3) corrector: trapezoidal drift, trapezoidal diffusion, the same z
      Impl::combine(space, "psgm::sde::stochastic_heun_corrector", n, {}, x.data(), 1.0 - 0.5 * h * f0, x.data(),
                    0.5 * h * g20, s.data(), -0.5 * h * f1, xp.data(), 0.5 * h * g21, sp.data(),
                    0.5 * (std::sqrt(g20) + std::sqrt(g21)) * sqh, z.data());
    }
    in.report_fixed_steps(report, steps);
  }
};

}  // namespace sde
}  // namespace psgm

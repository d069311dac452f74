// Euler-Maruyama on the reverse-time SDE (docs/sampling.md §2, eq. 2.1):
// one network evaluation and one noise draw per step.
#pragma once

#include <psgm/sde/samplers/Integration.hpp>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace psgm {
namespace sde {

struct EulerMaruyama {
  static constexpr char const* name = "euler_maruyama";
  static constexpr char const* aliases[] = {"em"};

  /// 1000 steps on the quadratic grid.
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
  static std::int64_t planned_nfe(Config const& c) { return c.steps; }
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
    field_view score, noise;
    Workspace(Integration<Model> const& in, typename Model::execution_space const& space, Config const&)
        : score(in.allocate_field(space, "psgm::sde::sampler::score")),
          noise(in.allocate_field(space, "psgm::sde::sampler::noise")) {}
  };

  template <class Model>
  static void run(typename Model::execution_space const& space, Integration<Model>& in, Workspace<Model> const& w,
                  Config const&, SamplerCall const& call, typename Integration<Model>::field_view x,
                  SampleReport& report) {
    using scalar_type = typename Model::scalar_type;
    int const batch = call.batch;
    auto const s = in.work(w.score, batch), z = in.work(w.noise, batch);
    auto const& grid = in.grid();
    auto const& process = in.process();
    std::int64_t const n = static_cast<std::int64_t>(x.size());
    int const steps = static_cast<int>(grid.size()) - 1;
    for (int k = 0; k < steps; ++k) {
      double const t0 = grid[k], h = grid[k] - grid[k + 1];
      in.evaluate(space, x, t0, s);
      in.draw_noise(space, z, call, k + 1, 1.0);
      double const f = process.drift(t0), g2 = process.diffusion2(t0);
      // (2.1) x <- x + h (-f x + g^2 s) + g sqrt(h) z
      auto const next = k + 1 < steps ? in.next_time(batch, grid[k + 1]) : Impl::NextTime<scalar_type>{};
      Impl::combine(space, "psgm::sde::euler_maruyama_step", n, next, x.data(), 1.0 - h * f, x.data(), h * g2,
                    s.data(), std::sqrt(g2 * h), z.data());
    }
    in.report_fixed_steps(report, steps);
  }
};

}  // namespace sde
}  // namespace psgm

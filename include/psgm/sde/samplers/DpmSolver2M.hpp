// DPM-Solver++(2M) on the probability-flow ODE (Lu et al. 2022;
// docs/sampling.md §3, eqs. 3.5-3.7): a multistep in the half log-SNR on the
// data prediction, one evaluation per step.
#pragma once

#include <psgm/sde/samplers/Integration.hpp>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace psgm {
namespace sde {

struct DpmSolver2M {
  static constexpr char const* name = "dpm_solver_2m";
  static constexpr char const* aliases[] = {"dpmpp_2m"};

  /// 20 steps on the log-SNR grid.
  struct Config : virtual FixedStepParameters {
    Config() {
      steps = 20;
      grid = TimeGrid::log_snr;
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
    field_view score, denoised_previous, denoised;
    Workspace(Integration<Model> const& in, typename Model::execution_space const& space, Config const&)
        : score(in.allocate_field(space, "psgm::sde::sampler::score")),
          denoised_previous(in.allocate_field(space, "psgm::sde::sampler::denoised_previous")),
          denoised(in.allocate_field(space, "psgm::sde::sampler::denoised")) {}
  };

  template <class Model>
  static void run(typename Model::execution_space const& space, Integration<Model>& in, Workspace<Model> const& w,
                  Config const&, SamplerCall const& call, typename Integration<Model>::field_view x,
                  SampleReport& report) {
    using scalar_type = typename Model::scalar_type;
    int const batch = call.batch;
    auto s = in.work(w.score, batch), previous = in.work(w.denoised_previous, batch),
         current = in.work(w.denoised, batch);
    auto const& grid = in.grid();
    auto const& process = in.process();
    std::int64_t const n = static_cast<std::int64_t>(x.size());
    int const steps = static_cast<int>(grid.size()) - 1;
    double h_previous = 0;
    for (int k = 0; k < steps; ++k) {
      double const t0 = grid[k], t1 = grid[k + 1];
      double const m0 = process.mean(t0), v0 = process.variance(t0);
      in.evaluate(space, x, t0, s);
      // (3.5) data prediction (Tweedie): x0 = (x + v s) / m
      Impl::combine(space, "psgm::sde::dpm_denoise", n, {}, current.data(), 1.0 / m0, x.data(), v0 / m0, s.data());
      double const h = process.lambda(t1) - process.lambda(t0);
      double const ratio = process.stddev(t1) / process.stddev(t0);
      double const c = process.mean(t1) * -std::expm1(-h);  // -alpha_1 (e^-h - 1)
      auto const next = k + 1 < steps ? in.next_time(batch, t1) : Impl::NextTime<scalar_type>{};
      if (k == 0) {
        // (3.6) first step: DPM-Solver++(1) (= DDIM)
        Impl::combine(space, "psgm::sde::dpm_solver_first_step", n, next, x.data(), ratio, x.data(), c,
                      current.data());
      } else {
        // (3.7) multistep: D = (1 + 1/(2r)) x0_k - 1/(2r) x0_{k-1}, r = h_{k-1} / h_k
        double const r = h_previous / h;
        Impl::combine(space, "psgm::sde::dpm_solver_2m_step", n, next, x.data(), ratio, x.data(), c * (1.0 + 0.5 / r),
                      current.data(), -c * 0.5 / r, previous.data());
      }
      std::swap(previous, current);
      h_previous = h;
    }
    in.report_fixed_steps(report, steps);
  }
};

}  // namespace sde
}  // namespace psgm

// EDM's sampler (Karras et al. 2022, Alg. 2; docs/sampling.md §4, eqs.
// 4.1-4.5): Heun's method on the sigma grid, deterministic by default and
// the stochastic EDM sampler with churn (S_churn > 0, within [S_tmin, S_tmax],
// noise inflated by S_noise). N levels, NFE = 2N - 1.
//
// exact_gaussian: the flow of the Gaussian N(0, σ_d² I) integrated exactly
// (σ_d the model's sigma_data; 1 for VP and VE models, whose data are
// normalised to unit variance), Heun only on what the model adds to it
// (docs/sampling.md §4). The probability-flow ODE dx/dσ = d(x, σ) splits as
// d = x σ / g² + r, g = √(σ² + σ_d²), the first term the Gaussian's; with
// y = x / g and u = arctan(σ / σ_d) it is dy/du = r g / σ_d (= −F under
// EDM's preconditioning D = c_skip x + c_out F, σ_data = σ_d). Heun steps in
// u on that leave N(0, σ_d² I) exact at any number of levels, where plain
// Heun on 25 Karras levels widens it by 2.1 % (docs/results.md §2e); same
// evaluations, second order for any model.
#pragma once

#include <psgm/sde/samplers/Integration.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace psgm {
namespace sde {

struct EdmHeun {
  static constexpr char const* name = "edm_heun";
  static constexpr char const* aliases[] = {"edm"};

  /// 18 levels on the karras grid (rho = 7), no churn.
  struct Config : virtual FixedStepParameters {
    double s_churn = 0.0;  ///< total churn; gamma_i = min(s_churn / N, sqrt(2) - 1)
    double s_tmin = 0.0;   ///< churn only at levels sigma_i in [s_tmin, s_tmax]
    double s_tmax = std::numeric_limits<double>::infinity();
    double s_noise = 1.0;  ///< the churn noise's standard deviation
    bool exact_gaussian = false;  ///< integrate the Gaussian N(0, σ_d² I)'s flow exactly (header)
    Config() {
      steps = 18;
      grid = TimeGrid::karras;
    }
    template <class F>
    void for_each_parameter(F&& f) {
      for_each_fixed_step_parameter(f);
      f("s_churn", s_churn);
      f("s_tmin", s_tmin);
      f("s_tmax", s_tmax);
      f("s_noise", s_noise);
      f("exact_gaussian", exact_gaussian);
    }
  };

  static void validate(Config const& c, DiffusionProcess const& process) {
    c.validate_interval(name, process);
    c.validate_steps(name, 2);
    require(c.s_churn >= 0 && std::isfinite(c.s_churn), name, ": s_churn = ", c.s_churn, " must be finite and >= 0");
    require(c.s_tmin >= 0 && c.s_tmax >= c.s_tmin, name, ": need 0 <= s_tmin <= s_tmax, got s_tmin = ", c.s_tmin,
            ", s_tmax = ", c.s_tmax);
    require(c.s_noise >= 0 && std::isfinite(c.s_noise), name, ": s_noise = ", c.s_noise,
            " must be finite and >= 0");
  }
  /// The N levels before sigma = 0, as process times.
  static std::vector<double> time_grid(Config const& c, DiffusionProcess const& process) {
    return c.fixed_step_grid(process, c.steps - 1);
  }
  static bool is_stochastic(Config const& c) { return c.s_churn > 0 && c.s_noise > 0; }
  static std::int64_t planned_nfe(Config const& c) { return 2 * std::int64_t(c.steps) - 1; }
  static std::string describe(Config const& c) {
    std::ostringstream os;
    os.precision(6);
    os << name;
    c.describe_steps(os);
    if (c.s_churn > 0)
      os << " s_churn=" << c.s_churn << " s_tmin=" << c.s_tmin << " s_tmax=" << c.s_tmax << " s_noise=" << c.s_noise;
    if (c.exact_gaussian) os << " exact_gaussian";
    c.describe_interval(os);
    return os.str();
  }

  template <class Model>
  struct Workspace {
    using field_view = typename Integration<Model>::field_view;
    field_view score, model_input, euler_point, corrector_score;
    Workspace(Integration<Model> const& in, typename Model::execution_space const& space, Config const&)
        : score(in.allocate_field(space, "psgm::sde::sampler::score")),
          model_input(in.allocate_field(space, "psgm::sde::sampler::model_input")),
          euler_point(in.allocate_field(space, "psgm::sde::sampler::euler_point")),
          corrector_score(in.allocate_field(space, "psgm::sde::sampler::corrector_score")) {}
  };

  template <class Model>
  static void run(typename Model::execution_space const& space, Integration<Model>& in, Workspace<Model> const& w,
                  Config const& c, SamplerCall const& call, typename Integration<Model>::field_view x,
                  SampleReport& report) {
    int const batch = call.batch;
    auto const s = in.work(w.score, batch), input = in.work(w.model_input, batch),
               euler = in.work(w.euler_point, batch), s2 = in.work(w.corrector_score, batch);
    auto const& grid = in.grid();
    auto const& process = in.process();
    std::int64_t const n = static_cast<std::int64_t>(x.size());
    int const levels = c.steps;  // N levels sigma_0 > ... > sigma_{N-1}, then sigma_N = 0
    std::vector<double> sigma(levels + 1, 0.0);
    for (int i = 0; i < levels; ++i) sigma[i] = process.sigma(grid[i]);
    double const sigma_top = process.sigma(process.t_hi());
    // exact_gaussian: σ_d, g(σ) = √(σ² + σ_d²) and u(σ) = arctan(σ / σ_d) (header).
    double const sd = process.type == model::SdeType::edm ? process.edm.sigma_data : 1.0;
    auto const g = [sd](double v) { return std::sqrt(v * v + sd * sd); };
    auto const u = [sd](double v) { return std::atan(v / sd); };
    // (4.1) the state is x^ = x / m(t): Karras et al.'s x for a scaled process
    Impl::combine(space, "psgm::sde::edm_unscale", n, {}, x.data(), 1.0 / process.mean(grid[0]), x.data());
    for (int i = 0; i < levels; ++i) {
      double const si = sigma[i], sn = sigma[i + 1];
      bool const churn = c.s_churn > 0 && si >= c.s_tmin && si <= c.s_tmax;
      double const gamma = churn ? std::min(c.s_churn / levels, std::sqrt(2.0) - 1.0) : 0.0;
      // Never raise the noise above the model's largest level.
      double const hat = std::min(si * (1.0 + gamma), std::max(sigma_top, si));
      double t_hat = grid[i];
      if (hat > si) {
        // (4.2) churn: x^ += sqrt(hat^2 - sigma_i^2) S_noise z
        in.draw_noise(space, s, call, i + 1, c.s_noise);
        Impl::combine(space, "psgm::sde::edm_churn", n, {}, x.data(), 1.0, x.data(), std::sqrt(hat * hat - si * si),
                      s.data());
        t_hat = process.time_of_sigma(hat);
      }
      double const m_hat = process.mean(t_hat);
      // (4.3) D(x^; sigma) = x^ + sigma^2 m score(m x^, t), so d = (x^ - D) / sigma = -sigma m score
      Impl::combine(space, "psgm::sde::edm_model_input", n, in.next_time(batch, t_hat), input.data(), m_hat,
                    x.data());
      in.evaluate(space, input, t_hat, s);
      double const dsig = sn - hat;
      double const c1 = dsig * (-hat * m_hat);
      if (c.exact_gaussian) {
        // x^_e = g_n [x^/g_h + du r_h g_h / sd],  r = -σ m score - x^ σ / g²  (d minus the Gaussian's)
        double const gh = g(hat), gn = g(sn), du = u(sn) - u(hat);
        double const a_x = gn / gh - gn * du * hat / (sd * gh), a_s = -gn * du * gh * hat * m_hat / sd;
        if (sn == 0.0) {
          Impl::combine(space, "psgm::sde::edm_euler_step", n, {}, x.data(), a_x, x.data(), a_s, s.data());
          break;
        }
        Impl::combine(space, "psgm::sde::edm_euler_step", n, {}, euler.data(), a_x, x.data(), a_s, s.data());
        double const t_next = grid[i + 1], m_next = process.mean(t_next);
        Impl::combine(space, "psgm::sde::edm_model_input", n, in.next_time(batch, t_next), input.data(), m_next,
                      euler.data());
        in.evaluate(space, input, t_next, s2);
        // x^ <- g_n [x^/g_h + du/(2 sd) (r_h g_h + r_e g_n)], in two passes (four terms)
        Impl::combine(space, "psgm::sde::edm_heun_step", n, {}, x.data(), 0.5 * (a_x + gn / gh), x.data(), 0.5 * a_s,
                      s.data(), -0.5 * gn * gn * du * sn * m_next / sd, s2.data());
        Impl::combine(space, "psgm::sde::edm_heun_step", n, {}, x.data(), 1.0, x.data(), -0.5 * du * sn / sd,
                      euler.data());
        continue;
      }
      if (sn == 0.0) {
        // (4.4) last step: Euler to sigma = 0
        Impl::combine(space, "psgm::sde::edm_euler_step", n, {}, x.data(), 1.0, x.data(), c1, s.data());
        break;
      }
      Impl::combine(space, "psgm::sde::edm_euler_step", n, {}, euler.data(), 1.0, x.data(), c1, s.data());
      double const t_next = grid[i + 1], m_next = process.mean(t_next);
      Impl::combine(space, "psgm::sde::edm_model_input", n, in.next_time(batch, t_next), input.data(), m_next,
                    euler.data());
      in.evaluate(space, input, t_next, s2);
      // (4.5) Heun correction: x^ <- x^ + dsig (d + d') / 2
      Impl::combine(space, "psgm::sde::edm_heun_step", n, {}, x.data(), 1.0, x.data(), 0.5 * c1, s.data(),
                    0.5 * dsig * (-sn * m_next), s2.data());
    }
    in.report_fixed_steps(report, levels);
  }
};

}  // namespace sde
}  // namespace psgm

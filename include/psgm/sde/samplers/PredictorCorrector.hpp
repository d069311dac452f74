// Predictor-corrector on the reverse-time SDE (Song et al. 2021, Alg. 2/5;
// docs/sampling.md §2, eqs. 2.4-2.5): per step `corrector_steps` Langevin
// corrections at t_n, then the reverse-diffusion predictor to t_{n+1}.
#pragma once

#include <psgm/sde/samplers/Integration.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace psgm {
namespace sde {
namespace Impl {

/// One Langevin corrector step (Song et al. 2021, Alg. 5, as in their code):
///   eps = 2 alpha (snr mean_b |z_b| / mean_b |s_b|)^2,  x += eps s + sqrt(2 eps) z.
/// The norms are averaged over the batch, as Song et al. do: per-sample
/// ratios |z_b| / |s_b| are heavy-tailed in low dimension (a sample near a mode
/// has a small score) and their occasional huge steps inflate the variance.
/// The batch sum runs in one thread, in sample order, so the step size does
/// not depend on the thread count; it does depend on the batch (docs/sampling.md §6).
/// `norms` is (>= batch + 1, 2) scratch.
template <class ExecSpace, class Field, class NormView>
void langevin_step(ExecSpace const& space, Field const& x, Field const& s, Field const& z, int batch, double snr,
                   double alpha, NormView const& norms) {
  using scalar = typename Field::non_const_value_type;
  std::int64_t const d = static_cast<std::int64_t>(x.extent(1)) * x.extent(2);
  scalar* const xp = x.data();
  scalar const* const sp = s.data();
  scalar const* const zp = z.data();
  Kokkos::parallel_for(
      "psgm::sde::langevin_norms", Kokkos::RangePolicy<ExecSpace>(space, 0, batch), KOKKOS_LAMBDA(int b) {
        std::int64_t const o = b * d;
        double ss = 0, zz = 0;
        for (std::int64_t i = 0; i < d; ++i) {
          ss += double(sp[o + i]) * double(sp[o + i]);
          zz += double(zp[o + i]) * double(zp[o + i]);
        }
        norms(b, 0) = math::sqrt(ss);
        norms(b, 1) = math::sqrt(zz);
      });
  Kokkos::parallel_for(
      "psgm::sde::langevin_step_size", Kokkos::RangePolicy<ExecSpace>(space, 0, 1), KOKKOS_LAMBDA(int) {
        double grad = 0, noise = 0;
        for (int b = 0; b < batch; ++b) {
          grad += norms(b, 0);
          noise += norms(b, 1);
        }
        // A vanishing score (every sample at a mode) needs no correction.
        double const ratio = grad > 0 ? snr * noise / grad : 0.0;
        norms(batch, 0) = 2.0 * alpha * ratio * ratio;
      });
  Kokkos::parallel_for(
      "psgm::sde::langevin_step",
      Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(space, 0, batch * d),
      KOKKOS_LAMBDA(std::int64_t i) {
        double const eps = norms(batch, 0);
        xp[i] = scalar(double(xp[i]) + eps * double(sp[i]) + math::sqrt(2.0 * eps) * double(zp[i]));
      });
}

}  // namespace Impl

struct PredictorCorrector {
  static constexpr char const* name = "predictor_corrector";
  static constexpr char const* aliases[] = {"pc"};

  /// 1000 steps on the quadratic grid, one corrector step with snr 0.16 (Song et al.).
  struct Config : virtual FixedStepParameters {
    int corrector_steps = 1;  ///< Langevin steps before each predictor step
    double snr = 0.16;        ///< signal-to-noise ratio setting the Langevin step size
    Config() {
      steps = 1000;
      grid = TimeGrid::quadratic;
    }
    template <class F>
    void for_each_parameter(F&& f) {
      for_each_fixed_step_parameter(f);
      f("corrector_steps", corrector_steps);
      f("snr", snr);
    }
  };

  static void validate(Config const& c, DiffusionProcess const& process) {
    c.validate_interval(name, process);
    c.validate_steps(name, 1);
    require(c.corrector_steps >= 0, name, ": corrector_steps = ", c.corrector_steps, " must be >= 0");
    require(c.snr > 0 && std::isfinite(c.snr), name, ": snr = ", c.snr,
            " must be finite and > 0 (Song et al. use 0.16; it sets the Langevin step size)");
  }
  static std::vector<double> time_grid(Config const& c, DiffusionProcess const& process) {
    return c.fixed_step_grid(process, c.steps);
  }
  static bool is_stochastic(Config const&) { return true; }
  static std::int64_t planned_nfe(Config const& c) { return std::int64_t(c.steps) * (1 + c.corrector_steps); }
  static std::string describe(Config const& c) {
    std::ostringstream os;
    os.precision(6);
    os << name;
    c.describe_steps(os);
    os << " corrector_steps=" << c.corrector_steps << " snr=" << c.snr;
    c.describe_interval(os);
    return os.str();
  }

  template <class Model>
  struct Workspace {
    using field_view = typename Integration<Model>::field_view;
    field_view score, noise;
    Kokkos::View<double**, Kokkos::LayoutRight, typename Model::memory_space> norms;  ///< per-sample |s|, |z|; step size
    Workspace(Integration<Model> const& in, typename Model::execution_space const& space, Config const&)
        : score(in.allocate_field(space, "psgm::sde::sampler::score")),
          noise(in.allocate_field(space, "psgm::sde::sampler::noise")),
          norms(Kokkos::view_alloc(space, std::string("psgm::sde::sampler::langevin_norms")), in.max_batch() + 1, 2) {}
  };

  template <class Model>
  static void run(typename Model::execution_space const& space, Integration<Model>& in, Workspace<Model> const& w,
                  Config const& c, SamplerCall const& call, typename Integration<Model>::field_view x,
                  SampleReport& report) {
    using scalar_type = typename Model::scalar_type;
    int const batch = call.batch;
    auto const s = in.work(w.score, batch), z = in.work(w.noise, batch);
    auto const& grid = in.grid();
    auto const& process = in.process();
    std::int64_t const n = static_cast<std::int64_t>(x.size());
    int const steps = static_cast<int>(grid.size()) - 1;
    int const nc = c.corrector_steps;
    for (int k = 0; k < steps; ++k) {
      double const t0 = grid[k], t1 = grid[k + 1];
      // The exact forward transition t1 -> t0 is x_t0 = a x_t1 + q z (docs/sampling.md §2.4).
      double const a = process.mean(t0) / process.mean(t1);
      double const q2 = process.variance(t0) - a * a * process.variance(t1);
      std::int64_t const draw0 = 1 + std::int64_t(k) * (nc + 1);
      for (int j = 0; j < nc; ++j) {
        in.evaluate(space, x, t0, s);
        in.draw_noise(space, z, call, draw0 + j, 1.0);
        // (2.5) Langevin corrector at t0, step size from the signal-to-noise ratio
        Impl::langevin_step(space, x, s, z, batch, c.snr, a * a, w.norms);
      }
      in.evaluate(space, x, t0, s);
      in.draw_noise(space, z, call, draw0 + nc, 1.0);
      // (2.4) reverse-diffusion predictor: x <- (2 - a) x + q^2 s + q z
      auto const next = k + 1 < steps ? in.next_time(batch, t1) : Impl::NextTime<scalar_type>{};
      Impl::combine(space, "psgm::sde::reverse_diffusion_predictor", n, next, x.data(), 2.0 - a, x.data(), q2,
                    s.data(), std::sqrt(q2), z.data());
    }
    in.report_fixed_steps(report, steps);
  }
};

}  // namespace sde
}  // namespace psgm

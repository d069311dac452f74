// What a sampler is asked to do: the method, its time grid and its
// parameters, and what it reports back (docs/sampling.md). Host-only.
#pragma once

#include <psgm/sde/DiffusionProcess.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace psgm {
namespace sde {

/// The samplers of docs/sampling.md §2-§4.
enum class SamplerKind {
  euler_maruyama,       ///< reverse SDE, Euler-Maruyama (1 NFE per step)
  stochastic_heun,      ///< reverse SDE, the reference stochastic Heun of spec sgm.md §5 (2 NFE per step)
  predictor_corrector,  ///< reverse-diffusion predictor + Langevin corrector (Song et al. 2021)
  ode_heun,             ///< probability-flow ODE, fixed-step Heun (2 NFE per step)
  ode_dopri5,           ///< probability-flow ODE, adaptive Dormand-Prince 5(4)
  dpm_solver_2m,        ///< probability-flow ODE, DPM-Solver++(2M) (Lu et al. 2022), 1 NFE per step
  edm_heun,             ///< Karras et al. 2022 Alg. 2 (Heun on the sigma grid, optional churn)
};
char const* to_string(SamplerKind kind);
/// Accepts the names of to_string() and "reference" (= stochastic_heun),
/// "em", "pc", "heun", "dopri5", "dpmpp_2m", "edm"; else InvalidArgument listing them.
SamplerKind sampler_kind_from_string(std::string const& name);
/// Every sampler name to_string() produces.
std::vector<std::string> sampler_names();

/// How a fixed-step sampler places its steps in [t_end, t_start].
enum class TimeGrid {
  quadratic,  ///< t_n = t_end + (t_start - t_end)(1 - n/K)^2 (spec sgm.md §5)
  uniform,    ///< uniform in t
  log_snr,    ///< uniform in lambda = log(m/s) (DPM-Solver's choice)
  karras,     ///< sigma_n = (sigma_s^(1/rho) + n/K (sigma_e^(1/rho) - sigma_s^(1/rho)))^rho (Karras et al. eq. 5)
};
char const* to_string(TimeGrid grid);
TimeGrid time_grid_from_string(std::string const& name);

struct SamplerConfig {
  SamplerKind kind = SamplerKind::stochastic_heun;
  /// Time steps K (fixed-step samplers). edm_heun: the number N of sigma
  /// levels, NFE = 2N - 1 (Karras et al.). Ignored by ode_dopri5.
  int steps = 1000;
  TimeGrid grid = TimeGrid::quadratic;
  double rho = 7.0;      ///< exponent of the karras grid
  /// Integration interval; 0 selects the process's [t_lo, t_hi] (t_min..1 for
  /// VP/VE, sigma_min..sigma_max for EDM).
  double t_start = 0.0;
  double t_end = 0.0;

  // predictor_corrector (Song et al. 2021, Alg. 4/5)
  int corrector_steps = 1;  ///< Langevin steps after each predictor step
  double snr = 0.16;        ///< signal-to-noise ratio setting the Langevin step size

  // ode_dopri5
  double rtol = 1e-5;
  double atol = 1e-5;
  double initial_step = 0.0;  ///< |h_0| as a fraction of |t_start - t_end|; 0: Hairer's estimate (1 extra NFE)
  double safety = 0.9;        ///< step-size controller safety factor
  double min_factor = 0.2;    ///< bounds of the step-size change per step
  double max_factor = 10.0;
  int max_iterations = 100000;  ///< stage sweeps before the remaining samples are flagged not_converged

  // edm_heun (Karras et al. 2022, Alg. 2)
  double s_churn = 0.0;
  double s_tmin = 0.0;
  double s_tmax = std::numeric_limits<double>::infinity();
  double s_noise = 1.0;

  /// The defaults of one method: reference stochastic Heun (1000 steps,
  /// quadratic grid); Euler-Maruyama and predictor-corrector likewise (1000,
  /// quadratic); ODE Heun 100 steps quadratic; DoPri5 rtol = atol = 1e-5;
  /// DPM-Solver++(2M) 20 steps log-SNR; EDM Heun 18 levels, rho = 7.
  static SamplerConfig defaults(SamplerKind kind);

  /// Throws InvalidArgument naming the parameter, its value and what is
  /// accepted, including combinations the process does not support.
  void validate(DiffusionProcess const& process) const;
  /// t_start / t_end with 0 replaced by the process's t_hi / t_lo.
  double start_time(DiffusionProcess const& process) const;
  double end_time(DiffusionProcess const& process) const;
  /// Whether the sampler draws noise after the prior (reproducibility needs a seed).
  bool is_stochastic() const;
  /// Network evaluations per batch for the fixed-step samplers; -1 for ode_dopri5.
  std::int64_t planned_nfe() const;
  /// One line, e.g. "stochastic_heun steps=1000 grid=quadratic".
  std::string describe() const;
  /// The parameters that matter for this kind, as a TOML table body
  /// ("name = ...\nsteps = ..."), for provenance in output files.
  std::string to_toml() const;
};

/// What a sampling call did.
struct SampleReport {
  std::int64_t nfe = 0;          ///< batched network evaluations (each evaluates every sample once)
  std::int64_t steps = 0;        ///< time steps taken (ode_dopri5: the most any sample took, accepted + rejected)
  std::int64_t accepted_steps = 0;  ///< ode_dopri5: accepted steps summed over samples
  std::int64_t rejected_steps = 0;  ///< ode_dopri5: rejected steps summed over samples
  double mean_nfe_per_sample = 0;   ///< ode_dopri5: evaluations a sample needed until it finished (mean)
  std::int64_t max_nfe_per_sample = 0;
  std::int64_t num_samples = 0;
  std::int64_t num_failed = 0;   ///< samples with a status other than ok (non-finite, not converged)
};

/// The time points t_0 = t_start > t_1 > ... > t_K = t_end of a fixed-step
/// sampler (K + 1 values). Throws InvalidArgument for K < 1 or an interval
/// outside the process's.
std::vector<double> make_time_grid(DiffusionProcess const& process, TimeGrid grid, int steps, double t_start,
                                   double t_end, double rho = 7.0);

}  // namespace sde
}  // namespace psgm

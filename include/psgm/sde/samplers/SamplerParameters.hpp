// What the sampler methods share in their configuration (docs/sampling.md §1,
// "adding a sampler"): the integration interval, the fixed-step time grids,
// the report of a call, and the naming of parameters by which the name table
// (SamplerConfig.hpp) reads and prints them. Host-only.
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/sde/DiffusionProcess.hpp>

#include <cstdint>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

namespace psgm {
namespace sde {

/// How a fixed-step sampler places its steps in [t_end, t_start].
enum class TimeGrid {
  quadratic,  ///< t_n = t_end + (t_start - t_end)(1 - n/K)^2 (spec sgm.md §5)
  uniform,    ///< uniform in t
  log_snr,    ///< uniform in lambda = log(m/s) (DPM-Solver's choice)
  karras,     ///< sigma_n = (sigma_s^(1/rho) + n/K (sigma_e^(1/rho) - sigma_s^(1/rho)))^rho (Karras et al. eq. 5)
};
char const* to_string(TimeGrid grid);
TimeGrid time_grid_from_string(std::string const& name);

/// The time points t_0 = t_start > t_1 > ... > t_K = t_end of a fixed-step
/// sampler (K + 1 values). Throws InvalidArgument for K < 1 or an interval
/// outside the process's.
std::vector<double> make_time_grid(DiffusionProcess const& process, TimeGrid grid, int steps, double t_start,
                                   double t_end, double rho = 7.0);

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

// A method's configuration lists its parameters once, in
//   template <class F> void for_each_parameter(F&& f) { f("name", member); ... }
// with members of type int, double or TimeGrid; the name table reads them
// from a configuration file, prints them (to_toml) and refuses the keys a
// method does not take through it. The interval and the fixed-step grid are
// virtual bases, so that SamplerConfig, which derives from every method's
// configuration, holds them once.

/// The integration interval, which every method has.
struct IntervalParameters {
  /// Integration interval; 0 selects the process's [t_lo, t_hi] (t_min..1 for
  /// VP/VE, sigma_min..sigma_max for EDM).
  double t_start = 0.0;
  double t_end = 0.0;

  /// t_start / t_end with 0 replaced by the process's t_hi / t_lo.
  double start_time(DiffusionProcess const& process) const { return t_start == 0.0 ? process.t_hi() : t_start; }
  double end_time(DiffusionProcess const& process) const { return t_end == 0.0 ? process.t_lo() : t_end; }

  template <class F>
  void for_each_interval_parameter(F&& f) {
    f("t_start", t_start);
    f("t_end", t_end);
  }
  /// The process is valid and the interval runs backwards inside it; the
  /// messages name `method`.
  void validate_interval(char const* method, DiffusionProcess const& process) const;
  /// " t_start=... t_end=..." for the values that are not 0.
  void describe_interval(std::ostream& os) const;
};

/// The grid of a fixed-step method: K steps placed by `grid`.
struct FixedStepParameters : virtual IntervalParameters {
  /// Time steps K. edm_heun: the number N of sigma levels, NFE = 2N - 1 (Karras et al.).
  int steps = 1000;
  TimeGrid grid = TimeGrid::quadratic;
  double rho = 7.0;  ///< exponent of the karras grid

  /// t_start, t_end, steps, grid, rho (in the order of the files psgm writes).
  template <class F>
  void for_each_fixed_step_parameter(F&& f) {
    for_each_interval_parameter(f);
    f("steps", steps);
    f("grid", grid);
    f("rho", rho);
  }
  /// steps >= min_steps and a valid rho; the messages name `method`.
  void validate_steps(char const* method, int min_steps) const;
  /// The grid of `intervals` steps over [end_time, start_time].
  std::vector<double> fixed_step_grid(DiffusionProcess const& process, int intervals) const;
  /// " steps=K grid=G" (and " rho=..." on the karras grid).
  void describe_steps(std::ostream& os) const;
};

}  // namespace sde
}  // namespace psgm

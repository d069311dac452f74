// Adaptive Dormand-Prince 5(4) on the probability-flow ODE (docs/sampling.md
// §3.3): every sample its own step size and time, error control in the
// weighted RMS norm, FSAL; the host sweeps the seven stages while any sample
// is still integrating.
#pragma once

#include <psgm/sde/samplers/Integration.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace psgm {
namespace sde {
namespace Impl {

/// Per-sample state of the adaptive integrator.
template <class MemorySpace>
struct AdaptiveState {
  Kokkos::View<double*, MemorySpace> t;         ///< current time of each sample
  Kokkos::View<double*, MemorySpace> h;         ///< signed step to try next (0 once done)
  Kokkos::View<double*, MemorySpace> t_stage;   ///< time of the stage being evaluated
  Kokkos::View<int*, MemorySpace> done;         ///< 1 once t reached t_end (or failed)
  Kokkos::View<int*, MemorySpace> last_rejected;  ///< the previous attempt was rejected (no step growth)
  Kokkos::View<double*, MemorySpace> aux;       ///< scratch (the initial-step estimate)
  Kokkos::View<std::int64_t*, MemorySpace> accepted, rejected, evaluations;
};

/// The Butcher tableau of Dormand & Prince (1980), RK5(4)7FSAL.
struct DormandPrince {
  static constexpr double c[7] = {0.0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1.0, 1.0};
  static constexpr double a[7][6] = {
      {0, 0, 0, 0, 0, 0},
      {1.0 / 5, 0, 0, 0, 0, 0},
      {3.0 / 40, 9.0 / 40, 0, 0, 0, 0},
      {44.0 / 45, -56.0 / 15, 32.0 / 9, 0, 0, 0},
      {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729, 0, 0},
      {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656, 0},
      {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84},  // = b (FSAL)
  };
  /// b - b_hat: the local error estimate is h sum_j e_j k_j.
  static constexpr double e[7] = {71.0 / 57600,   0.0,          -71.0 / 16695, 71.0 / 1920,
                                  -17253.0 / 339200, 22.0 / 525, -1.0 / 40};
};


/// x_stage = x + h_b sum_{j<stage} a[stage][j] k_j (per-sample h), and the
/// stage time t_b + c[stage] h_b into t_stage and the model's time view.
template <class ExecSpace, class Field, class TimeView, class MemorySpace>
void dopri_stage(ExecSpace const& space, int stage, int batch, Field const& x, Field const* k, Field const& out,
                 AdaptiveState<MemorySpace> const& st, TimeView const& model_t) {
  using scalar = typename Field::non_const_value_type;
  using T = typename TimeView::non_const_value_type;
  std::int64_t const d = static_cast<std::int64_t>(x.extent(1)) * x.extent(2);
  double const a0 = DormandPrince::a[stage][0], a1 = DormandPrince::a[stage][1], a2 = DormandPrince::a[stage][2],
               a3 = DormandPrince::a[stage][3], a4 = DormandPrince::a[stage][4], a5 = DormandPrince::a[stage][5];
  double const cs = DormandPrince::c[stage];
  scalar const* const xp = x.data();
  scalar* const op = out.data();
  scalar const* const k0 = k[0].data();
  scalar const* const k1 = k[1].data();
  scalar const* const k2 = k[2].data();
  scalar const* const k3 = k[3].data();
  scalar const* const k4 = k[4].data();
  scalar const* const k5 = k[5].data();
  auto const h = st.h;
  auto const t = st.t;
  auto const t_stage = st.t_stage;
  Kokkos::parallel_for(
      "psgm::sde::dopri_stage_time", Kokkos::RangePolicy<ExecSpace>(space, 0, batch), KOKKOS_LAMBDA(int b) {
        t_stage(b) = t(b) + cs * h(b);
        model_t(b) = T(t_stage(b));
      });
  Kokkos::parallel_for(
      "psgm::sde::dopri_stage", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(space, 0, batch * d),
      KOKKOS_LAMBDA(std::int64_t i) {
        double const hb = h(i / d);
        double r = a0 * double(k0[i]);
        if (stage > 1) r += a1 * double(k1[i]);
        if (stage > 2) r += a2 * double(k2[i]);
        if (stage > 3) r += a3 * double(k3[i]);
        if (stage > 4) r += a4 * double(k4[i]);
        if (stage > 5) r += a5 * double(k5[i]);
        op[i] = scalar(double(xp[i]) + hb * r);
      });
}

/// k = f(t_b) x - 1/2 g(t_b)^2 k, turning a score into the probability-flow
/// velocity dx/dt at each sample's own time.
template <class ExecSpace, class Field, class DoubleView>
void flow_velocity_per_sample(ExecSpace const& space, DiffusionProcess const& process, int batch, Field const& x,
                              Field const& k, DoubleView const& t) {
  using scalar = typename Field::non_const_value_type;
  std::int64_t const d = static_cast<std::int64_t>(x.extent(1)) * x.extent(2);
  scalar const* const xp = x.data();
  scalar* const kp = k.data();
  Kokkos::parallel_for(
      "psgm::sde::flow_velocity", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(space, 0, batch * d),
      KOKKOS_LAMBDA(std::int64_t i) {
        double const tb = t(i / d);
        kp[i] = scalar(process.drift(tb) * double(xp[i]) - 0.5 * process.diffusion2(tb) * double(kp[i]));
      });
}


/// Parameters of the step-size controller.
struct DopriControl {
  double t_end, span;  ///< target time and |t_start - t_end|
  double rtol, atol, safety, min_factor, max_factor;
};

/// Hairer, Norsett & Wanner (1993), II.4 "starting step size", first half:
/// d0 = |x|, d1 = |f(x)| in the weighted RMS norm, h0 = 0.01 d0 / d1, and the
/// explicit Euler point x1 = x + h0 f(x) at which f is evaluated next.
template <class ExecSpace, class Field, class TimeView, class MemorySpace>
void dopri_initial_step_probe(ExecSpace const& space, int batch, DopriControl const& ctl, Field const& x,
                              Field const& k1, Field const& x1, AdaptiveState<MemorySpace> const& st,
                              TimeView const& model_t) {
  using scalar = typename Field::non_const_value_type;
  using T = typename TimeView::non_const_value_type;
  std::int64_t const d = static_cast<std::int64_t>(x.extent(1)) * x.extent(2);
  scalar const* const xp = x.data();
  scalar const* const kp = k1.data();
  scalar* const x1p = x1.data();
  auto const st_ = st;
  Kokkos::parallel_for(
      "psgm::sde::dopri_initial_step_probe", Kokkos::RangePolicy<ExecSpace>(space, 0, batch), KOKKOS_LAMBDA(int b) {
        std::int64_t const o = b * d;
        double d0 = 0, d1 = 0;
        for (std::int64_t i = 0; i < d; ++i) {
          double const sc = ctl.atol + ctl.rtol * math::fabs(double(xp[o + i]));
          d0 += (double(xp[o + i]) / sc) * (double(xp[o + i]) / sc);
          d1 += (double(kp[o + i]) / sc) * (double(kp[o + i]) / sc);
        }
        d0 = math::sqrt(d0 / d);
        d1 = math::sqrt(d1 / d);
        double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 * ctl.span : 0.01 * d0 / d1;
        h0 = math::min(h0, ctl.span);
        st_.aux(b) = d1;
        st_.h(b) = -h0;  // backwards in time
        for (std::int64_t i = 0; i < d; ++i) x1p[o + i] = scalar(double(xp[o + i]) - h0 * double(kp[o + i]));
        st_.t_stage(b) = st_.t(b) - h0;
        model_t(b) = T(st_.t_stage(b));
      });
}

/// Second half: d2 = |f(x1) - f(x)| / h0, h1 = (0.01 / max(d1, d2))^(1/5),
/// h = min(100 h0, h1, span).
template <class ExecSpace, class Field, class MemorySpace>
void dopri_initial_step_finish(ExecSpace const& space, int batch, DopriControl const& ctl, Field const& x,
                               Field const& k1, Field const& k2, AdaptiveState<MemorySpace> const& st) {
  using scalar = typename Field::non_const_value_type;
  std::int64_t const d = static_cast<std::int64_t>(x.extent(1)) * x.extent(2);
  scalar const* const xp = x.data();
  scalar const* const k1p = k1.data();
  scalar const* const k2p = k2.data();
  auto const st_ = st;
  Kokkos::parallel_for(
      "psgm::sde::dopri_initial_step", Kokkos::RangePolicy<ExecSpace>(space, 0, batch), KOKKOS_LAMBDA(int b) {
        std::int64_t const o = b * d;
        double const h0 = -st_.h(b);
        double d2 = 0;
        for (std::int64_t i = 0; i < d; ++i) {
          double const sc = ctl.atol + ctl.rtol * math::fabs(double(xp[o + i]));
          double const diff = (double(k2p[o + i]) - double(k1p[o + i])) / sc;
          d2 += diff * diff;
        }
        d2 = math::sqrt(d2 / d) / h0;
        double const dm = math::max(st_.aux(b), d2);
        double const h1 = dm <= 1e-15 ? math::max(1e-6 * ctl.span, 1e-3 * h0) : math::pow(0.01 / dm, 0.2);
        st_.h(b) = -math::min(math::min(100.0 * h0, h1), ctl.span);
      });
}

/// After the seven stages of a step: the weighted RMS norm of the embedded
/// error estimate h sum_j e_j k_j, acceptance, the next step size
/// (h *= clamp(safety err^(-1/5)), no growth right after a rejection), and on
/// acceptance x = x5, k1 = k7 (FSAL). One sample per thread.
template <class ExecSpace, class Field, class StatusView, class MemorySpace>
void dopri_control(ExecSpace const& space, int batch, DopriControl const& ctl, Field const& x, Field const& x5,
                   Field const* k, AdaptiveState<MemorySpace> const& st, StatusView const& status) {
  using scalar = typename Field::non_const_value_type;
  std::int64_t const d = static_cast<std::int64_t>(x.extent(1)) * x.extent(2);
  double const e0 = DormandPrince::e[0], e2 = DormandPrince::e[2], e3 = DormandPrince::e[3],
               e4 = DormandPrince::e[4], e5 = DormandPrince::e[5], e6 = DormandPrince::e[6];
  scalar* const xp = x.data();
  scalar const* const x5p = x5.data();
  scalar* const k0 = k[0].data();
  scalar const* const k2 = k[2].data();
  scalar const* const k3 = k[3].data();
  scalar const* const k4 = k[4].data();
  scalar const* const k5 = k[5].data();
  scalar const* const k6 = k[6].data();
  auto const st_ = st;
  Kokkos::parallel_for(
      "psgm::sde::dopri_control", Kokkos::RangePolicy<ExecSpace>(space, 0, batch), KOKKOS_LAMBDA(int b) {
        if (st_.done(b)) return;
        std::int64_t const o = b * d;
        double const h = st_.h(b);
        double sum = 0;
        for (std::int64_t i = o; i < o + d; ++i) {
          double const err = h * (e0 * double(k0[i]) + e2 * double(k2[i]) + e3 * double(k3[i]) + e4 * double(k4[i]) +
                                  e5 * double(k5[i]) + e6 * double(k6[i]));
          double const sc =
              ctl.atol + ctl.rtol * math::max(math::fabs(double(xp[i])), math::fabs(double(x5p[i])));
          sum += (err / sc) * (err / sc);
        }
        double const norm = math::sqrt(sum / d);
        st_.evaluations(b) += 6;
        double h_next;
        if (math::isfinite(norm) && norm <= 1.0) {
          st_.accepted(b) += 1;
          for (std::int64_t i = o; i < o + d; ++i) {
            xp[i] = x5p[i];
            k0[i] = k6[i];  // FSAL: the last stage is the first of the next step
          }
          double t_new = st_.t(b) + h;
          double factor = norm > 0 ? math::clamp(ctl.safety * math::pow(norm, -0.2), ctl.min_factor, ctl.max_factor)
                                   : ctl.max_factor;
          if (st_.last_rejected(b)) factor = math::min(factor, 1.0);
          st_.last_rejected(b) = 0;
          double const remaining = ctl.t_end - t_new;  // <= 0
          if (math::fabs(remaining) <= 1e-12 * ctl.span) {
            t_new = ctl.t_end;
            st_.done(b) = 1;
            h_next = 0.0;
          } else {
            h_next = h * factor;
            if (math::fabs(h_next) > math::fabs(remaining)) h_next = remaining;
          }
          st_.t(b) = t_new;
        } else {
          st_.rejected(b) += 1;
          double const factor =
              math::isfinite(norm) ? math::max(ctl.min_factor, ctl.safety * math::pow(norm, -0.2)) : ctl.min_factor;
          h_next = h * factor;
          st_.last_rejected(b) = 1;
          if (math::fabs(h_next) < 1e-14 * ctl.span) {  // the step size collapsed: give up on this sample
            status(b) = SolveStatus::not_converged;
            st_.done(b) = 1;
            h_next = 0.0;
          }
        }
        st_.h(b) = h_next;
      });
}

/// Every sample at t_start with step h0 (0: estimated next), counters cleared.
template <class ExecSpace, class MemorySpace>
void dopri_init(ExecSpace const& space, int batch, AdaptiveState<MemorySpace> const& st, double t_start, double h0) {
  auto const st_ = st;
  Kokkos::parallel_for(
      "psgm::sde::dopri_init", Kokkos::RangePolicy<ExecSpace>(space, 0, batch), KOKKOS_LAMBDA(int b) {
        st_.t(b) = t_start;
        st_.t_stage(b) = t_start;
        st_.h(b) = h0;
        st_.done(b) = 0;
        st_.last_rejected(b) = 0;
        st_.accepted(b) = 0;
        st_.rejected(b) = 0;
        st_.evaluations(b) = 1;
      });
}

/// Samples still integrating (a reduction into a host scalar: waits for `space`).
template <class ExecSpace, class MemorySpace>
int dopri_active(ExecSpace const& space, int batch, AdaptiveState<MemorySpace> const& st) {
  auto const done = st.done;
  int active = 0;
  Kokkos::parallel_reduce(
      "psgm::sde::dopri_active", Kokkos::RangePolicy<ExecSpace>(space, 0, batch),
      KOKKOS_LAMBDA(int b, int& a) { a += done(b) ? 0 : 1; }, active);
  return active;
}

/// Samples that did not reach t_end within max_iterations: not_converged.
template <class ExecSpace, class MemorySpace, class StatusView>
void dopri_mark_unfinished(ExecSpace const& space, int batch, AdaptiveState<MemorySpace> const& st,
                           StatusView const& status) {
  auto const done = st.done;
  Kokkos::parallel_for(
      "psgm::sde::dopri_unfinished", Kokkos::RangePolicy<ExecSpace>(space, 0, batch), KOKKOS_LAMBDA(int b) {
        if (!done(b)) status(b) = SolveStatus::not_converged;
      });
}

}  // namespace Impl

struct OdeDopri5 {
  static constexpr char const* name = "ode_dopri5";
  static constexpr char const* aliases[] = {"dopri5"};

  /// rtol = atol = 1e-5, Hairer's starting step.
  struct Config : virtual IntervalParameters {
    double rtol = 1e-5;
    double atol = 1e-5;
    double initial_step = 0.0;  ///< |h_0| as a fraction of |t_start - t_end|; 0: Hairer's estimate (1 extra NFE)
    double safety = 0.9;        ///< step-size controller safety factor
    double min_factor = 0.2;    ///< bounds of the step-size change per step
    double max_factor = 10.0;
    int max_iterations = 100000;  ///< stage sweeps before the remaining samples are flagged not_converged
    template <class F>
    void for_each_parameter(F&& f) {
      for_each_interval_parameter(f);
      f("rtol", rtol);
      f("atol", atol);
      f("initial_step", initial_step);
      f("safety", safety);
      f("min_factor", min_factor);
      f("max_factor", max_factor);
      f("max_iterations", max_iterations);
    }
  };

  static void validate(Config const& c, DiffusionProcess const& process) {
    c.validate_interval(name, process);
    require(c.rtol > 0 && c.rtol < 1, name, ": rtol = ", c.rtol, " must be in (0, 1)");
    require(c.atol > 0 && std::isfinite(c.atol), name, ": atol = ", c.atol, " must be finite and > 0");
    require(c.initial_step >= 0 && c.initial_step <= 1, name, ": initial_step = ", c.initial_step,
            " must be in [0, 1] (a fraction of the interval; 0 = automatic)");
    require(c.safety > 0 && c.safety <= 1, name, ": safety = ", c.safety, " must be in (0, 1]");
    require(c.min_factor > 0 && c.min_factor < 1 && c.max_factor > 1 && std::isfinite(c.max_factor), name,
            ": need 0 < min_factor < 1 < max_factor, got min_factor = ", c.min_factor, ", max_factor = ",
            c.max_factor);
    require(c.max_iterations >= 1, name, ": max_iterations = ", c.max_iterations, " must be >= 1");
  }
  /// No fixed grid: every sample chooses its steps.
  static std::vector<double> time_grid(Config const&, DiffusionProcess const&) { return {}; }
  static bool is_stochastic(Config const&) { return false; }
  /// Not known in advance.
  static std::int64_t planned_nfe(Config const&) { return -1; }
  static std::string describe(Config const& c) {
    std::ostringstream os;
    os.precision(6);
    os << name << " rtol=" << c.rtol << " atol=" << c.atol;
    c.describe_interval(os);
    return os.str();
  }

  template <class Model>
  struct Workspace {
    using field_view = typename Integration<Model>::field_view;
    field_view solution, stage_point;  ///< the 5th-order solution and the point of the stage being evaluated
    std::vector<field_view> k;         ///< the seven stages
    Impl::AdaptiveState<typename Model::memory_space> state;
    Workspace(Integration<Model> const& in, typename Model::execution_space const& space, Config const&)
        : solution(in.allocate_field(space, "psgm::sde::sampler::dopri_solution")),
          stage_point(in.allocate_field(space, "psgm::sde::sampler::dopri_stage_point")) {
      char const* labels[7] = {"psgm::sde::sampler::dopri_k1", "psgm::sde::sampler::dopri_k2",
                               "psgm::sde::sampler::dopri_k3", "psgm::sde::sampler::dopri_k4",
                               "psgm::sde::sampler::dopri_k5", "psgm::sde::sampler::dopri_k6",
                               "psgm::sde::sampler::dopri_k7"};
      for (auto const* l : labels) k.push_back(in.allocate_field(space, l));
      using memory_space = typename Model::memory_space;
      int const b = in.max_batch();
      auto alloc = [&](char const* label) { return Kokkos::view_alloc(space, std::string(label)); };
      state.t = Kokkos::View<double*, memory_space>(alloc("psgm::sde::sampler::dopri_t"), b);
      state.h = Kokkos::View<double*, memory_space>(alloc("psgm::sde::sampler::dopri_h"), b);
      state.t_stage = Kokkos::View<double*, memory_space>(alloc("psgm::sde::sampler::dopri_t_stage"), b);
      state.aux = Kokkos::View<double*, memory_space>(alloc("psgm::sde::sampler::dopri_aux"), b);
      state.done = Kokkos::View<int*, memory_space>(alloc("psgm::sde::sampler::dopri_done"), b);
      state.last_rejected = Kokkos::View<int*, memory_space>(alloc("psgm::sde::sampler::dopri_last_rejected"), b);
      state.accepted = Kokkos::View<std::int64_t*, memory_space>(alloc("psgm::sde::sampler::dopri_accepted"), b);
      state.rejected = Kokkos::View<std::int64_t*, memory_space>(alloc("psgm::sde::sampler::dopri_rejected"), b);
      state.evaluations =
          Kokkos::View<std::int64_t*, memory_space>(alloc("psgm::sde::sampler::dopri_evaluations"), b);
    }
  };

  template <class Model>
  static void run(typename Model::execution_space const& space, Integration<Model>& in, Workspace<Model> const& w,
                  Config const& c, SamplerCall const& call, typename Integration<Model>::field_view x,
                  SampleReport& report) {
    using field_view = typename Integration<Model>::field_view;
    int const batch = call.batch;
    std::vector<field_view> k;
    for (auto const& stage : w.k) k.push_back(in.work(stage, batch));
    field_view const x5 = in.work(w.solution, batch), xs = in.work(w.stage_point, batch);
    auto const tm = in.time(batch);
    auto const status = in.status();
    auto const& st = w.state;
    auto const& process = in.process();
    double const ts = c.start_time(process), te = c.end_time(process);
    Impl::DopriControl const ctl{te, ts - te, c.rtol, c.atol, c.safety, c.min_factor, c.max_factor};
    double const h_fixed = c.initial_step * (ts - te);
    Impl::dopri_init(space, batch, st, ts, -h_fixed);
    in.evaluate(space, x, ts, k[0]);
    Impl::flow_velocity_per_sample(space, process, batch, x, k[0], st.t);
    std::int64_t extra = 1;
    if (h_fixed == 0.0) {
      // Hairer's starting step: one more evaluation, at an explicit Euler point.
      Impl::dopri_initial_step_probe(space, batch, ctl, x, k[0], xs, st, tm);
      in.evaluate_per_sample(space, xs, k[1]);
      Impl::flow_velocity_per_sample(space, process, batch, xs, k[1], st.t_stage);
      Impl::dopri_initial_step_finish(space, batch, ctl, x, k[0], k[1], st);
      extra = 2;
    }
    std::int64_t iterations = 0;
    for (;;) {
      // The host decides whether to sweep again: this reduction waits for the previous sweep.
      int const active = Impl::dopri_active(space, batch, st);
      if (active == 0 || iterations == c.max_iterations) break;
      for (int stage = 1; stage < 7; ++stage) {
        field_view const& point = stage == 6 ? x5 : xs;
        Impl::dopri_stage(space, stage, batch, x, k.data(), point, st, tm);
        in.evaluate_per_sample(space, point, k[stage]);
        Impl::flow_velocity_per_sample(space, process, batch, point, k[stage], st.t_stage);
      }
      Impl::dopri_control(space, batch, ctl, x, x5, k.data(), st, status);
      ++iterations;
    }
    Impl::dopri_mark_unfinished(space, batch, st, status);
    // Per-sample counters, once per call: the report needs them on the host
    // (on host spaces the "mirror" is the view itself, hence the fence).
    space.fence();
    auto const h_accepted = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, st.accepted);
    auto const h_rejected = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, st.rejected);
    auto const h_evaluations = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, st.evaluations);
    std::int64_t accepted = 0, rejected = 0, total_evaluations = 0, max_steps = 0, max_evaluations = 0;
    for (int b = 0; b < batch; ++b) {
      accepted += h_accepted(b);
      rejected += h_rejected(b);
      total_evaluations += h_evaluations(b);
      max_steps = std::max(max_steps, h_accepted(b) + h_rejected(b));
      max_evaluations = std::max(max_evaluations, h_evaluations(b));
    }
    std::int64_t const probe = extra - 1;
    report.steps = max_steps;
    report.accepted_steps = accepted;
    report.rejected_steps = rejected;
    report.mean_nfe_per_sample = static_cast<double>(total_evaluations) / batch + probe;
    report.max_nfe_per_sample = max_evaluations + probe;
  }
};

}  // namespace sde
}  // namespace psgm

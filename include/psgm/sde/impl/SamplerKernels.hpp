// Device kernels of the samplers (docs/sampling.md). Free functions rather
// than member lambdas: no `this` in device code, and CUDA's extended lambdas
// may not live in private member functions.
//
// Fields are (B, C, N) LayoutRight and contiguous, so element-wise updates run
// over the flat index i in [0, B d), d = C N, and the sample of element i is
// i / d. Per-sample work (noise draws, norms, step-size control) runs one
// sample per thread with sequential loops over its d values: the result is
// then bitwise independent of the thread count and of the batch it is in.
#pragma once

#include <psgm/core/KokkosCompat.hpp>
#include <psgm/core/Random.hpp>
#include <psgm/core/Status.hpp>
#include <psgm/sde/DiffusionProcess.hpp>
#include <psgm/sde/impl/AdaptiveState.hpp>

#include <Kokkos_Core.hpp>
#include <Kokkos_Random.hpp>

#include <cstdint>

namespace psgm {
namespace sde {
namespace Impl {

/// The generator of noise draw `draw` of global sample `sample`: a function of
/// (seed, sample, draw) only (docs/design.md, "Reproducible randomness").
/// Draw 0 is the prior; each later draw is one step's noise.
template <class ExecSpace>
KOKKOS_INLINE_FUNCTION Kokkos::Random_XorShift64<ExecSpace> noise_generator(std::uint64_t seed, std::int64_t sample,
                                                                            std::int64_t draw) {
  return random::make_generator<ExecSpace>(
      random::generator_state(seed, random::sampler_noise, static_cast<std::uint64_t>(sample)), random::sampler_noise,
      static_cast<std::uint64_t>(draw));
}

/// z(b, ...) = scale N(0, I) from noise_generator(seed, first + b, draw).
template <class ExecSpace, class Field>
void draw_noise(ExecSpace const& space, Field const& z, int batch, std::uint64_t seed, std::int64_t first,
                std::int64_t draw, double scale) {
  using scalar = typename Field::non_const_value_type;
  std::int64_t const d = static_cast<std::int64_t>(z.extent(1)) * z.extent(2);
  scalar* const zp = z.data();
  Kokkos::parallel_for(
      "psgm::sde::draw_noise", Kokkos::RangePolicy<ExecSpace>(space, 0, batch), KOKKOS_LAMBDA(int b) {
        auto gen = noise_generator<ExecSpace>(seed, first + b, draw);
        scalar* const zb = zp + b * d;
        for (std::int64_t i = 0; i < d; ++i) zb[i] = scalar(scale * gen.normal());
      });
}

/// Optionally, a kernel also writes the model's time input of the next
/// evaluation: t[b] = value for b < batch. Saves a launch per evaluation.
template <class Scalar>
struct NextTime {
  Scalar* t = nullptr;
  std::int64_t batch = 0;
  double value = 0;
};

/// out = sum_k c_k v_k element-wise over `n` values (out may alias any v_k),
/// and the next time input if `next.t` is set.
template <class ExecSpace, class Scalar>
void combine(ExecSpace const& space, char const* label, std::int64_t n, NextTime<Scalar> next, Scalar* out, double c0,
             Scalar const* v0, double c1 = 0, Scalar const* v1 = nullptr, double c2 = 0, Scalar const* v2 = nullptr,
             double c3 = 0, Scalar const* v3 = nullptr, double c4 = 0, Scalar const* v4 = nullptr) {
  int const terms = v4 ? 5 : v3 ? 4 : v2 ? 3 : v1 ? 2 : 1;
  Kokkos::parallel_for(
      label, Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(space, 0, n),
      KOKKOS_LAMBDA(std::int64_t i) {
        double r = c0 * double(v0[i]);
        if (terms > 1) r += c1 * double(v1[i]);
        if (terms > 2) r += c2 * double(v2[i]);
        if (terms > 3) r += c3 * double(v3[i]);
        if (terms > 4) r += c4 * double(v4[i]);
        out[i] = Scalar(r);
        if (next.t && i < next.batch) next.t[i] = Scalar(next.value);
      });
}

/// t(b) = value for b < batch.
template <class ExecSpace, class TimeView>
void fill_time(ExecSpace const& space, TimeView const& t, int batch, double value) {
  using scalar = typename TimeView::non_const_value_type;
  Kokkos::parallel_for(
      "psgm::sde::fill_time", Kokkos::RangePolicy<ExecSpace>(space, 0, batch),
      KOKKOS_LAMBDA(int b) { t(b) = scalar(value); });
}

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

/// Marks samples with a NaN or Inf value non_finite (keeping an earlier non-ok status).
template <class ExecSpace, class Field, class StatusView>
void check_finite(ExecSpace const& space, Field const& x, StatusView const& status, int batch) {
  using scalar = typename Field::non_const_value_type;
  std::int64_t const d = static_cast<std::int64_t>(x.extent(1)) * x.extent(2);
  scalar const* const xp = x.data();
  Kokkos::parallel_for(
      "psgm::sde::check_finite", Kokkos::RangePolicy<ExecSpace>(space, 0, batch), KOKKOS_LAMBDA(int b) {
        bool finite = true;
        for (std::int64_t i = 0; i < d; ++i) finite = finite && math::isfinite(double(xp[b * d + i]));
        if (!finite && status(b) == SolveStatus::ok) status(b) = SolveStatus::non_finite;
      });
}

// ------------------------------------------------------------------ Dormand-Prince 5(4)
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
}  // namespace sde
}  // namespace psgm

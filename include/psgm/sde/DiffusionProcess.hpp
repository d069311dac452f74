// One device-callable view of the three forward processes (VP, VE, EDM) that
// the samplers integrate backwards (docs/sampling.md §1).
//
// Every process is written in the same form
//
//   x_t = m(t) x_0 + s(t) z,   s(t)^2 = v(t),   dx = f(t) x dt + g(t) dW,   t in [t_lo, t_hi],
//
// so one sampler code serves all three:
//
//   VP : t = diffusion time in [t_min, 1]; m, v, f, g^2 from psgm::model::VpSde.
//   VE : t = diffusion time in [t_min, 1]; m = 1, v = sigma(t)^2, f = 0, g^2 = d sigma^2 / dt.
//   EDM: t = sigma in [sigma_min, sigma_max]; m = 1, v = sigma^2, f = 0, g^2 = 2 sigma
//        (Karras et al. 2022, eq. 6 with the identity schedule), so the
//        probability-flow ODE is dx/dsigma = -sigma score = (x - D(x; sigma)) / sigma.
//
// The samplers also need three reparametrisations of t:
//   sigma(t)  = s(t) / m(t)          (EDM's noise level of x / m; Karras Alg. 1),
//   lambda(t) = log(m(t) / s(t))     (half log-SNR; DPM-Solver++ steps in lambda),
// and their inverses, all in closed form.
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/model/Sde.hpp>

namespace psgm {
namespace sde {

struct DiffusionProcess {
  model::SdeType type = model::SdeType::vp;
  model::VpSde vp{};
  model::VeSde ve{};
  model::EdmConfig edm{};

  DiffusionProcess() = default;
  explicit DiffusionProcess(model::SdeConfig const& c) : type(c.type), vp(c.vp), ve(c.ve), edm(c.edm) {}

  /// The time interval the process (and a model trained on it) covers.
  KOKKOS_INLINE_FUNCTION double t_lo() const {
    switch (type) {
      case model::SdeType::vp: return vp.t_min;
      case model::SdeType::ve: return ve.t_min;
      default: return edm.sigma_min;
    }
  }
  KOKKOS_INLINE_FUNCTION double t_hi() const { return type == model::SdeType::edm ? edm.sigma_max : 1.0; }

  KOKKOS_INLINE_FUNCTION double mean(double t) const { return type == model::SdeType::vp ? vp.mean(t) : 1.0; }
  KOKKOS_INLINE_FUNCTION double variance(double t) const {
    switch (type) {
      case model::SdeType::vp: return vp.variance(t);
      case model::SdeType::ve: return ve.variance(t);
      default: return t * t;
    }
  }
  KOKKOS_INLINE_FUNCTION double stddev(double t) const { return math::sqrt(variance(t)); }
  /// f(t) of dx = f(t) x dt + g(t) dW.
  KOKKOS_INLINE_FUNCTION double drift(double t) const { return type == model::SdeType::vp ? vp.drift(t) : 0.0; }
  /// g(t)^2.
  KOKKOS_INLINE_FUNCTION double diffusion2(double t) const {
    switch (type) {
      case model::SdeType::vp: return vp.diffusion2(t);
      case model::SdeType::ve: return ve.diffusion2(t);
      default: return 2.0 * t;
    }
  }
  KOKKOS_INLINE_FUNCTION double diffusion(double t) const { return math::sqrt(diffusion2(t)); }

  /// sigma(t) = s(t) / m(t). For VP s/m = sqrt(exp(alpha) - 1).
  KOKKOS_INLINE_FUNCTION double sigma(double t) const {
    switch (type) {
      case model::SdeType::vp: return math::sqrt(math::expm1(vp.alpha(t)));
      case model::SdeType::ve: return ve.sigma(t);
      default: return t;
    }
  }
  /// The t with sigma(t) = s (inverse of sigma()).
  KOKKOS_INLINE_FUNCTION double time_of_sigma(double s) const {
    switch (type) {
      case model::SdeType::vp: return vp_time_of_alpha(math::log1p(s * s));
      case model::SdeType::ve: return math::log(s / ve.sigma_min) / math::log(ve.sigma_max / ve.sigma_min);
      default: return s;
    }
  }
  /// lambda(t) = log(m / s) = -log sigma(t); decreasing in t.
  KOKKOS_INLINE_FUNCTION double lambda(double t) const {
    // VP: log(m/s) = -1/2 log(exp(alpha) - 1), written without cancellation.
    return type == model::SdeType::vp ? -0.5 * math::log(math::expm1(vp.alpha(t))) : -math::log(sigma(t));
  }
  /// The t with lambda(t) = l.
  KOKKOS_INLINE_FUNCTION double time_of_lambda(double l) const {
    return type == model::SdeType::vp ? vp_time_of_alpha(math::log1p(math::exp(-2.0 * l)))
                                      : time_of_sigma(math::exp(-l));
  }
  /// Standard deviation of the samplers' prior at t_hi: N(0, I) for VP (its
  /// marginal when m(1) ~ 0), N(0, sigma_max^2 I) for VE and EDM (Song et al.
  /// 2021; Karras et al. 2022, Alg. 1 line 1).
  KOKKOS_INLINE_FUNCTION double prior_stddev() const { return type == model::SdeType::vp ? 1.0 : stddev(t_hi()); }

  /// The time input the model's score() takes for process time t: t itself
  /// for VP and VE, sigma for EDM (which is what t is for EDM).
  KOKKOS_INLINE_FUNCTION double model_time(double t) const { return t; }

  /// Throws InvalidArgument when the process is unusable (see SdeConfig::validate).
  void validate() const { to_config().validate(); }
  model::SdeConfig to_config() const {
    model::SdeConfig c;
    c.type = type;
    c.vp = vp;
    c.ve = ve;
    c.edm = edm;
    return c;
  }

 private:
  /// VP: alpha(t) = beta_min t + 1/2 (beta_max - beta_min) t^2 solved for t,
  /// in the form without cancellation for small alpha.
  KOKKOS_INLINE_FUNCTION double vp_time_of_alpha(double a) const {
    double const d = vp.beta_max - vp.beta_min;
    return 2.0 * a / (vp.beta_min + math::sqrt(vp.beta_min * vp.beta_min + 2.0 * d * a));
  }
};

}  // namespace sde
}  // namespace psgm

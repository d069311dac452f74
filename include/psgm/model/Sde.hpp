// Forward noising processes (docs/sgm.md §2, spec sgm.md §2): the SDE a model
// is trained with, part of its description (model/ModelDescription.hpp).
// Device-callable value types shared by the trainers (denoising score
// matching) and the samplers (reverse-time SDE / probability-flow ODE,
// sde/DiffusionProcess.hpp).
//
//   x_t = m(t) x_0 + s(t) z,  z ~ N(0, I),  s(t)^2 = v(t)
//   dx  = f(t) x dt + g(t) dW
//
// VP (reference): β(t) = β_min + t (β_max - β_min), α(t) = ∫β = β_min t + ½(β_max-β_min) t²,
//                 m = exp(-α/2), v = 1 - exp(-α), f = -½β, g² = β.
// VE:             σ(t) = σ_min (σ_max/σ_min)^t, m = 1, v = σ(t)², f = 0, g² = dσ²/dt.
// EDM:            x_σ = x_0 + σ n; the network is preconditioned (Karras et al. 2022):
//                 D(x; σ) = c_skip x + c_out F(c_in x; c_noise), score = (D - x) / σ².
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>

#include <cmath>
#include <string>

namespace psgm {
namespace model {

enum class SdeType { vp, ve, edm };

inline char const* to_string(SdeType t) {
  switch (t) {
    case SdeType::vp: return "vp";
    case SdeType::ve: return "ve";
    case SdeType::edm: return "edm";
  }
  return "unknown";
}
inline SdeType sde_type_from_string(std::string const& s) {
  if (s == "vp") return SdeType::vp;
  if (s == "ve") return SdeType::ve;
  if (s == "edm") return SdeType::edm;
  throw InvalidArgument("unknown SDE type '" + s + "': expected 'vp', 've' or 'edm'");
}

/// Variance-preserving SDE with the linear schedule (the reference).
struct VpSde {
  double beta_min = 1e-3;
  double beta_max = 20.0;
  double t_min = 1e-4;  ///< smallest diffusion time used in training and sampling

  /// Largest mean factor m(1) accepted: above it the N(0, I) prior of the
  /// samplers does not match x_1 and the generated mean is biased.
  static constexpr double max_signal_at_t1 = 1e-2;

  KOKKOS_INLINE_FUNCTION double beta(double t) const { return beta_min + t * (beta_max - beta_min); }
  KOKKOS_INLINE_FUNCTION double alpha(double t) const { return beta_min * t + 0.5 * (beta_max - beta_min) * t * t; }
  KOKKOS_INLINE_FUNCTION double mean(double t) const { return math::exp(-0.5 * alpha(t)); }
  KOKKOS_INLINE_FUNCTION double variance(double t) const { return -math::expm1(-alpha(t)); }
  KOKKOS_INLINE_FUNCTION double stddev(double t) const { return math::sqrt(variance(t)); }
  /// Drift coefficient f(t) of dx = f(t) x dt + g(t) dW.
  KOKKOS_INLINE_FUNCTION double drift(double t) const { return -0.5 * beta(t); }
  /// g(t)².
  KOKKOS_INLINE_FUNCTION double diffusion2(double t) const { return beta(t); }

  /// Throws InvalidArgument with an explanation when the schedule is unusable.
  void validate() const {
    require(beta_min > 0 && beta_max > beta_min, "VP SDE: need 0 < beta_min < beta_max, got beta_min = ", beta_min,
            ", beta_max = ", beta_max);
    require(t_min > 0 && t_min < 0.1, "VP SDE: t_min = ", t_min, " must be in (0, 0.1)");
    double const m1 = mean(1.0);
    require(m1 <= max_signal_at_t1, "VP SDE: the schedule beta_min = ", beta_min, ", beta_max = ", beta_max,
            " leaves m(1) = ", m1, " of the signal at t = 1 (at most ", max_signal_at_t1,
            " is accepted). The samplers start from N(0, I), but x_1 ~ N(m(1) x_0, (1 - m(1)^2) I): "
            "the start misses the forward process by m(1) x_0 and the generated mean is biased towards 0 "
            "(beta_max = 3 gives m(1) = 0.47, the cause of the mean bias once reported for this problem). "
            "Since m(1) = exp(-(beta_min + beta_max) / 4), use beta_max >= ",
            4.0 * std::log(1.0 / max_signal_at_t1) - beta_min, " (reference: 20).");
  }
};

/// Variance-exploding SDE (Song et al. 2021).
struct VeSde {
  double sigma_min = 0.01;
  double sigma_max = 50.0;
  double t_min = 1e-5;

  KOKKOS_INLINE_FUNCTION double sigma(double t) const { return sigma_min * math::pow(sigma_max / sigma_min, t); }
  KOKKOS_INLINE_FUNCTION double mean(double) const { return 1.0; }
  KOKKOS_INLINE_FUNCTION double variance(double t) const { return sigma(t) * sigma(t); }
  KOKKOS_INLINE_FUNCTION double stddev(double t) const { return sigma(t); }
  KOKKOS_INLINE_FUNCTION double drift(double) const { return 0.0; }
  KOKKOS_INLINE_FUNCTION double diffusion2(double t) const {
    return 2.0 * sigma(t) * sigma(t) * math::log(sigma_max / sigma_min);
  }

  void validate() const {
    require(sigma_min > 0 && sigma_max > sigma_min, "VE SDE: need 0 < sigma_min < sigma_max, got sigma_min = ",
            sigma_min, ", sigma_max = ", sigma_max);
    require(t_min > 0 && t_min < 0.1, "VE SDE: t_min = ", t_min, " must be in (0, 0.1)");
    // The prior N(0, σ_max² I) must swamp the (unit-variance, normalised) data.
    require(sigma_max >= 10.0, "VE SDE: sigma_max = ", sigma_max,
            " is too small: the prior N(0, sigma_max^2 I) must cover the normalised data (std 1); use >= 10");
  }
};

/// EDM formulation (Karras et al. 2022): preconditioning, log-normal σ during
/// training, Heun sampling on the σ grid with ρ = 7.
struct EdmConfig {
  double sigma_data = 1.0;  ///< psgm normalises each field to unit std
  double p_mean = -1.2;
  double p_std = 1.2;
  double sigma_min = 0.002;
  double sigma_max = 80.0;
  double rho = 7.0;
  /// c_noise(σ) = noise_scale · ln σ, the network's time input. Karras et al.
  /// use 1/4; the FiLM-CNN's embedding sin/cos(2π 2^k t) has period 1 in t, so
  /// with 1/4 noise levels a factor e⁴ apart look the same to it. psgm's
  /// whitened models use 1/16 (ln σ ∈ [ln 0.002, ln 80] then spans 0.66 < 1).
  double noise_scale = 0.25;

  KOKKOS_INLINE_FUNCTION double c_skip(double s) const { return sigma_data * sigma_data / (s * s + sigma_data * sigma_data); }
  KOKKOS_INLINE_FUNCTION double c_out(double s) const { return s * sigma_data / math::sqrt(s * s + sigma_data * sigma_data); }
  KOKKOS_INLINE_FUNCTION double c_in(double s) const { return 1.0 / math::sqrt(s * s + sigma_data * sigma_data); }
  KOKKOS_INLINE_FUNCTION double c_noise(double s) const { return noise_scale * math::log(s); }
  /// σ of a time input: the inverse of c_noise.
  KOKKOS_INLINE_FUNCTION double sigma_of_noise(double c) const { return math::exp(c / noise_scale); }
  /// Loss weight λ(σ) = (σ² + σ_d²) / (σ σ_d)².
  KOKKOS_INLINE_FUNCTION double loss_weight(double s) const {
    return (s * s + sigma_data * sigma_data) / (s * sigma_data * s * sigma_data);
  }

  void validate() const {
    require(sigma_data > 0, "EDM: sigma_data = ", sigma_data, " must be > 0");
    require(sigma_min > 0 && sigma_max > sigma_min, "EDM: need 0 < sigma_min < sigma_max, got ", sigma_min, ", ",
            sigma_max);
    require(p_std > 0, "EDM: p_std = ", p_std, " must be > 0");
    require(rho > 0, "EDM: rho = ", rho, " must be > 0");
    require(noise_scale > 0 && noise_scale <= 1, "EDM: noise_scale = ", noise_scale, " must be in (0, 1]");
  }
};

/// Which process a model was trained with, and its parameters.
struct SdeConfig {
  SdeType type = SdeType::vp;
  VpSde vp{};
  VeSde ve{};
  EdmConfig edm{};

  void validate() const {
    switch (type) {
      case SdeType::vp: vp.validate(); break;
      case SdeType::ve: ve.validate(); break;
      case SdeType::edm: edm.validate(); break;
    }
  }
};

}  // namespace model
}  // namespace psgm

// The importance-sampled PDE posterior as a reference (docs/posterior.md §4):
// a large PDE ensemble at one condition weighted by the observations'
// likelihood,
//
//   w_i ∝ exp(−½ Σ_j ((y_j − (H x_i)_j) / s_j)²),   ESS = (Σ w)² / Σ w²,
//
// (log-sum-exp: the largest log-weight is subtracted before exp), and a
// posterior ensemble judged against it, per channel, over the points with
// spread (the definitions of python/psgm/posterior_check.py):
//
//   mean error    mean_x |m_S(x) − m_A(x)| / s_A(x)   (in posterior spreads)
//   spread error  mean_x |s_S(x) − s_A(x)| / s_A(x)
//   coverage      the A-weight inside S's pointwise central band, mean over x
//
// m_S, s_S the ensemble's mean and sample standard deviation (n − 1), its
// band between the (1 ∓ level)/2 quantiles (numpy's default interpolation);
// m_A, s_A the weighted mean and spread. The ensemble is split in two
// halves: A (the first) is the reference, B gives the noise floor: n fields
// resampled from B by their weights (multinomial, psgm::random stream
// `evaluation`), judged against A like the ensemble, averaged over
// `floor_draws` resamplings. Below `min_ess` in either half the reference
// is refused: PosteriorComparison::judged is false and `message` says why.
//
//   auto H = psgm::posterior::ObservationOperator(obs, x, 2);
//   auto r = psgm::posterior::compare_posterior(space, samples, reference, H, {});
//   if (!r.judged) std::cerr << r.message;   // ESS below the threshold
//   r.metrics[c].mean_error, r.floor[c].mean_error, ...
#pragma once

#include <psgm/core/ExecutionSpaces.hpp>
#include <psgm/posterior/Observations.hpp>
#include <psgm/stats/Pointwise.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace psgm::posterior {

/// Normalised importance weights of an ensemble given the observations.
template <class ExecSpace>
struct ImportanceWeights {
  stats::vector_view<ExecSpace> weights;  ///< (R), Σ = 1
  double ess = 0;                         ///< (Σ w)² / Σ w² = 1 / Σ w² (normalised)
  double max_log_weight = 0;              ///< the largest −½ Σ_j r_j² (log-sum-exp shift)
};

/// The weights of every field of `ensemble` (R, C, N) given H's
/// observations. H's channels and points must be the ensemble's
/// (psgm::InvalidArgument otherwise, and for an empty ensemble). Fences
/// `space` (the ESS is returned to the host).
template <class ExecSpace>
ImportanceWeights<ExecSpace> importance_weights(ExecSpace const& space, stats::const_fields_view<ExecSpace> ensemble,
                                                ObservationOperator const& H);

/// The three numbers of one channel.
struct PosteriorMetrics {
  double mean_error = 0;    ///< mean_x |m_S − m_A| / s_A
  double spread_error = 0;  ///< mean_x |s_S − s_A| / s_A
  double coverage = 0;      ///< mean_x of the A-weight inside S's central band
  int points = 0;           ///< the points with spread (s_A > 1e-12 · max_x |m_A|) the means run over
};

/// Per channel, `samples` (n ≥ 2, C, N) against the ensemble `reference`
/// (R, C, N) weighted by `weights` (R, normalised), central band `band_level`.
/// Fences `space`.
template <class ExecSpace>
std::vector<PosteriorMetrics> posterior_metrics(ExecSpace const& space, stats::const_fields_view<ExecSpace> samples,
                                                stats::const_fields_view<ExecSpace> reference,
                                                stats::const_vector_view<ExecSpace> weights, double band_level = 0.95);

struct PosteriorReferenceOptions {
  double min_ess = 1000;     ///< refuse a half of the reference below this ESS
  int floor_draws = 20;      ///< resamplings of half B averaged for the noise floor
  std::uint64_t seed = 0;    ///< of the resampling (stream psgm::random::evaluation)
  double band_level = 0.95;  ///< the coverage's central band
  /// psgm::InvalidArgument for min_ess < 0 or not finite, floor_draws < 1,
  /// band_level outside (0, 1).
  void validate() const;
};

struct PosteriorComparison {
  std::int64_t reference_fields = 0;  ///< R, both halves
  std::int64_t samples = 0;           ///< n
  double ess_reference = 0;           ///< of half A
  double ess_floor = 0;               ///< of half B
  bool judged = false;                ///< false: an ESS below min_ess, metrics and floor empty
  std::string message;                ///< why not judged (the ESS and the threshold)
  std::vector<PosteriorMetrics> metrics;  ///< per channel, the samples against A
  std::vector<PosteriorMetrics> floor;    ///< per channel, n fields resampled from B against A (means)
};

/// The samples (n ≥ 2, C, N) against the importance-weighted `ensemble`
/// (R ≥ 2, C, N; PDE fields at the samples' condition), beside the floor.
/// Profiling region "psgm::posterior::compare_posterior". Fences `space`.
template <class ExecSpace>
PosteriorComparison compare_posterior(ExecSpace const& space, stats::const_fields_view<ExecSpace> samples,
                                      stats::const_fields_view<ExecSpace> ensemble, ObservationOperator const& H,
                                      PosteriorReferenceOptions const& options = {});

}  // namespace psgm::posterior

#define PSGM_POSTERIOR_REFERENCE_ETI(Space)                                                                       \
  extern template psgm::posterior::ImportanceWeights<Space> psgm::posterior::importance_weights<Space>(           \
      Space const&, psgm::stats::const_fields_view<Space>, psgm::posterior::ObservationOperator const&);          \
  extern template std::vector<psgm::posterior::PosteriorMetrics> psgm::posterior::posterior_metrics<Space>(       \
      Space const&, psgm::stats::const_fields_view<Space>, psgm::stats::const_fields_view<Space>,                 \
      psgm::stats::const_vector_view<Space>, double);                                                             \
  extern template psgm::posterior::PosteriorComparison psgm::posterior::compare_posterior<Space>(                 \
      Space const&, psgm::stats::const_fields_view<Space>, psgm::stats::const_fields_view<Space>,                 \
      psgm::posterior::ObservationOperator const&, psgm::posterior::PosteriorReferenceOptions const&);
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_POSTERIOR_REFERENCE_ETI)
#undef PSGM_POSTERIOR_REFERENCE_ETI

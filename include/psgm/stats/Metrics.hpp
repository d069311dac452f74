// How a generated ensemble is judged against the PDE (spec sgm.md §6,
// docs/metrics.md): at one condition, a model ensemble and a PDE ensemble are
// compared field by field (c and φ) with
//
//   M1 mean error     ‖μ_model - μ_pde‖₂ / ‖σ_pde‖₂
//   M2 spread error   ‖σ_model - σ_pde‖₂ / ‖σ_pde‖₂
//   M3 band coverage  fraction of PDE values inside the model's pointwise
//                     central band (2.5 % / 97.5 % quantiles for level 0.95)
//   M4 Wasserstein    pointwise 1-D W₁, averaged over the free grid points
//   M5 energy         energy distance of the standardised fields, with a
//                     permutation p-value
//   M6 QoI            P(min_x c < c_crit) with a Wilson interval
//
// and every metric is reported beside its noise floor: the same metric with a
// second, independent PDE ensemble in place of the model. Points pinned by a
// boundary condition (zero spread in the PDE ensemble: c on the Dirichlet
// cell, φ on the first cell, φ₀ ≡ 0 by the shift) are excluded from M3–M5.
#pragma once

#include <psgm/core/ExecutionSpaces.hpp>
#include <psgm/stats/Binomial.hpp>
#include <psgm/stats/EnergyDistance.hpp>
#include <psgm/stats/Pointwise.hpp>

#include <Kokkos_Core.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace psgm::stats {

/// The porous electrode's fields, in channel order (docs/design.md §3). Other
/// data sets have C channels of their own names (EnsembleComparison::channels).
inline constexpr int num_fields = 2;
inline constexpr char const* field_names[num_fields] = {"c", "phi"};

/// The per-field metrics, in the order of the tables (docs/metrics.md §1).
enum class Metric { mean_error, spread_error, coverage, wasserstein, energy_distance, energy_p_value };
inline constexpr int num_metrics = 6;
inline constexpr Metric all_metrics[num_metrics] = {Metric::mean_error,  Metric::spread_error,
                                                    Metric::coverage,    Metric::wasserstein,
                                                    Metric::energy_distance, Metric::energy_p_value};
/// "mean_error", "spread_error", "coverage", "wasserstein", "energy_distance", "energy_p_value".
char const* to_string(Metric metric);

struct MetricsOptions {
  double band_level = 0.95;        ///< central band [(1-level)/2, (1+level)/2] of M3 and of the profiles
  int permutations = 999;          ///< relabellings of the energy test (M5); 0: no p-value
  std::uint64_t seed = 0;          ///< seed of the permutations (stream psgm::random::evaluation)
  /// Index of this comparison among those run with one seed (e.g. the
  /// condition's row): comparisons with different indices draw independent
  /// relabellings.
  std::uint64_t evaluation_index = 0;
  /// Called between batches of the energy test's relabellings
  /// (EnergyTestOptions::between_batches); may throw to stop the comparison.
  std::function<void()> between_permutation_batches;
  /// A grid point is pinned when σ_pde there is <= pinned_tolerance times the
  /// field's largest σ_pde. Pinned values are set by the solver (c_right,
  /// φ₀ = 0) and have exactly zero spread; the tolerance only absorbs round-off.
  double pinned_tolerance = 1e-9;
  /// Threshold of the QoI P(min_x c < c_crit) [mol/m³]. Unset: the
  /// c_crit_quantile-quantile of min_x c over the PDE ensemble, so that the
  /// PDE probability is about c_crit_quantile (a tail event still resolved
  /// by a few hundred fields) whatever the condition.
  std::optional<double> c_crit;
  double c_crit_quantile = 0.1;
  double confidence = 0.95;        ///< of the Wilson intervals of M6
  /// M6 on channel 0 (c): the porous electrode's quantity of interest. Off
  /// for data sets of other channels (evaluate_files() sets it from the schema).
  bool quantity_of_interest = true;

  /// psgm::InvalidArgument naming the field, its value and the expected range.
  void validate() const;
};

/// M1–M5 for one field.
struct FieldMetrics {
  double mean_error = 0.0;       ///< M1
  double spread_error = 0.0;     ///< M2
  double coverage = 0.0;         ///< M3 (target: band_level)
  double wasserstein = 0.0;      ///< M4, in the field's unit (mol/m³ or V)
  double energy_distance = 0.0;  ///< M5 statistic (standardised fields, dimensionless)
  double energy_p_value = 0.0;   ///< M5 permutation p-value (NaN without permutations)

  double get(Metric metric) const;
};

/// Per-point statistics of one ensemble; vectors of C·N values, index channel·N + i.
struct EnsembleProfile {
  std::int64_t num_samples = 0;
  std::vector<double> mean;
  std::vector<double> stddev;  ///< divisor n - 1
  std::vector<double> lower;   ///< (1 - band_level)/2 quantile (type 7)
  std::vector<double> upper;   ///< (1 + band_level)/2 quantile (type 7)
};

/// M6: P(min_x c < c_crit) in each ensemble.
struct QuantityOfInterest {
  double c_crit = 0.0;
  bool c_crit_from_data = false;  ///< true: the c_crit_quantile-quantile of the PDE's min_x c
  Proportion pde;
  Proportion model;
  Proportion floor;  ///< the second PDE ensemble
  double error() const;        ///< |P_model - P_pde|
  double floor_error() const;  ///< |P_floor - P_pde|
};

/// Everything compare() finds at one condition.
struct EnsembleComparison {
  int num_points = 0;  ///< N
  std::vector<std::string> channels;  ///< C channel names ((c, phi) for the porous electrode)
  std::vector<FieldMetrics> model;  ///< (C) model vs PDE
  std::vector<FieldMetrics> floor;  ///< (C) second PDE ensemble vs PDE: the noise floor
  bool has_qoi = false;             ///< M6 computed (MetricsOptions::quantity_of_interest)
  QuantityOfInterest qoi;
  EnsembleProfile pde_profile;
  EnsembleProfile model_profile;
  EnsembleProfile floor_profile;
  std::vector<std::uint8_t> pinned;           ///< (C·N): 1 where the point is excluded from M3–M5
  std::vector<double> wasserstein_model;      ///< (C·N) pointwise W₁(model, PDE)
  std::vector<double> wasserstein_floor;      ///< (C·N) pointwise W₁(floor, PDE)
  std::vector<double> coverage_model;         ///< (C·N) fraction of PDE values in the model's band
  std::vector<double> coverage_floor;         ///< (C·N) fraction of PDE values in the floor's band

  int num_channels() const { return static_cast<int>(model.size()); }
  int num_pinned(int field) const;
};

/// Compares ensembles on ExecSpace. Holds the sorted ensembles and the
/// energy test's workspaces, so repeated comparisons of one size (the
/// conditions of an evaluation) allocate once.
template <class ExecSpace>
class EnsembleComparator {
 public:
  using execution_space = ExecSpace;
  using memory_space = typename ExecSpace::memory_space;
  using fields_view = const_fields_view<ExecSpace>;  ///< (n, C, N)

  /// Validates the options (psgm::InvalidArgument).
  explicit EnsembleComparator(MetricsOptions const& options = {});

  /// Metrics M1–M6 of `model` against `pde`, and their noise floors from
  /// `pde_floor`, an independent PDE ensemble at the same condition (best of
  /// the model's size). psgm::InvalidArgument for fewer than 2 samples in an
  /// ensemble, different channel counts or grids, non-finite
  /// values, or a PDE ensemble with no spread in a field. Fences `space`.
  EnsembleComparison compare(ExecSpace const& space, fields_view model, fields_view pde, fields_view pde_floor);

  /// The per-point profile of one ensemble (mean, spread, band). Fences `space`.
  EnsembleProfile profile(ExecSpace const& space, fields_view ensemble);

  MetricsOptions const& options() const { return options_; }
  void set_options(MetricsOptions const& options);

 private:
  using column_view = Kokkos::View<double*, memory_space>;
  EnsembleProfile profile_of(ExecSpace const& space, SortedColumns<memory_space> const& columns);

  MetricsOptions options_;
  SortedColumns<memory_space> model_, pde_, floor_;
  EnergyDistanceTest<ExecSpace> energy_;
  column_view lower_, upper_, pointwise_, weights_, minima_;
};

}  // namespace psgm::stats

#define PSGM_STATS_ENSEMBLE_COMPARATOR_ETI(Space) extern template class psgm::stats::EnsembleComparator<Space>;
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_STATS_ENSEMBLE_COMPARATOR_ETI)
#undef PSGM_STATS_ENSEMBLE_COMPARATOR_ETI

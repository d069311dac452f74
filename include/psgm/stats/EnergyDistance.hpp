// The energy distance between two ensembles of vectors and its permutation
// test (docs/metrics.md, definition M5; Székely & Rizzo 2004, 2013).
//
// For samples x_1..x_n and y_1..y_m in R^d, with the weighted Euclidean
// norm ‖v‖_w = sqrt(Σ_k (w_k v_k)²), the statistic is the V-statistic
//
//   Ê = 2/(n m) Σ_ij ‖x_i - y_j‖_w - 1/n² Σ_ij ‖x_i - x_j‖_w - 1/m² Σ_ij ‖y_i - y_j‖_w  (>= 0),
//
// zero in the limit exactly when the two distributions agree. Weights
// w_k = 1/σ_k standardise every coordinate by the reference ensemble's
// pointwise spread (the mean cancels in differences); w_k = 0 drops a
// coordinate (points pinned by a boundary condition).
//
// Permutation test: the n + m vectors are pooled, the pairwise distance matrix
// D is formed once (O((n+m)² d) work, (n+m)² doubles of memory), and each of
// P random relabellings draws a uniformly random subset A of the pooled
// indices of the smaller group's size (selection sampling, Knuth's
// Algorithm S). Only S_AA = Σ_{i,j∈A} D_ij costs O(|A|²); with the row sums
// r_i and the total T, S_AB = Σ_{i∈A} r_i - S_AA and S_BB = T - 2 Σ_{i∈A} r_i + S_AA.
// The observed labelling goes through the same kernel, so a relabelling equal
// to it reproduces the statistic to the last bit. p = (1 + #{Ê_π >= Ê}) / (1 + P).
// Relabelling π uses psgm::random::make_generator(seed, evaluation,
// first_item + π), π = 1..P: reproducible on every backend and thread count.
#pragma once

#include <psgm/core/ExecutionSpaces.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <functional>

namespace psgm::stats {

struct EnergyTestOptions {
  int permutations = 999;         ///< P random relabellings; 0: statistic only (p-value NaN)
  std::uint64_t seed = 0;         ///< user seed; the stream is psgm::random::evaluation
  std::uint64_t first_item = 0;   ///< relabelling π draws from item first_item + π
  /// Called on the host after each batch of relabellings, once `space` has
  /// finished it; may throw to stop the test (psgm evaluate's interrupt
  /// check: 10^8 relabellings take minutes). Empty: no call and no fence.
  std::function<void()> between_batches;
};

struct EnergyTestResult {
  double statistic = 0.0;         ///< Ê(x, y) >= 0
  double p_value = 0.0;           ///< (1 + exceedances) / (1 + permutations); NaN when permutations = 0
  int permutations = 0;           ///< P
  std::int64_t exceedances = 0;   ///< #{π : Ê_π >= Ê}
};

template <class ExecSpace>
class EnergyDistanceTest {
 public:
  using execution_space = ExecSpace;
  using memory_space = typename ExecSpace::memory_space;
  /// (n, d) samples, one per row; any strides (e.g. one channel of an (n, C, N) ensemble).
  using samples_view = Kokkos::View<const double**, Kokkos::LayoutStride, memory_space>;
  using weights_view = Kokkos::View<const double*, memory_space>;                    ///< (d)
  using distance_view = Kokkos::View<double**, Kokkos::LayoutRight, memory_space>;   ///< (n+m, n+m)

  /// Pooled samples of at most this many rows: D takes (n+m)² doubles
  /// (46340² · 8 B = 17 GB).
  static constexpr std::int64_t max_pooled_samples = 46340;

  EnergyDistanceTest() = default;

  /// Ê(x, y) and, for options.permutations > 0, its permutation p-value.
  /// psgm::InvalidArgument for fewer than 2 samples in x or y, different
  /// dimensions, a weight vector of another length, negative or non-finite
  /// weights, or more than max_pooled_samples pooled rows. Workspaces grow on
  /// demand and are reused by later calls. Fences `space` (returns to the host).
  EnergyTestResult run(ExecSpace const& space, samples_view x, samples_view y, weights_view weights,
                       EnergyTestOptions const& options = {});

  /// The pooled distance matrix of the last run(): rows 0..n-1 are x, n..n+m-1 are y.
  distance_view distances() const { return distances_; }

 private:
  using index_view = Kokkos::View<int**, Kokkos::LayoutRight, memory_space>;
  using vector_view = Kokkos::View<double*, memory_space>;
  using pooled_view = Kokkos::View<double**, Kokkos::LayoutRight, memory_space>;

  pooled_view pooled_;     // (n+m, d): weighted samples
  distance_view distances_;
  vector_view row_sums_;   // (n+m)
  vector_view scalars_;    // [0]: T = Σ_ij D_ij
  index_view subsets_;     // (batch, |A|): relabelled group A, ascending
  vector_view statistics_; // (1 + P): [0] observed, [π] relabelling π
};

}  // namespace psgm::stats

#define PSGM_STATS_ENERGY_DISTANCE_ETI(Space) extern template class psgm::stats::EnergyDistanceTest<Space>;
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_STATS_ENERGY_DISTANCE_ETI)
#undef PSGM_STATS_ENERGY_DISTANCE_ETI

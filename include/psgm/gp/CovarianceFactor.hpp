// Host-side covariance assembly and factorisation of the porosity GP
// (docs/model.md §2). Computed with Eigen in src/gp; no Eigen type appears
// here. The sampler (gp/PorositySampler.hpp) copies the factor to its memory
// space and draws g = C z with a GEMM.
#pragma once

#include <psgm/gp/PorosityModel.hpp>

#include <cstdint>
#include <memory>
#include <vector>

namespace psgm::gp {

/// Which factorisation produced a CovarianceFactor.
enum class FactorMethod {
  cholesky,  ///< K = C Cᵀ, C lower triangular, N × N
  eigen,     ///< K ≈ C Cᵀ, C = V_r Λ_r^{1/2}, N × r (truncated Karhunen–Loève)
};
char const* to_string(FactorMethod method);

/// A factor C with K ≈ C Cᵀ, stored column-major (N rows, rank columns).
struct CovarianceFactor {
  FactorMethod method = FactorMethod::cholesky;
  int num_cells = 0;               ///< N
  int rank = 0;                    ///< columns of C (N for Cholesky)
  std::vector<double> matrix;      ///< C(i, k) = matrix[i + k * num_cells]
  double dropped_variance = 0.0;   ///< Σ of the discarded eigenvalues / trace(K) (0 for Cholesky)
  double min_eigenvalue = 0.0;     ///< smallest eigenvalue of K (eigen method only; may be < 0 by round-off)
};

/// K_ij = k(|x_i - x_j|; l) + ν δ_ij (docs/model.md eq. 1), column-major N × N
/// (symmetric, so also row-major).
std::vector<double> assemble_covariance(PorosityModel const& model, double l, std::vector<double> const& x);

/// Factorises K for (model, l, x) following model.factorization
/// (docs/model.md §2.2). Throws psgm::InvalidArgument for bad l or model,
/// psgm::NumericalError when Factorization::cholesky is forced on a matrix
/// that is not numerically positive definite.
CovarianceFactor factor_covariance(PorosityModel const& model, double l, std::vector<double> const& x);

/// A bounded, thread-safe least-recently-used cache of host factors keyed on
/// (kernel, σ, ν, factorization, l, N, the grid): the reference design draws
/// 25 fields per l, so one factorisation serves a whole condition.
class CovarianceFactorCache {
 public:
  explicit CovarianceFactorCache(std::size_t capacity = 8);
  ~CovarianceFactorCache();
  CovarianceFactorCache(CovarianceFactorCache const&) = delete;
  CovarianceFactorCache& operator=(CovarianceFactorCache const&) = delete;

  /// The factor for (model, l, x), computed on a miss.
  std::shared_ptr<CovarianceFactor const> get(PorosityModel const& model, double l, std::vector<double> const& x);
  std::size_t hits() const;
  std::size_t misses() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace psgm::gp

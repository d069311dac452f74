// The random porosity model of spec model.md §2 (docs/model.md, eqs. 1–3):
// a Gaussian process g on the cell centres, mapped pointwise to a porosity in
// [epsilon_min, epsilon_max]. Host-side description only; the sampler is
// gp/PorositySampler.hpp, the covariance factorisation gp/CovarianceFactor.hpp.
#pragma once

#include <string>

namespace psgm::gp {

/// Covariance kernel k(r) of the latent Gaussian process, r = |x_i - x_j|
/// (docs/model.md eq. 1).
enum class CovarianceKernel {
  squared_exponential,  ///< σ² exp(-r² / (2 l²))            (reference)
  matern32,             ///< σ² (1 + √3 r/l) exp(-√3 r/l)
  matern52,             ///< σ² (1 + √5 r/l + 5 r²/(3 l²)) exp(-√5 r/l)
};

/// Pointwise map from the latent g to the porosity ε (docs/model.md eq. 3).
enum class PorosityMap {
  sigmoid,       ///< ε = ε_min + (ε_max - ε_min) / (1 + exp(-g))   (reference)
  gaussian_cdf,  ///< ε = ε_min + (ε_max - ε_min) Φ(g / σ): uniform marginals in [ε_min, ε_max]
};

/// How the covariance matrix is factorised (docs/model.md §2.2).
enum class Factorization {
  automatic,  ///< Cholesky; the truncated eigen (Karhunen–Loève) factor where Cholesky fails
  cholesky,   ///< Cholesky only; a matrix that is not numerically SPD is an error
  eigen,      ///< always the truncated symmetric-eigen (Karhunen–Loève) factor
};

/// Every parameter of the porosity model; the defaults are the reference case.
struct PorosityModel {
  CovarianceKernel kernel = CovarianceKernel::squared_exponential;
  double sigma = 1.0;    ///< marginal standard deviation σ of g (before the nugget)
  double nugget = 1e-4;  ///< ν added to the diagonal of K
  PorosityMap map = PorosityMap::sigmoid;
  double epsilon_min = 0.2;
  double epsilon_max = 0.5;
  Factorization factorization = Factorization::automatic;

  /// Throws psgm::InvalidArgument naming the field, its value and the
  /// expected range: sigma > 0, nugget >= 0 (finite), 0 < epsilon_min <
  /// epsilon_max < 1.
  void validate() const;
};

/// Throws psgm::InvalidArgument unless the correlation length is finite and > 0.
void validate_correlation_length(double l);

// String forms (configuration files, HDF5 attributes): the enumerator names,
// e.g. "squared_exponential", "matern32", "sigmoid", "gaussian_cdf".
char const* to_string(CovarianceKernel kernel);
char const* to_string(PorosityMap map);
char const* to_string(Factorization factorization);
/// Throw psgm::InvalidArgument listing the accepted names for anything else.
CovarianceKernel covariance_kernel_from_string(std::string const& name);
PorosityMap porosity_map_from_string(std::string const& name);
Factorization factorization_from_string(std::string const& name);

}  // namespace psgm::gp

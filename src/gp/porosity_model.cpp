// Validation and string forms of the porosity model (docs/model.md §2).
#include <psgm/core/Error.hpp>
#include <psgm/gp/CovarianceFactor.hpp>
#include <psgm/gp/PorosityModel.hpp>

#include <cmath>

namespace psgm::gp {

void PorosityModel::validate() const {
  require(std::isfinite(sigma) && sigma > 0, "porosity model: sigma = ", sigma,
          " must be finite and > 0 (marginal standard deviation of the GP)");
  require(std::isfinite(nugget) && nugget >= 0, "porosity model: nugget = ", nugget, " must be finite and >= 0");
  require(std::isfinite(epsilon_min) && std::isfinite(epsilon_max), "porosity model: epsilon_min = ", epsilon_min,
          ", epsilon_max = ", epsilon_max, " must be finite");
  require(epsilon_min < epsilon_max, "porosity model: epsilon_min = ", epsilon_min,
          " must be < epsilon_max = ", epsilon_max, " (bounds reversed or equal)");
  require(epsilon_min > 0 && epsilon_max < 1, "porosity model: [epsilon_min, epsilon_max] = [", epsilon_min, ", ",
          epsilon_max, "] must lie inside (0, 1)");
}

void validate_correlation_length(double l) {
  require(std::isfinite(l) && l > 0, "correlation length l = ", l, " must be finite and > 0");
}

char const* to_string(CovarianceKernel kernel) {
  switch (kernel) {
    case CovarianceKernel::squared_exponential: return "squared_exponential";
    case CovarianceKernel::matern32: return "matern32";
    case CovarianceKernel::matern52: return "matern52";
  }
  return "unknown";
}

char const* to_string(PorosityMap map) {
  switch (map) {
    case PorosityMap::sigmoid: return "sigmoid";
    case PorosityMap::gaussian_cdf: return "gaussian_cdf";
  }
  return "unknown";
}

char const* to_string(Factorization factorization) {
  switch (factorization) {
    case Factorization::automatic: return "automatic";
    case Factorization::cholesky: return "cholesky";
    case Factorization::eigen: return "eigen";
  }
  return "unknown";
}

char const* to_string(FactorMethod method) {
  switch (method) {
    case FactorMethod::cholesky: return "cholesky";
    case FactorMethod::eigen: return "eigen";
  }
  return "unknown";
}

CovarianceKernel covariance_kernel_from_string(std::string const& name) {
  if (name == "squared_exponential") return CovarianceKernel::squared_exponential;
  if (name == "matern32") return CovarianceKernel::matern32;
  if (name == "matern52") return CovarianceKernel::matern52;
  throw InvalidArgument(Impl::concat("unknown covariance kernel '", name,
                                     "': expected one of squared_exponential, matern32, matern52"));
}

PorosityMap porosity_map_from_string(std::string const& name) {
  if (name == "sigmoid") return PorosityMap::sigmoid;
  if (name == "gaussian_cdf") return PorosityMap::gaussian_cdf;
  throw InvalidArgument(Impl::concat("unknown porosity map '", name, "': expected one of sigmoid, gaussian_cdf"));
}

Factorization factorization_from_string(std::string const& name) {
  if (name == "automatic") return Factorization::automatic;
  if (name == "cholesky") return Factorization::cholesky;
  if (name == "eigen") return Factorization::eigen;
  throw InvalidArgument(
      Impl::concat("unknown covariance factorization '", name, "': expected one of automatic, cholesky, eigen"));
}

}  // namespace psgm::gp

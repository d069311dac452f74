// Covariance assembly and factorisation on the host with Eigen
// (docs/model.md §2, eqs. 1–2 and the truncation rule of §2.2).
#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/gp/CovarianceFactor.hpp>

#include "../core/Dense.hpp"  // the eigensolver and Cholesky: one unit (Dense.hpp)

#include <Eigen/Dense>

#include <cmath>
#include <cstring>
#include <limits>
#include <list>
#include <mutex>

namespace psgm::gp {

namespace {

// Eq. 1: the kernel as a function of the distance r.
double kernel_value(CovarianceKernel kernel, double r, double l, double sigma) {
  double const s2 = sigma * sigma;
  switch (kernel) {
    case CovarianceKernel::squared_exponential: return s2 * std::exp(-(r * r) / (2.0 * l * l));
    case CovarianceKernel::matern32: {
      double const a = std::sqrt(3.0) * r / l;
      return s2 * (1.0 + a) * std::exp(-a);
    }
    case CovarianceKernel::matern52: {
      double const a = std::sqrt(5.0) * r / l;
      return s2 * (1.0 + a + a * a / 3.0) * std::exp(-a);
    }
  }
  return 0.0;
}

void validate_grid(std::vector<double> const& x) {
  require(!x.empty(), "covariance: the grid has no cell centres (expected N >= 1)");
  for (std::size_t i = 0; i < x.size(); ++i)
    require(std::isfinite(x[i]), "covariance: cell centre x[", i, "] = ", x[i], " must be finite");
}

// The truncated Karhunen–Loève factor of §2.2: eigenpairs with
// λ_k > N ε_mach λ_max are kept (the others are below the round-off of the
// eigensolver and carry no information); C = V_r Λ_r^{1/2}, columns in
// descending order of λ.
CovarianceFactor eigen_factor(Eigen::MatrixXd const& K) {
  int const n = static_cast<int>(K.rows());
  Eigen::MatrixXd vectors;
  Eigen::VectorXd lambda;  // ascending
  require<NumericalError>(dense::symmetric_eigen(K, vectors, lambda),
                          "covariance: the symmetric eigensolver did not converge (N = ", n, ")");
  double const lambda_max = lambda(n - 1);
  require<NumericalError>(std::isfinite(lambda_max) && lambda_max > 0,
                          "covariance: largest eigenvalue ", lambda_max, " is not positive and finite");
  double const threshold = n * std::numeric_limits<double>::epsilon() * lambda_max;
  int rank = 0;
  for (int k = n - 1; k >= 0 && lambda(k) > threshold; --k) ++rank;
  double dropped = 0.0;
  for (int k = 0; k < n - rank; ++k) dropped += std::abs(lambda(k));
  CovarianceFactor f;
  f.method = FactorMethod::eigen;
  f.num_cells = n;
  f.rank = rank;
  f.matrix.resize(static_cast<std::size_t>(n) * rank);
  for (int c = 0; c < rank; ++c) {
    int const k = n - 1 - c;
    double const s = std::sqrt(lambda(k));
    for (int i = 0; i < n; ++i) f.matrix[i + static_cast<std::size_t>(c) * n] = vectors(i, k) * s;
  }
  f.dropped_variance = dropped / K.trace();
  f.min_eigenvalue = lambda(0);
  return f;
}

}  // namespace

std::vector<double> assemble_covariance(PorosityModel const& model, double l, std::vector<double> const& x) {
  model.validate();
  validate_correlation_length(l);
  validate_grid(x);
  std::size_t const n = x.size();
  std::vector<double> K(n * n);
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < n; ++i)
      K[i + j * n] = kernel_value(model.kernel, std::abs(x[i] - x[j]), l, model.sigma) + (i == j ? model.nugget : 0.0);
  return K;
}

CovarianceFactor factor_covariance(PorosityModel const& model, double l, std::vector<double> const& x) {
  std::vector<double> const k = assemble_covariance(model, l, x);
  int const n = static_cast<int>(x.size());
  Eigen::Map<Eigen::MatrixXd const> K(k.data(), n, n);
  if (model.factorization != Factorization::eigen) {
    Eigen::MatrixXd C;
    bool ok = dense::cholesky_lower(K, C);
    if (ok) {
      ok = C.allFinite() && (C.diagonal().array() > 0).all();
      if (ok) {
        CovarianceFactor f;
        f.method = FactorMethod::cholesky;
        f.num_cells = n;
        f.rank = n;
        f.matrix.assign(C.data(), C.data() + static_cast<std::size_t>(n) * n);
        return f;
      }
    }
    require<NumericalError>(model.factorization != Factorization::cholesky, "covariance: Cholesky failed for kernel ",
                            to_string(model.kernel), ", l = ", l, ", N = ", n, ", nugget = ", model.nugget,
                            " (matrix not numerically positive definite); use factorization = \"automatic\" or "
                            "\"eigen\", or a nugget > 0");
  }
  return eigen_factor(K);
}

// ---------------------------------------------------------------- cache

struct CovarianceFactorCache::State {
  struct Entry {
    CovarianceKernel kernel;
    double sigma, nugget, l;
    Factorization factorization;
    std::vector<double> x;
    std::shared_ptr<CovarianceFactor const> factor;
  };
  std::size_t capacity;
  std::list<Entry> entries;  // most recently used first
  std::size_t hits = 0, misses = 0;
  std::mutex mutex;
};

CovarianceFactorCache::CovarianceFactorCache(std::size_t capacity) : state_(std::make_unique<State>()) {
  state_->capacity = capacity == 0 ? 1 : capacity;
}
CovarianceFactorCache::~CovarianceFactorCache() = default;

namespace {
bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof(double)) == 0; }
}  // namespace

std::shared_ptr<CovarianceFactor const> CovarianceFactorCache::get(PorosityModel const& model, double l,
                                                                   std::vector<double> const& x) {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    auto& entries = state_->entries;
    for (auto it = entries.begin(); it != entries.end(); ++it) {
      if (it->kernel == model.kernel && same_bits(it->sigma, model.sigma) && same_bits(it->nugget, model.nugget) &&
          it->factorization == model.factorization && same_bits(it->l, l) && it->x == x) {
        entries.splice(entries.begin(), entries, it);
        ++state_->hits;
        return entries.front().factor;
      }
    }
  }
  // Factorise outside the lock: it is the expensive part.
  auto factor = std::make_shared<CovarianceFactor const>(factor_covariance(model, l, x));
  std::lock_guard<std::mutex> lock(state_->mutex);
  ++state_->misses;
  state_->entries.push_front({model.kernel, model.sigma, model.nugget, l, model.factorization, x, factor});
  while (state_->entries.size() > state_->capacity) state_->entries.pop_back();
  return factor;
}

std::size_t CovarianceFactorCache::hits() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->hits;
}
std::size_t CovarianceFactorCache::misses() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->misses;
}

}  // namespace psgm::gp

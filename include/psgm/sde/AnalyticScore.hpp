// Score models with a closed-form score, for testing and benchmarking the
// samplers without a network (docs/sampling.md §5). They implement the
// ScoreModel concept of docs/design.md §6 exactly like the LibTorch and native
// backends, so the samplers cannot tell them apart.
//
// Data: a Gaussian mixture on C x N points (d = C N values per sample),
//
//   p_0(x | c) = sum_k w_k N(x; mu_k + G c, Sigma_k),
//
// whose means may move with the normalised condition c (G is d x 3), so that
// a batch over several conditions is tested too. Under the forward process
// x_t = m x_0 + s z every component stays Gaussian,
//
//   p_t(x | c) = sum_k w_k N(x; m (mu_k + G c), Sigma_k,t),  Sigma_k,t = m^2 Sigma_k + v I,
//
// and with Sigma_k = Q_k diag(lambda_k) Q_k^T (diagonalised once, on the host,
// with Eigen in src/sde) the score is
//
//   score(x, t) = - sum_k r_k(x) Q_k diag(1 / (m^2 lambda_k + v)) Q_k^T (x - m mu_k(c)),
//
// r_k the posterior weights (softmax of the component log-densities). A
// Gaussian is the mixture with one component.
#pragma once

#include <psgm/core/ExecutionSpaces.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/model/ModelDescription.hpp>
#include <psgm/sde/DiffusionProcess.hpp>

#include <Kokkos_Core.hpp>

#include <array>
#include <string>
#include <vector>

namespace psgm {
namespace sde {

/// The data distribution of an analytic score model, on the host.
struct GaussianMixtureSpec {
  int channels = 2;
  int num_points = 0;
  std::vector<double> weights;                   ///< K mixture weights (> 0; normalised on use)
  std::vector<std::vector<double>> means;        ///< K means of length d = channels * num_points (at c = 0)
  std::vector<std::vector<double>> covariances;  ///< K symmetric positive-definite d x d matrices, row-major
  /// d x 3 row-major G: the means move by G c with the normalised condition c.
  /// Empty: the distribution does not depend on the condition.
  std::vector<double> condition_gradient;

  int dimension() const { return channels * num_points; }
  int num_components() const { return static_cast<int>(weights.size()); }
  /// The mean of component k at normalised condition c.
  std::vector<double> mean_at(int k, std::array<double, 3> const& c) const;
  /// Throws InvalidArgument naming the inconsistent field (sizes, weights,
  /// symmetry; definiteness is checked by the eigendecomposition).
  void validate() const;

  /// A single Gaussian N(mean + G c, covariance).
  static GaussianMixtureSpec gaussian(int channels, int num_points, std::vector<double> mean,
                                      std::vector<double> covariance, std::vector<double> condition_gradient = {});
};

/// Eigendecomposition of a symmetric positive-definite matrix (host, Eigen).
struct SymmetricEigen {
  int dimension = 0;
  std::vector<double> values;   ///< ascending, all > 0
  std::vector<double> vectors;  ///< d x d row-major; column j is the eigenvector of values[j]
};
/// Throws InvalidArgument (naming `what`) unless `a` (d x d, row-major) is
/// symmetric (to 1e-12 relative) and positive definite.
SymmetricEigen symmetric_eigen(std::vector<double> const& a, int d, std::string const& what);

/// The exact probability-flow ODE map of a single Gaussian (spec with K = 1)
/// from t_from to t_to, applied to x (d values) in place: in the eigenbasis,
/// each coordinate is mapped by the increasing affine map between the 1-D
/// marginals, y -> m_to mu + (s_to / s_from)(y - m_from mu), s^2 = m^2 lambda + v
/// (the PF-ODE is linear and preserves the marginals). Times are process
/// times (sigma for EDM). Used as the reference of the ODE solvers' order tests.
void gaussian_flow_map(GaussianMixtureSpec const& spec, SymmetricEigen const& eigen, DiffusionProcess const& process,
                       std::array<double, 3> const& normalised_condition, double t_from, double t_to,
                       std::vector<double>& x);

/// The normalisation that leaves fields and conditions as they are (field
/// mean 0, std 1; conditions neither shifted, scaled nor log-transformed).
model::Normalization identity_normalization();

/// Closed-form score of a Gaussian mixture under a forward process: a
/// ScoreModel (docs/design.md §6) on execution space ExecSpace.
template <class ExecSpace, class Scalar = double>
class AnalyticScore {
 public:
  using execution_space = ExecSpace;
  using memory_space = typename ExecSpace::memory_space;
  using scalar_type = Scalar;
  using field_view = Kokkos::View<Scalar***, Kokkos::LayoutRight, memory_space>;  ///< (B, C, N)
  using const_field_view = Kokkos::View<const Scalar***, Kokkos::LayoutRight, memory_space>;
  using time_view = Kokkos::View<Scalar*, memory_space>;  ///< (B)
  using const_time_view = Kokkos::View<const Scalar*, memory_space>;
  using cond_view = Kokkos::View<Scalar**, Kokkos::LayoutRight, memory_space>;  ///< (B, 3), normalised
  using const_cond_view = Kokkos::View<const Scalar**, Kokkos::LayoutRight, memory_space>;

  /// Diagonalises every covariance on the host and copies the mixture to
  /// `space`'s memory. InvalidArgument for an inconsistent spec or SDE.
  AnalyticScore(ExecSpace const& space, GaussianMixtureSpec const& spec, model::SdeConfig const& sde,
                model::Normalization const& normalization = identity_normalization());

  model::ModelDescription const& description() const { return description_; }
  GaussianMixtureSpec const& spec() const { return spec_; }
  SymmetricEigen const& eigen(int component) const { return eigen_.at(component); }
  DiffusionProcess const& process() const { return process_; }

  /// Sizes the per-sample workspaces for batches of up to max_batch samples.
  void reserve(int max_batch);
  int reserved_batch() const { return reserved_; }

  /// grad_x log p_t(x | cond) for normalised x (B, C, N), times t (B; sigma
  /// for EDM) and normalised conditions (B, 3). B <= reserve()d batch.
  void score(ExecSpace const& space, const_field_view x, const_time_view t, const_cond_view cond,
             field_view out) const;
  /// The raw "network" F: the score itself for VP and VE; for EDM the F of
  /// D(x; sigma) = c_skip x + c_out F(c_in x, c_noise), given c_in x and
  /// c_noise(sigma) as the network would be (docs/design.md §6).
  void network(ExecSpace const& space, const_field_view x, const_time_view t, const_cond_view cond,
               field_view out) const;

 private:
  void check_shapes(char const* call, int batch, const_field_view x, const_time_view t, const_cond_view cond,
                    field_view out) const;

  GaussianMixtureSpec spec_;
  std::vector<SymmetricEigen> eigen_;
  DiffusionProcess process_;
  model::ModelDescription description_;
  int reserved_ = 0;
  Kokkos::View<double*, memory_space> log_weights_;                          // (K)
  Kokkos::View<double**, Kokkos::LayoutRight, memory_space> means_;          // (K, d)
  Kokkos::View<double**, Kokkos::LayoutRight, memory_space> eigenvalues_;    // (K, d)
  Kokkos::View<double***, Kokkos::LayoutRight, memory_space> eigenvectors_;  // (K, d, d): (k, i, j) = Q_k[i][j]
  Kokkos::View<double**, Kokkos::LayoutRight, memory_space> gradient_;       // (d, 3)
  // Workspaces, sized by reserve().
  Kokkos::View<double***, Kokkos::LayoutRight, memory_space> projection_;  // (B, K, d)
  Kokkos::View<double**, Kokkos::LayoutRight, memory_space> log_density_;  // (B, K)
  field_view edm_input_;                                                    // (B, C, N), network() only
  time_view edm_sigma_;                                                     // (B), network() only
};

}  // namespace sde
}  // namespace psgm

#define PSGM_SDE_ANALYTIC_SCORE_ETI(Space)                              \
  extern template class psgm::sde::AnalyticScore<Space, double>; \
  extern template class psgm::sde::AnalyticScore<Space, float>;
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_SDE_ANALYTIC_SCORE_ETI)
#undef PSGM_SDE_ANALYTIC_SCORE_ETI

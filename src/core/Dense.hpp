// psgm's host dense linear algebra: Eigen's symmetric eigensolver, Cholesky
// factorisation and products behind a few functions, for the covariance
// factor (src/gp), the analytic scores (src/sde) and the condition-aware
// whitening (src/model). Internal to libpsgm: not installed.
//
// They live in a translation unit of their own (dense.cpp), the one unit
// that instantiates these Eigen kernels. In sanitized builds (PSGM_SANITIZE,
// scripts/test's alt stage) that unit is compiled without the sanitizers,
// as the prebuilt Kokkos and HDF5 are: it holds Eigen's loops and no psgm
// logic, and instrumented Eigen was most of the sanitized suite's run time
// (docs/portability.md §6, ninth round). The callers, psgm's own code, stay
// instrumented. Eigen's template instantiations are shared by name across
// the units of a library, so a kernel instantiated in an instrumented unit
// too would be linked from whichever unit comes first: the callers use
// these functions instead of Eigen's solvers and products.
#pragma once

#include <Eigen/Core>

namespace psgm {
namespace dense {

/// Row-major, as psgm's data matrices are stored.
using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// a = V diag(values) Vᵀ for a symmetric a (its lower triangle is read),
/// eigenvalues in ascending order. False if the solver did not converge.
bool symmetric_eigen(Eigen::MatrixXd const& a, Eigen::MatrixXd& vectors, Eigen::VectorXd& values);

/// The lower Cholesky factor L of a symmetric positive-definite a (a = L Lᵀ;
/// its lower triangle is read). False if a is not numerically positive
/// definite.
bool cholesky_lower(Eigen::MatrixXd const& a, Eigen::MatrixXd& lower);

/// a⁻¹ rhs by Cholesky, for a symmetric positive-definite a. False (solution
/// untouched) if a is not numerically positive definite.
bool cholesky_solve(Eigen::MatrixXd const& a, Eigen::MatrixXd const& rhs, Eigen::MatrixXd& solution);

/// qᵀ r.
Eigen::MatrixXd transpose_times(Eigen::MatrixXd const& q, RowMatrix const& r);

/// q diag(d) b.
Eigen::MatrixXd scaled_product(Eigen::MatrixXd const& q, Eigen::VectorXd const& d, Eigen::MatrixXd const& b);

/// a x.
Eigen::VectorXd times(Eigen::MatrixXd const& a, Eigen::VectorXd const& x);

/// sum += B Bᵀ, B the first n columns of block.
void add_gram(Eigen::MatrixXd& sum, Eigen::MatrixXd const& block, Eigen::Index n);

}  // namespace dense
}  // namespace psgm

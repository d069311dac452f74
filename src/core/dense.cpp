// Eigen's kernels behind src/core/Dense.hpp. No psgm logic here: sanitized
// builds compile this unit uninstrumented (src/CMakeLists.txt).
#include "Dense.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>

namespace psgm {
namespace dense {

bool symmetric_eigen(Eigen::MatrixXd const& a, Eigen::MatrixXd& vectors, Eigen::VectorXd& values) {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(a);
  if (eig.info() != Eigen::Success) return false;
  vectors = eig.eigenvectors();
  values = eig.eigenvalues();
  return true;
}

bool cholesky_lower(Eigen::MatrixXd const& a, Eigen::MatrixXd& lower) {
  Eigen::LLT<Eigen::MatrixXd> llt(a);
  if (llt.info() != Eigen::Success) return false;
  lower = llt.matrixL();
  return true;
}

bool cholesky_solve(Eigen::MatrixXd const& a, Eigen::MatrixXd const& rhs, Eigen::MatrixXd& solution) {
  Eigen::LLT<Eigen::MatrixXd> llt(a);
  if (llt.info() != Eigen::Success) return false;
  solution = llt.solve(rhs);
  return true;
}

Eigen::MatrixXd transpose_times(Eigen::MatrixXd const& q, RowMatrix const& r) { return q.transpose() * r; }

Eigen::MatrixXd scaled_product(Eigen::MatrixXd const& q, Eigen::VectorXd const& d, Eigen::MatrixXd const& b) {
  return q * (d.asDiagonal() * b);
}

Eigen::VectorXd times(Eigen::MatrixXd const& a, Eigen::VectorXd const& x) { return a * x; }

void add_gram(Eigen::MatrixXd& sum, Eigen::MatrixXd const& block, Eigen::Index n) {
  sum.noalias() += block.leftCols(n) * block.leftCols(n).transpose();
}

}  // namespace dense
}  // namespace psgm

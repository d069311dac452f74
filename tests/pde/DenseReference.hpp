// An independent host implementation of the discrete equations of
// docs/model.md with dense Eigen solves: the matrices are assembled row by
// row as written in the spec (no Thomas algorithm, no factor reuse), and the
// Butler–Volmer Newton uses a finite-difference Jacobian.
#pragma once

#include <psgm/pde/ElectrodeParameters.hpp>

#include <Eigen/Dense>

#include <cmath>
#include <vector>

namespace psgm_test {

struct DenseResult {
  Eigen::VectorXd c, phi;  // phi shifted to phi_0 = 0
  int newton_iterations = 0;
};

class DenseReference {
 public:
  DenseReference(psgm::pde::ElectrodeParameters const& p, std::vector<double> const& eps)
      : p_(p), n_(p.N), eps_(Eigen::Map<Eigen::VectorXd const>(eps.data(), p.N)) {
    dx_ = p.L / p.N;
    auto const x = p.cell_centres();
    phis_.resize(n_);
    kappa_.resize(n_);
    dif_.resize(n_);
    as_.resize(n_);
    for (int i = 0; i < n_; ++i) {
      phis_(i) = -p.G * x[i];
      kappa_(i) = p.kappa0 * std::pow(eps_(i), p.bruggeman);
      dif_(i) = p.D0 * std::pow(eps_(i), p.bruggeman);
      as_(i) = p.a0 * (1 - eps_(i));
    }
    kf_.resize(n_ + 1);  // kf_(i) = κ_{i-1/2}, zero at both ends
    df_.resize(n_ + 1);
    kf_.setZero();
    df_.setZero();
    for (int i = 1; i < n_; ++i) {
      kf_(i) = 2 * kappa_(i - 1) * kappa_(i) / (kappa_(i - 1) + kappa_(i));
      df_(i) = 2 * dif_(i - 1) * dif_(i) / (dif_(i - 1) + dif_(i));
    }
  }

  /// Eq. 7 (unshifted).
  Eigen::VectorXd potential(double U0, double F) const {
    Eigen::MatrixXd A = Eigen::MatrixXd::Zero(n_, n_);
    Eigen::VectorXd rhs(n_);
    double const kdx2 = p_.k_rn * dx_ * dx_;
    for (int i = 0; i < n_; ++i) {
      A(i, i) = kf_(i) + kf_(i + 1) + as_(i) * kdx2;
      if (i > 0) A(i, i - 1) = -kf_(i);
      if (i < n_ - 1) A(i, i + 1) = -kf_(i + 1);
      rhs(i) = as_(i) * kdx2 * (phis_(i) - U0) + (i == n_ - 1 ? dx_ * F : 0.0);
    }
    return A.partialPivLu().solve(rhs);
  }

  Eigen::VectorXd source(Eigen::VectorXd const& phi, double U0) const {
    Eigen::VectorXd S(n_);
    for (int i = 0; i < n_; ++i) S(i) = (1 - p_.t_plus) / p_.faraday * as_(i) * p_.k_rn * (phis_(i) - phi(i) - U0);
    return S;
  }

  /// The reference case (eqs. 7–12), or the steady linear case (eq. 13).
  DenseResult linear(double U0, double F) const {
    DenseResult r;
    Eigen::VectorXd phi = potential(U0, F);
    Eigen::VectorXd const shifted = phi.array() - phi(0);
    double const dx2 = dx_ * dx_;
    if (p_.mode == psgm::pde::ConcentrationMode::transient) {
      Eigen::VectorXd const S = source(shifted, U0);
      Eigen::MatrixXd A = Eigen::MatrixXd::Zero(n_, n_);
      for (int i = 0; i < n_ - 1; ++i) {
        A(i, i) = eps_(i) / p_.dt + (df_(i) + df_(i + 1)) / dx2;
        if (i > 0) A(i, i - 1) = -df_(i) / dx2;
        A(i, i + 1) = -df_(i + 1) / dx2;
      }
      A(n_ - 1, n_ - 1) = 1;
      Eigen::PartialPivLU<Eigen::MatrixXd> lu(A);
      Eigen::VectorXd c = Eigen::VectorXd::Constant(n_, p_.c0);
      for (std::int64_t s = 0; s < static_cast<std::int64_t>(p_.T / p_.dt); ++s) {
        Eigen::VectorXd rhs = eps_.cwiseProduct(c) / p_.dt + S;
        rhs(n_ - 1) = p_.c_right;
        c = lu.solve(rhs);
      }
      r.c = c;
    } else {
      Eigen::VectorXd const S = source(phi, U0);  // extensions: unshifted potential
      Eigen::MatrixXd A = Eigen::MatrixXd::Zero(n_, n_);
      Eigen::VectorXd rhs = S;
      for (int i = 0; i < n_ - 1; ++i) {
        A(i, i) = (df_(i) + df_(i + 1)) / dx2;
        if (i > 0) A(i, i - 1) = -df_(i) / dx2;
        A(i, i + 1) = -df_(i + 1) / dx2;
      }
      A(n_ - 1, n_ - 1) = 1;
      rhs(n_ - 1) = p_.c_right;
      r.c = A.partialPivLu().solve(rhs);
    }
    r.phi = shifted;
    return r;
  }

  /// Residual of eq. 15 for the stacked unknowns u = (c_0..c_{N-1}, φ_0..φ_{N-1}).
  Eigen::VectorXd bv_residual(Eigen::VectorXd const& u, Eigen::VectorXd const& c_prev, double w, double U0,
                              double F) const {
    Eigen::VectorXd R(2 * n_);
    double const dx2 = dx_ * dx_;
    double const f = p_.faraday / (p_.gas_constant * p_.temperature);
    for (int i = 0; i < n_; ++i) {
      double const c = u(i), phi = u(n_ + i);
      double const eta = phis_(i) - phi - U0;
      double const j = p_.effective_i0() * std::pow(c / p_.effective_c_ref(), p_.gamma) *
                       (std::exp(p_.alpha_a * f * eta) - std::exp(-p_.alpha_c * f * eta));
      double const cw = i > 0 ? u(i - 1) : 0.0, ce = i < n_ - 1 ? u(i + 1) : 0.0;
      double const pw = i > 0 ? u(n_ + i - 1) : 0.0, pe = i < n_ - 1 ? u(n_ + i + 1) : 0.0;
      R(i) = i < n_ - 1 ? w * eps_(i) * (c - c_prev(i)) + (df_(i) * (c - cw) + df_(i + 1) * (c - ce)) / dx2 -
                              (1 - p_.t_plus) / p_.faraday * as_(i) * j
                        : c - p_.c_right;
      R(n_ + i) = kf_(i) * (phi - pw) + kf_(i + 1) * (phi - pe) - as_(i) * dx2 * j - (i == n_ - 1 ? dx_ * F : 0.0);
    }
    return R;
  }

  /// Newton with a central finite-difference Jacobian, to |update| < 1e-14 (relative).
  Eigen::VectorXd bv_newton(Eigen::VectorXd u, Eigen::VectorXd const& c_prev, double w, double U0, double F,
                            int& iterations) const {
    for (iterations = 0; iterations < 100; ++iterations) {
      Eigen::VectorXd const R = bv_residual(u, c_prev, w, U0, F);
      Eigen::MatrixXd J(2 * n_, 2 * n_);
      for (int k = 0; k < 2 * n_; ++k) {
        double const h = 1e-6 * (k < n_ ? p_.c0 : 0.0257);
        Eigen::VectorXd up = u, um = u;
        up(k) += h;
        um(k) -= h;
        J.col(k) = (bv_residual(up, c_prev, w, U0, F) - bv_residual(um, c_prev, w, U0, F)) / (2 * h);
      }
      Eigen::VectorXd du = J.fullPivLu().solve(-R);
      // Backtrack until the residual is finite and c stays positive.
      for (int ls = 0; ls < 60; ++ls) {
        Eigen::VectorXd const t = u + du;
        if (t.head(n_).minCoeff() > 0 && bv_residual(t, c_prev, w, U0, F).allFinite() &&
            bv_residual(t, c_prev, w, U0, F).norm() < 2 * R.norm() + 1e-300)
          break;
        du *= 0.5;
      }
      u += du;
      double const rel = std::max(du.head(n_).cwiseAbs().maxCoeff() / p_.c0,
                                  du.tail(n_).cwiseAbs().maxCoeff() / 0.0257);
      if (rel < 1e-14) break;
    }
    return u;
  }

  DenseResult butler_volmer(double U0, double F) const {
    Eigen::VectorXd u(2 * n_);
    u.head(n_).setConstant(p_.c0);
    u(n_ - 1) = p_.c_right;
    u.tail(n_) = phis_.array() - U0;
    DenseResult r;
    if (p_.mode == psgm::pde::ConcentrationMode::steady) {
      u = bv_newton(u, u.head(n_), 0.0, U0, F, r.newton_iterations);
    } else {
      for (std::int64_t s = 0; s < static_cast<std::int64_t>(p_.T / p_.dt); ++s) {
        Eigen::VectorXd const c_prev = u.head(n_);
        u = bv_newton(u, c_prev, 1 / p_.dt, U0, F, r.newton_iterations);
      }
    }
    r.c = u.head(n_);
    r.phi = u.tail(n_).array() - u(n_);
    return r;
  }

 private:
  psgm::pde::ElectrodeParameters p_;
  int n_;
  double dx_;
  Eigen::VectorXd eps_, phis_, kappa_, dif_, as_, kf_, df_;
};

/// max |a - b| / max |b|
inline double relative_error(Eigen::VectorXd const& a, Eigen::VectorXd const& b) {
  return (a - b).cwiseAbs().maxCoeff() / b.cwiseAbs().maxCoeff();
}

}  // namespace psgm_test

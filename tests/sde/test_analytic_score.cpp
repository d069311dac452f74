// The analytic score models against independent references: a dense Eigen
// solve for the Gaussian score, central differences of an Eigen-computed log
// density for the mixture, the EDM preconditioning identity for network(),
// and the exact flow map against a fine numerical integration of its ODE.
#include "SdeTestProblems.hpp"

#include <psgm/core/Error.hpp>
#include <psgm/sde/AnalyticScore.hpp>

#include <psgm_test.hpp>

#include <Eigen/Dense>

#include <random>

namespace {

using psgm::model::SdeConfig;
using psgm::model::SdeType;
using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

using psgm_test::sde_of;

/// log p_t(x) of a Gaussian mixture, with Eigen (LDL^T; LLT does not compile
/// under nvcc's -diag-error 20011), up to a constant.
double log_density(psgm::sde::GaussianMixtureSpec const& spec, psgm::sde::DiffusionProcess const& process, double t,
                   std::array<double, 3> const& c, Eigen::VectorXd const& x) {
  int const d = spec.dimension();
  double const m = process.mean(t), v = process.variance(t);
  double total = 0;
  std::vector<double> logs;
  for (int k = 0; k < spec.num_components(); ++k) {
    Matrix cov = Eigen::Map<Matrix const>(spec.covariances[k].data(), d, d);
    cov = m * m * cov + v * Matrix::Identity(d, d);
    Eigen::LDLT<Matrix> ldlt(cov);
    auto const mu = spec.mean_at(k, c);
    Eigen::VectorXd r = x - m * Eigen::Map<Eigen::VectorXd const>(mu.data(), d);
    double const quad = r.dot(ldlt.solve(r));
    double const logdet = ldlt.vectorD().array().log().sum();
    logs.push_back(std::log(spec.weights[k]) - 0.5 * quad - 0.5 * logdet);
  }
  double const top = *std::max_element(logs.begin(), logs.end());
  for (double l : logs) total += std::exp(l - top);
  return top + std::log(total);
}

template <class ExecSpace>
Kokkos::View<double***, Kokkos::LayoutRight, typename ExecSpace::memory_space> score_of(
    psgm::sde::AnalyticScore<ExecSpace, double>& model, std::vector<Eigen::VectorXd> const& xs,
    std::vector<double> const& ts, std::array<double, 3> const& c, bool network = false) {
  ExecSpace space;
  int const b = static_cast<int>(xs.size());
  model.reserve(b);
  typename psgm::sde::AnalyticScore<ExecSpace, double>::field_view x("psgm::test::x", b, 2, psgm_test::num_points),
      out("psgm::test::out", b, 2, psgm_test::num_points);
  typename psgm::sde::AnalyticScore<ExecSpace, double>::time_view t("psgm::test::t", b);
  typename psgm::sde::AnalyticScore<ExecSpace, double>::cond_view cv("psgm::test::cond", b, 3);
  auto hx = Kokkos::create_mirror_view(x);
  auto ht = Kokkos::create_mirror_view(t);
  auto hc = Kokkos::create_mirror_view(cv);
  for (int i = 0; i < b; ++i) {
    for (int j = 0; j < psgm_test::dim; ++j) hx(i, j / psgm_test::num_points, j % psgm_test::num_points) = xs[i](j);
    ht(i) = ts[i];
    for (int j = 0; j < 3; ++j) hc(i, j) = c[j];
  }
  Kokkos::deep_copy(x, hx);
  Kokkos::deep_copy(t, ht);
  Kokkos::deep_copy(cv, hc);
  if (network)
    model.network(space, x, t, cv, out);
  else
    model.score(space, x, t, cv, out);
  return out;
}

}  // namespace

PSGM_BACKEND_TEST_CASE("Gaussian score equals -(m^2 Sigma + v I)^-1 (x - m mu(c)) (dense solve)", "[sde][analytic]") {
  using ExecSpace = TestType;
  ExecSpace space;
  psgm_test::GaussianProblem const p;
  auto const spec = p.spec();
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal;
  std::array<double, 3> const c{0.25, -0.5, 0.75};
  for (auto type : {SdeType::vp, SdeType::ve, SdeType::edm}) {
    psgm::sde::AnalyticScore<ExecSpace, double> model(space, spec, sde_of(type));
    psgm::sde::DiffusionProcess const process(sde_of(type));
    std::vector<Eigen::VectorXd> xs;
    std::vector<double> ts;
    for (double u : {0.0, 0.01, 0.2, 0.5, 0.9, 1.0}) {
      ts.push_back(process.t_lo() + u * (process.t_hi() - process.t_lo()));
      Eigen::VectorXd x(psgm_test::dim);
      for (int j = 0; j < psgm_test::dim; ++j) x(j) = normal(rng) * (1 + process.stddev(ts.back()));
      xs.push_back(x);
    }
    auto const h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, score_of(model, xs, ts, c));
    Matrix const sigma = Eigen::Map<Matrix const>(spec.covariances[0].data(), psgm_test::dim, psgm_test::dim);
    auto const mu = p.mean_at(c);
    for (std::size_t i = 0; i < xs.size(); ++i) {
      double const m = process.mean(ts[i]), v = process.variance(ts[i]);
      Matrix const cov = m * m * sigma + v * Matrix::Identity(psgm_test::dim, psgm_test::dim);
      Eigen::VectorXd const r = xs[i] - m * Eigen::Map<Eigen::VectorXd const>(mu.data(), psgm_test::dim);
      Eigen::VectorXd const s = -cov.ldlt().solve(r);
      for (int j = 0; j < psgm_test::dim; ++j)
        CHECK(h(i, j / psgm_test::num_points, j % psgm_test::num_points) ==
              Approx(s(j)).epsilon(1e-10).margin(1e-12 * s.cwiseAbs().maxCoeff()));
    }
  }
}

PSGM_BACKEND_TEST_CASE("mixture score equals the gradient of the log density (central differences)",
                       "[sde][analytic]") {
  using ExecSpace = TestType;
  ExecSpace space;
  psgm_test::GaussianProblem const p;
  psgm::sde::GaussianMixtureSpec spec = p.spec();
  // Three components with different covariances (a rotated, rescaled copy).
  spec.weights = {0.2, 0.5, 0.3};
  spec.means = {p.mean, p.mean, p.mean};
  for (int i = 0; i < psgm_test::dim; ++i) {
    spec.means[1][i] += 1.5 * std::sin(i + 1.0);
    spec.means[2][i] -= 1.0;
  }
  Matrix const base = Eigen::Map<Matrix const>(spec.covariances[0].data(), psgm_test::dim, psgm_test::dim);
  Matrix rot = Matrix::Identity(psgm_test::dim, psgm_test::dim);
  rot(0, 0) = rot(3, 3) = std::cos(0.7);
  rot(0, 3) = -std::sin(0.7);
  rot(3, 0) = std::sin(0.7);
  Matrix c1 = 0.5 * rot * base * rot.transpose();
  c1 = 0.5 * (c1 + c1.transpose()).eval();
  Matrix c2 = base + 0.3 * Matrix::Identity(psgm_test::dim, psgm_test::dim);
  spec.covariances = {spec.covariances[0], std::vector<double>(c1.data(), c1.data() + c1.size()),
                      std::vector<double>(c2.data(), c2.data() + c2.size())};
  std::array<double, 3> const c{0.1, 0.2, 0.3};
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal;
  for (auto type : {SdeType::vp, SdeType::edm}) {
    psgm::sde::AnalyticScore<ExecSpace, double> model(space, spec, sde_of(type));
    psgm::sde::DiffusionProcess const process(sde_of(type));
    std::vector<Eigen::VectorXd> xs;
    std::vector<double> ts;
    for (double u : {0.0, 0.001, 0.05, 0.3}) {
      ts.push_back(process.t_lo() + u * (process.t_hi() - process.t_lo()));
      Eigen::VectorXd x(psgm_test::dim);
      for (int j = 0; j < psgm_test::dim; ++j) x(j) = p.mean[j] + normal(rng) * (1 + process.stddev(ts.back()));
      xs.push_back(x);
    }
    auto const h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, score_of(model, xs, ts, c));
    for (std::size_t i = 0; i < xs.size(); ++i) {
      double const step = 1e-5 * (1 + process.stddev(ts[i]));
      for (int j = 0; j < psgm_test::dim; ++j) {
        Eigen::VectorXd xp = xs[i], xm = xs[i];
        xp(j) += step;
        xm(j) -= step;
        double const fd =
            (log_density(spec, process, ts[i], c, xp) - log_density(spec, process, ts[i], c, xm)) / (2 * step);
        CHECK(h(i, j / psgm_test::num_points, j % psgm_test::num_points) == Approx(fd).epsilon(1e-6).margin(1e-6));
      }
    }
  }
}

PSGM_BACKEND_TEST_CASE("EDM network(): c_skip x + c_out F(c_in x, c_noise) = x + sigma^2 score", "[sde][analytic]") {
  using ExecSpace = TestType;
  ExecSpace space;
  psgm_test::GaussianProblem const p;
  psgm::sde::AnalyticScore<ExecSpace, double> model(space, p.spec(), sde_of(SdeType::edm));
  auto const edm = psgm::model::EdmConfig{};
  std::array<double, 3> const c{0.5, 0.5, 0.5};
  std::vector<Eigen::VectorXd> xs, scaled;
  std::vector<double> sigmas, noise;
  for (double s : {0.002, 0.1, 1.0, 10.0, 80.0}) {
    Eigen::VectorXd x(psgm_test::dim);
    for (int j = 0; j < psgm_test::dim; ++j) x(j) = std::cos(j + s) * (1 + s);
    xs.push_back(x);
    scaled.push_back(edm.c_in(s) * x);
    sigmas.push_back(s);
    noise.push_back(edm.c_noise(s));
  }
  auto const score = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, score_of(model, xs, sigmas, c));
  auto const net = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, score_of(model, scaled, noise, c, true));
  for (std::size_t i = 0; i < xs.size(); ++i) {
    double const s = sigmas[i];
    for (int j = 0; j < psgm_test::dim; ++j) {
      int const ch = j / psgm_test::num_points, k = j % psgm_test::num_points;
      double const lhs = edm.c_skip(s) * xs[i](j) + edm.c_out(s) * net(i, ch, k);
      CHECK(lhs == Approx(xs[i](j) + s * s * score(i, ch, k)).epsilon(1e-9).margin(1e-9));
    }
  }
}

TEST_CASE("the exact Gaussian flow map solves the probability-flow ODE", "[sde][analytic]") {
  // RK4 with 20000 steps on dx/dt = f x - 1/2 g^2 score(x), score from a dense solve.
  psgm_test::GaussianProblem const p;
  auto const spec = p.spec();
  std::array<double, 3> const c{0.3, 0.1, 0.9};
  Matrix const sigma = Eigen::Map<Matrix const>(spec.covariances[0].data(), psgm_test::dim, psgm_test::dim);
  auto const mu = p.mean_at(c);
  Eigen::Map<Eigen::VectorXd const> mu_v(mu.data(), psgm_test::dim);
  for (auto type : {SdeType::vp, SdeType::ve, SdeType::edm}) {
    psgm::sde::DiffusionProcess const process(sde_of(type));
    auto velocity = [&](double t, Eigen::VectorXd const& x) -> Eigen::VectorXd {
      double const m = process.mean(t), v = process.variance(t);
      Matrix const cov = m * m * sigma + v * Matrix::Identity(psgm_test::dim, psgm_test::dim);
      Eigen::VectorXd const s = -cov.ldlt().solve(x - m * mu_v);
      return process.drift(t) * x - 0.5 * process.diffusion2(t) * s;
    };
    double const t0 = process.t_hi(), t1 = process.t_lo() + 0.01 * (process.t_hi() - process.t_lo());
    Eigen::VectorXd x(psgm_test::dim);
    for (int j = 0; j < psgm_test::dim; ++j) x(j) = std::sin(3.0 * j) * process.prior_stddev();
    std::vector<double> exact(x.data(), x.data() + psgm_test::dim);
    psgm::sde::gaussian_flow_map(spec, p.eigen(), process, c, t0, t1, exact);
    int const steps = 20000;
    double const h = (t1 - t0) / steps;
    double t = t0;
    for (int n = 0; n < steps; ++n, t += h) {
      Eigen::VectorXd const k1 = velocity(t, x), k2 = velocity(t + h / 2, x + h / 2 * k1),
                            k3 = velocity(t + h / 2, x + h / 2 * k2), k4 = velocity(t + h, x + h * k3);
      x += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
    }
    for (int j = 0; j < psgm_test::dim; ++j) CHECK(x(j) == Approx(exact[j]).epsilon(1e-7).margin(1e-8));
  }
}

TEST_CASE("analytic models refuse inconsistent specifications", "[sde][analytic][errors]") {
  psgm_test::GaussianProblem const p;
  auto expect = [](auto&& f, std::string const& part) {
    try {
      f();
      FAIL("no InvalidArgument; expected a message with " << part);
    } catch (psgm::InvalidArgument const& e) {
      INFO(e.what());
      CHECK(std::string(e.what()).find(part) != std::string::npos);
    }
  };
  auto cov = p.covariance();
  cov[1] += 1e-3;  // asymmetric
  expect([&] { psgm::sde::symmetric_eigen(cov, psgm_test::dim, "covariance"); }, "is not symmetric");
  auto indefinite = p.covariance();
  for (int i = 0; i < psgm_test::dim; ++i) indefinite[i * psgm_test::dim + i] -= 0.5;
  expect([&] { psgm::sde::symmetric_eigen(indefinite, psgm_test::dim, "covariance"); }, "is not positive definite");
  auto spec = p.spec();
  spec.weights = {0.5, 0.5};
  expect([&] { spec.validate(); }, "2 weights but 1 means");
  spec = p.spec();
  spec.means[0].pop_back();
  expect([&] { spec.validate(); }, "mean 0 has 7 values, expected d = 8");
  spec = p.spec();
  spec.weights = {-1};
  expect([&] { spec.validate(); }, "weight 0 = -1");
  Kokkos::DefaultHostExecutionSpace space;
  spec = p.spec();
  spec.covariances[0] = indefinite;
  expect([&] { psgm::sde::AnalyticScore<Kokkos::DefaultHostExecutionSpace, double>(space, spec, SdeConfig{}); },
         "covariance of component 0");
}

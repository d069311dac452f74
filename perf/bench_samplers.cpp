// Benchmark of the samplers (docs/sampling.md §9, docs/performance.md "Samplers").
//
//   bench_samplers [--csv error_vs_nfe.csv] [--samples 16384] [--quick]
//                  [--accuracy-only | --throughput-only] [--batches 64,256]
//
// 1. Accuracy: error versus network evaluations (NFE) for every sampler on an
//    analytic Gaussian N(mu, Sigma) on 2 x 8 points (d = 16, eigenvalues from
//    2 down to 2e-3 on the DCT modes, a smooth mean), double precision. Two
//    exact 2-Wasserstein distances of the law the sampler produces:
//      - to the target N(mu, Sigma): what a user gets. It cannot fall below
//        the sampler family's limit, the exact flow (ODE) or the exact reverse
//        SDE started from the N(0, s^2 I) prior, which misses the law at
//        t_start by m(t_start) mu (spec sgm.md §2);
//      - to that exact limit: the discretisation error alone.
//    Every law here is a Gaussian diagonal in the eigenbasis of Sigma (the
//    samplers act on each eigen-direction separately, with isotropic noise):
//    * fixed-step ODE solvers (ode_heun, dpm_solver_2m, edm_heun without
//      churn) are affine maps: pushing 0 and the d unit vectors through the
//      solver gives x -> A x + b exactly and the law N(b, s^2 A A^T);
//    * Euler-Maruyama and the stochastic Heun are affine maps with additive
//      Gaussian noise: per-direction moments from a scalar recursion of the
//      update (exact; the tests check the code against the same recursion),
//      confirmed by the samplers' own samples;
//    * stochastic samplers, measured: W2 from the n samples' mean and variance
//      per eigen-direction, with the O(1/n) bias of the estimator removed; its
//      Monte-Carlo floor is printed (the same estimator on n exact draws);
//    * ode_dopri5 chooses its steps per sample (nearly affine): to the target
//      with the exact flow of the same draws as a control variate; to its limit
//      the RMS distance between the two images of the same draws (an upper
//      bound on W2).
//    Written to the CSV that python/psgm/plot_error_vs_nfe.py plots.
// 2. Throughput: samples per second of the reference network (random weights)
//    with each score backend, per NFE and for each sampler's usual NFE, and
//    the share of the time spent outside the network (the sampler's own
//    kernels), measured in the same run.
#include <psgm/core/Runtime.hpp>
#include <psgm/sde/AnalyticScore.hpp>
#include <psgm/sde/Sampler.hpp>
#include <psgm/sde/impl/Sampler_Impl.hpp>
#include <psgm/score/NativeScoreModel.hpp>
#if PSGM_HAS_TORCH
#include <psgm/torch/TorchScoreModel.hpp>
#endif

#include <Eigen/Dense>
#include <Kokkos_Core.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <tuple>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Space = Kokkos::DefaultHostExecutionSpace;
using psgm::sde::SamplerConfig;
using psgm::sde::SamplerKind;
using psgm::model::SdeConfig;
using psgm::model::SdeType;
using Model = psgm::sde::AnalyticScore<Space, double>;
using GaussianSampler = psgm::sde::Sampler<Model>;

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

constexpr int channels = 2, num_points = 8, dim = channels * num_points;
std::array<double, 3> const cond{0.5, 0.5, 0.5};

/// The benchmark Gaussian: DCT modes with eigenvalues decaying from 2 to 2e-3
/// (smooth fields: most variance in the first modes), a smooth mean.
struct Problem {
  std::vector<double> q, lambda, mean;
  Problem() {
    double const pi = 3.14159265358979323846;
    q.resize(dim * dim);
    for (int i = 0; i < dim; ++i)
      for (int j = 0; j < dim; ++j)
        q[i * dim + j] = (j == 0 ? std::sqrt(1.0 / dim) : std::sqrt(2.0 / dim)) * std::cos(pi * (i + 0.5) * j / dim);
    for (int j = 0; j < dim; ++j) lambda.push_back(2.0 * std::pow(10.0, -3.0 * j / (dim - 1)));
    for (int i = 0; i < dim; ++i) mean.push_back(0.4 * std::sin(2 * pi * (i + 0.5) / dim) + 0.2);
  }
  psgm::sde::GaussianMixtureSpec spec() const {
    std::vector<double> cov(dim * dim, 0.0);
    for (int i = 0; i < dim; ++i)
      for (int j = 0; j <= i; ++j) {
        double s = 0;
        for (int k = 0; k < dim; ++k) s += q[i * dim + k] * lambda[k] * q[j * dim + k];
        cov[i * dim + j] = cov[j * dim + i] = s;
      }
    return psgm::sde::GaussianMixtureSpec::gaussian(channels, num_points, mean, cov);
  }
  psgm::sde::SymmetricEigen eigen() const { return {dim, lambda, q}; }
  std::vector<double> to_eigen(double const* x) const {
    std::vector<double> y(dim, 0.0);
    for (int i = 0; i < dim; ++i)
      for (int j = 0; j < dim; ++j) y[j] += q[i * dim + j] * x[i];
    return y;
  }
};

/// W2 between N(m1, S1) and N(m2, S2) (general formula, Eigen).
double w2_gaussians(Eigen::VectorXd const& m1, Eigen::MatrixXd const& s1, Eigen::VectorXd const& m2,
                    Eigen::MatrixXd const& s2) {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> e2(s2);
  Eigen::MatrixXd const r2 = e2.eigenvectors() * e2.eigenvalues().cwiseMax(0).cwiseSqrt().asDiagonal() *
                             e2.eigenvectors().transpose();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> e(r2 * s1 * r2);
  double const cross = e.eigenvalues().cwiseMax(0).cwiseSqrt().sum();
  double const w = (m1 - m2).squaredNorm() + s1.trace() + s2.trace() - 2 * cross;
  return std::sqrt(std::max(w, 0.0));
}

/// A Gaussian whose covariance is diagonal in the target's eigenbasis: mean
/// and variance per eigen-direction. Every law in this benchmark is one (the
/// samplers act on each eigen-direction separately, with isotropic noise).
struct Law {
  std::vector<double> mean, var;
};
/// W2 between two such laws (no cancellation: sum of per-direction terms).
double w2(Law const& a, Law const& b) {
  double w = 0;
  for (int j = 0; j < dim; ++j) {
    double const dm = a.mean[j] - b.mean[j];
    double const ds = std::sqrt(std::max(a.var[j], 0.0)) - std::sqrt(std::max(b.var[j], 0.0));
    w += dm * dm + ds * ds;
  }
  return std::sqrt(w);
}

struct Row {
  std::string process, sampler, setting, method;
  double nfe;
  double w2, w2_error;              ///< to the target N(mu, Sigma)
  double w2_limit, w2_limit_error;  ///< to the sampler's own exact limit (its discretisation error); NaN: none
};

double const nan_value = std::numeric_limits<double>::quiet_NaN();

/// Everything needed to run one sampler configuration on the analytic model.
struct Bench {
  Space space;
  Problem p;
  SdeConfig sde;
  Model model;
  psgm::sde::DiffusionProcess process;
  int samples;
  Law target;
  Bench(SdeType type, int n) : sde(make_sde(type)), model(space, p.spec(), sde, psgm::sde::identity_normalization()),
                               process(sde), samples(n) {
    target.mean = p.to_eigen(p.mean.data());
    target.var = p.lambda;
  }
  static SdeConfig make_sde(SdeType type) {
    SdeConfig s;
    s.type = type;
    return s;
  }

  GaussianSampler::cond_view conditions(int b) {
    GaussianSampler::cond_view c("psgm::bench::cond", b, 3);
    auto h = Kokkos::create_mirror_view(c);
    for (int i = 0; i < b; ++i)
      for (int j = 0; j < 3; ++j) h(i, j) = cond[j];
    Kokkos::deep_copy(c, h);
    return c;
  }

  // ---------------------------------------------------------------- exact limits
  /// The exact probability-flow map applied to the prior: the limit of every
  /// ODE solver (per direction the affine map between the marginals).
  Law ode_limit(SamplerConfig const& config) const {
    double const t0 = config.start_time(process), t1 = config.end_time(process);
    double const m0 = process.mean(t0), v0 = process.variance(t0), m1 = process.mean(t1), v1 = process.variance(t1);
    double const s = process.prior_stddev();
    Law l{std::vector<double>(dim), std::vector<double>(dim)};
    for (int j = 0; j < dim; ++j) {
      double const r = std::sqrt((m1 * m1 * p.lambda[j] + v1) / (m0 * m0 * p.lambda[j] + v0));
      l.mean[j] = m1 * target.mean[j] - r * m0 * target.mean[j];
      l.var[j] = r * r * s * s;
    }
    return l;
  }
  /// EDM Heun's limit: the exact flow to sigma_min, then its last (Euler)
  /// step to sigma = 0, which is exactly the denoiser (Tweedie):
  /// y -> mu + m lambda / (m^2 lambda + v) (y - m mu).
  Law edm_limit(SamplerConfig const& config) const {
    Law l = ode_limit(config);
    double const t1 = config.end_time(process), m = process.mean(t1), v = process.variance(t1);
    for (int j = 0; j < dim; ++j) {
      double const k = m * p.lambda[j] / (m * m * p.lambda[j] + v);
      l.mean[j] = target.mean[j] + k * (l.mean[j] - m * target.mean[j]);
      l.var[j] *= k * k;
    }
    return l;
  }
  /// The exact reverse SDE started from the prior: per direction the moment
  /// equations dM/dt = -(a M + c), dV/dt = -(2 a V + g^2) with
  /// a = -f - g^2 / s_t^2, c = g^2 m mu / s_t^2 (the limit of (2.1)), by RK4
  /// with 20000 steps on the quadratic grid.
  Law sde_limit(SamplerConfig const& config) const {
    auto const grid = psgm::sde::make_time_grid(process, psgm::sde::TimeGrid::quadratic, 20000,
                                                config.start_time(process), config.end_time(process));
    Law l{std::vector<double>(dim, 0.0), std::vector<double>(dim, process.prior_stddev() * process.prior_stddev())};
    for (int j = 0; j < dim; ++j) {
      auto rhs = [&](double t, double mv, double vv, double& dm, double& dv) {
        double const m = process.mean(t), s2 = m * m * p.lambda[j] + process.variance(t), g2 = process.diffusion2(t);
        double const a = -process.drift(t) - g2 / s2, c = g2 * m * target.mean[j] / s2;
        dm = -(a * mv + c);
        dv = -(2 * a * vv + g2);
      };
      double mv = l.mean[j], vv = l.var[j];
      for (std::size_t k = 0; k + 1 < grid.size(); ++k) {
        double const t = grid[k], h = grid[k + 1] - grid[k];
        double m1, v1, m2, v2, m3, v3, m4, v4;
        rhs(t, mv, vv, m1, v1);
        rhs(t + h / 2, mv + h / 2 * m1, vv + h / 2 * v1, m2, v2);
        rhs(t + h / 2, mv + h / 2 * m2, vv + h / 2 * v2, m3, v3);
        rhs(t + h, mv + h * m3, vv + h * v3, m4, v4);
        mv += h / 6 * (m1 + 2 * m2 + 2 * m3 + m4);
        vv += h / 6 * (v1 + 2 * v2 + 2 * v3 + v4);
      }
      l.mean[j] = mv;
      l.var[j] = vv;
    }
    return l;
  }

  // ---------------------------------------------------------------- measurements
  /// Exact law of a deterministic fixed-step solver (an affine map).
  Row affine(SamplerConfig const& config) {
    GaussianSampler sampler(space, model, config, dim + 1);
    GaussianSampler::field_view x("psgm::bench::x", dim + 1, channels, num_points);
    auto hx = Kokkos::create_mirror_view(x);
    Kokkos::deep_copy(hx, 0.0);
    for (int i = 0; i < dim; ++i) hx(i + 1, i / num_points, i % num_points) = 1.0;
    Kokkos::deep_copy(x, hx);
    auto const r = sampler.integrate(space, x, conditions(dim + 1), 0, 0);
    Kokkos::deep_copy(hx, x);
    Eigen::VectorXd b(dim);
    Eigen::MatrixXd a(dim, dim);
    for (int i = 0; i < dim; ++i) b(i) = hx(0, i / num_points, i % num_points);
    for (int k = 0; k < dim; ++k)
      for (int i = 0; i < dim; ++i) a(i, k) = hx(k + 1, i / num_points, i % num_points) - b(i);
    double const s = process.prior_stddev();
    Eigen::MatrixXd const cov = s * s * a * a.transpose();
    Eigen::Map<Eigen::Matrix<double, dim, dim, Eigen::RowMajor> const> q(p.q.data());
    Eigen::MatrixXd const cy = q.transpose() * cov * q;
    Eigen::VectorXd const by = q.transpose() * b;
    Law law{std::vector<double>(by.data(), by.data() + dim), std::vector<double>(dim)};
    double off = 0;
    for (int j = 0; j < dim; ++j) {
      law.var[j] = cy(j, j);
      for (int k = 0; k < dim; ++k)
        if (k != j) off = std::max(off, std::fabs(cy(j, k)) / std::sqrt(cy(j, j) * cy(k, k)));
    }
    // The law is diagonal in the eigenbasis up to round-off; check it, and
    // the diagonal formula against the general one.
    auto const spec = p.spec();
    Eigen::Map<Eigen::MatrixXd const> target_cov(spec.covariances[0].data(), dim, dim);
    Eigen::Map<Eigen::VectorXd const> mu(p.mean.data(), dim);
    double const w = w2(law, target), general = w2_gaussians(b, cov, mu, target_cov);
    if (off > 1e-8 || std::fabs(w - general) > 1e-6 + 1e-3 * w)
      std::printf("  note: %s: off-diagonal %.1e, W2 %.3e (eigenbasis) vs %.3e (general formula)\n",
                  config.describe().c_str(), off, w, general);
    Law const limit = config.kind == SamplerKind::edm_heun ? edm_limit(config) : ode_limit(config);
    return {psgm::model::to_string(process.type), psgm::sde::to_string(config.kind), setting(config), "exact_affine",
            double(r.nfe), w, 0.0, w2(law, limit), 0.0};
  }

  /// Exact law of Euler-Maruyama and the stochastic Heun: affine maps with
  /// additive Gaussian noise, so the output is Gaussian with per-direction
  /// moments from a scalar recursion of the update (docs/sampling.md
  /// (2.1)-(2.3); the tests check the samplers against the same recursion).
  Row recursion(SamplerConfig const& config) {
    auto const grid = psgm::sde::make_time_grid(process, config.grid, config.steps, config.start_time(process),
                                                config.end_time(process), config.rho);
    Law law{std::vector<double>(dim, 0.0), std::vector<double>(dim, process.prior_stddev() * process.prior_stddev())};
    for (int j = 0; j < dim; ++j) {
      auto drift = [&](double t, double& slope, double& offset) {  // -f y + g^2 s(y) = slope y + offset
        double const m = process.mean(t), s2 = m * m * p.lambda[j] + process.variance(t), g2 = process.diffusion2(t);
        slope = -process.drift(t) - g2 / s2;
        offset = g2 * m * target.mean[j] / s2;
      };
      for (std::size_t k = 0; k + 1 < grid.size(); ++k) {
        double const t0 = grid[k], t1 = grid[k + 1], h = t0 - t1;
        double b0, e0, b1, e1;
        drift(t0, b0, e0);
        drift(t1, b1, e1);
        double const g0 = std::sqrt(process.diffusion2(t0) * h), g1 = std::sqrt(process.diffusion2(t1) * h);
        double a, c, noise;
        if (config.kind == SamplerKind::euler_maruyama) {
          a = 1 + h * b0;
          c = h * e0;
          noise = g0;
        } else {
          double const ap = 1 + h * b0, cp = h * e0;
          a = 1 + 0.5 * h * b0 + 0.5 * h * b1 * ap;
          c = 0.5 * h * (e0 + b1 * cp + e1);
          noise = 0.5 * h * b1 * g0 + 0.5 * (g0 + g1);
        }
        law.mean[j] = a * law.mean[j] + c;
        law.var[j] = a * a * law.var[j] + noise * noise;
      }
    }
    return {psgm::model::to_string(process.type), psgm::sde::to_string(config.kind), setting(config), "exact_recursion",
            double(config.planned_nfe()), w2(law, target), 0.0, w2(law, sde_limit(config)), 0.0};
  }

  /// Pushes `samples` prior draws through the sampler (or, with exact_flow,
  /// through the exact flow map); returns them (normalised, n x d).
  std::vector<double> run_samples(SamplerConfig const& config, std::uint64_t seed, psgm::sde::SampleReport* report,
                                  bool exact_flow = false) {
    int const batch = std::min(samples, 4096);
    GaussianSampler sampler(space, model, config, batch);
    GaussianSampler::field_view x("psgm::bench::x", batch, channels, num_points);
    auto const c = conditions(batch);
    std::vector<double> out;
    out.reserve(std::size_t(samples) * dim);
    auto const spec = p.spec();
    auto const eig = p.eigen();
    for (int first = 0; first < samples; first += batch) {
      int const b = std::min(batch, samples - first);
      GaussianSampler::field_view xb(x.data(), b, channels, num_points);
      sampler.draw_prior(space, xb, seed, first);
      if (exact_flow) {
        auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, xb);
        for (int s = 0; s < b; ++s) {
          std::vector<double> v(&h(s, 0, 0), &h(s, 0, 0) + dim);
          psgm::sde::gaussian_flow_map(spec, eig, process, cond, config.start_time(process), config.end_time(process), v);
          out.insert(out.end(), v.begin(), v.end());
        }
        continue;
      }
      GaussianSampler::cond_view cb(c.data(), b, 3);
      auto const r = sampler.integrate(space, xb, cb, seed, first);
      if (report) *report = r;
      auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, xb);
      out.insert(out.end(), h.data(), h.data() + std::size_t(b) * dim);
    }
    return out;
  }

  /// Per-eigen-direction sample moments.
  Law moments(std::vector<double> const& x) const {
    int const n = samples;
    Law m{std::vector<double>(dim, 0.0), std::vector<double>(dim, 0.0)};
    std::vector<std::vector<double>> ys(n);
    for (int s = 0; s < n; ++s) {
      ys[s] = p.to_eigen(&x[std::size_t(s) * dim]);
      for (int j = 0; j < dim; ++j) m.mean[j] += ys[s][j] / n;
    }
    for (int s = 0; s < n; ++s)
      for (int j = 0; j < dim; ++j) m.var[j] += (ys[s][j] - m.mean[j]) * (ys[s][j] - m.mean[j]) / (n - 1);
    return m;
  }
  /// W2 from sample moments to a reference law, with the estimator's O(1/n)
  /// bias removed (E(mean^ - mu)^2 = (m - mu)^2 + v/n, E(sqrt(v^) - sqrt(l))^2
  /// ~ (sqrt(v) - sqrt(l))^2 + v/(2n)), and its standard error (delta method:
  /// Var (m^ - mu)^2 ~ 4 dm^2 v/n + 2 (v/n)^2, Var (sqrt(v^) - sqrt(l))^2 ~ 4 ds^2 u + 2 u^2, u = v/(2n)).
  std::pair<double, double> w2_estimate(Law const& m, Law const& ref) const {
    double const raw = w2(m, ref);
    double bias = 0, var = 0;
    for (int j = 0; j < dim; ++j) {
      double const vn = m.var[j] / samples, u = vn / 2;
      double const dm = m.mean[j] - ref.mean[j], ds = std::sqrt(m.var[j]) - std::sqrt(ref.var[j]);
      bias += vn + u;
      var += 4 * dm * dm * vn + 2 * vn * vn + 4 * ds * ds * u + 2 * u * u;
    }
    double const w = std::sqrt(std::max(raw * raw - bias, 0.0));
    double const se2 = std::sqrt(var);  // standard error of the W2^2 estimate
    return {w, w > std::sqrt(se2) ? se2 / (2 * w) : std::sqrt(se2)};
  }

  /// Stochastic samplers, measured: W2 from the samples' moments.
  Row stochastic(SamplerConfig const& config) {
    psgm::sde::SampleReport r;
    auto const m = moments(run_samples(config, 11, &r));
    auto const [w, e] = w2_estimate(m, target);
    double wl = nan_value, el = nan_value;
    if (config.kind != SamplerKind::edm_heun) std::tie(wl, el) = w2_estimate(m, sde_limit(config));
    return {psgm::model::to_string(process.type), psgm::sde::to_string(config.kind), setting(config), "moments",
            double(r.nfe), w, e, wl, el};
  }

  /// ode_dopri5 chooses its steps per sample, so its map is only nearly
  /// affine. To the target: the exact flow's W2 plus the difference of the
  /// moment estimates of the solver's and the exact flow's images of the same
  /// draws (a control variate: the Monte-Carlo noise cancels to first order).
  /// Discretisation error: the RMS distance between the two images of the
  /// same draws, an upper bound on W2(solver law, exact flow law).
  Row dopri(SamplerConfig const& config) {
    psgm::sde::SampleReport r;
    auto const x = run_samples(config, 13, &r);
    auto const e = run_samples(config, 13, nullptr, true);
    auto const [w_solver, s1] = w2_estimate(moments(x), target);
    auto const [w_flow, s2] = w2_estimate(moments(e), target);
    double rms = 0;
    for (std::size_t i = 0; i < x.size(); ++i) rms += (x[i] - e[i]) * (x[i] - e[i]);
    rms = std::sqrt(rms / samples);
    double const w = std::max(w2(ode_limit(config), target) + w_solver - w_flow, 0.0);
    return {psgm::model::to_string(process.type), psgm::sde::to_string(config.kind), setting(config),
            "control_variate", r.mean_nfe_per_sample, w, rms, rms, 0.0};
  }

  /// The Monte-Carlo floor of the moment estimator: n exact target draws.
  double mc_floor(int repeats = 4) {
    std::mt19937_64 rng(99);
    std::normal_distribution<double> normal;
    double sum = 0;
    for (int rep = 0; rep < repeats; ++rep) {
      std::vector<double> x(std::size_t(samples) * dim);
      for (int s = 0; s < samples; ++s) {
        std::vector<double> z(dim);
        for (auto& v : z) v = normal(rng);
        for (int i = 0; i < dim; ++i) {
          double v = p.mean[i];
          for (int j = 0; j < dim; ++j) v += p.q[i * dim + j] * std::sqrt(p.lambda[j]) * z[j];
          x[std::size_t(s) * dim + i] = v;
        }
      }
      double const w = w2_estimate(moments(x), target).first;
      sum += w * w;
    }
    return std::sqrt(sum / repeats);
  }

  static std::string setting(SamplerConfig const& c) {
    std::ostringstream os;
    if (c.kind == SamplerKind::ode_dopri5)
      os << "tol=" << c.rtol;
    else
      os << "steps=" << c.steps;
    if (c.kind == SamplerKind::predictor_corrector) os << " snr=" << c.snr;
    if (c.kind == SamplerKind::edm_heun && c.s_churn > 0) os << " churn=" << c.s_churn;
    return os.str();
  }
};

void print_row(Row const& r) {
  std::printf("  %-4s %-20s %-22s NFE %7.1f  W2 to target %.3e (+- %.1e)  to own limit %.3e  [%s]\n",
              r.process.c_str(), r.sampler.c_str(), r.setting.c_str(), r.nfe, r.w2, r.w2_error, r.w2_limit,
              r.method.c_str());
  std::fflush(stdout);
}

void accuracy(std::string const& csv, int samples, bool quick) {
  std::vector<Row> rows;
  auto add = [&](Row const& r) {
    print_row(r);
    rows.push_back(r);
  };
  auto with = [](SamplerKind k, int steps) {
    auto c = SamplerConfig::defaults(k);
    c.steps = steps;
    return c;
  };
  std::vector<int> const sde_steps = quick ? std::vector<int>{25, 100} : std::vector<int>{10, 25, 50, 100, 250, 1000};
  std::vector<int> const recursion_steps{5, 10, 15, 25, 50, 100, 250, 500, 1000, 2000, 5000, 10000};
  std::vector<int> const heun_steps = quick ? std::vector<int>{5, 20} : std::vector<int>{3, 5, 10, 20, 40, 80, 160, 320, 640};
  std::vector<int> const dpm_steps =
      quick ? std::vector<int>{5, 20} : std::vector<int>{3, 5, 8, 10, 15, 20, 30, 50, 100, 200, 400};
  std::vector<int> const edm_steps =
      quick ? std::vector<int>{5, 18} : std::vector<int>{3, 5, 8, 12, 18, 25, 35, 50, 100, 200, 400};
  std::vector<double> const tols =
      quick ? std::vector<double>{1e-3} : std::vector<double>{1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8};

  for (auto type : {SdeType::vp, SdeType::edm}) {
    Bench b(type, samples);
    std::printf("\n%s process (d = %d, eigenvalues 2 .. 2e-3), %d samples for the Monte-Carlo estimates\n",
                psgm::model::to_string(type), dim, samples);
    auto const any = SamplerConfig::defaults(SamplerKind::ode_heun);
    double const floor_ode = w2(b.ode_limit(any), b.target);
    std::printf("  limit of every ODE solver (exact flow of the N(0, s^2 I) prior): W2 to target = %.3e\n", floor_ode);
    rows.push_back({psgm::model::to_string(type), "ode_limit_floor", "", "exact", 0, floor_ode, 0, 0, 0});
    if (type == SdeType::vp) {
      double const floor_sde = w2(b.sde_limit(any), b.target);
      std::printf("  limit of every SDE solver (exact reverse SDE from N(0, I)): W2 to target = %.3e\n", floor_sde);
      rows.push_back({"vp", "sde_limit_floor", "", "exact", 0, floor_sde, 0, 0, 0});
      double const floor_mc = b.mc_floor();
      std::printf("  Monte-Carlo floor of the moment estimator with n = %d exact draws: W2 = %.3e\n", samples, floor_mc);
      rows.push_back({"vp", "mc_floor", "n=" + std::to_string(samples), "moments", 0, floor_mc, 0, nan_value, 0});
      for (int k : recursion_steps) add(b.recursion(with(SamplerKind::euler_maruyama, k)));
      for (int k : recursion_steps) add(b.recursion(with(SamplerKind::stochastic_heun, k)));
      for (int k : sde_steps) add(b.stochastic(with(SamplerKind::euler_maruyama, k)));
      for (int k : sde_steps)
        if (k <= 500) add(b.stochastic(with(SamplerKind::stochastic_heun, k)));
      for (int k : sde_steps) {
        if (k > 250) continue;
        add(b.stochastic(with(SamplerKind::predictor_corrector, k)));
        auto low = with(SamplerKind::predictor_corrector, k);
        low.snr = 0.05;
        add(b.stochastic(low));
      }
      for (double tol : tols) {
        auto c = SamplerConfig::defaults(SamplerKind::ode_dopri5);
        c.rtol = c.atol = tol;
        add(b.dopri(c));
      }
    }
    for (int k : heun_steps) add(b.affine(with(SamplerKind::ode_heun, k)));
    for (int k : dpm_steps) add(b.affine(with(SamplerKind::dpm_solver_2m, k)));
    for (int k : edm_steps) add(b.affine(with(SamplerKind::edm_heun, k)));
    if (type == SdeType::edm) {
      for (int k : edm_steps) {
        if (k < 12 || k > 100) continue;
        auto c = with(SamplerKind::edm_heun, k);
        c.s_churn = 40;
        c.s_tmin = 0.05;
        c.s_tmax = 50;
        c.s_noise = 1.003;
        add(b.stochastic(c));
      }
    }
  }
  std::ofstream out(csv);
  out << "process,sampler,setting,method,nfe,w2,w2_error,w2_limit,w2_limit_error\n";
  out.precision(10);
  for (auto const& r : rows)
    out << r.process << ',' << r.sampler << ',' << r.setting << ',' << r.method << ',' << r.nfe << ',' << r.w2 << ','
        << r.w2_error << ',' << r.w2_limit << ',' << r.w2_limit_error << '\n';
  std::printf("\nwrote %s (%zu rows)\n", csv.c_str(), rows.size());
}

// ------------------------------------------------------------------ throughput
/// PyTorch-like random weights for the reference network.
psgm::model::ModelDescription reference_model() {
  psgm::model::ModelDescription d;
  d.weights = psgm::model::ParameterSet::zeros(d.architecture);
  d.weights.dtype = "float32";
  std::mt19937_64 rng(2024);
  for (std::size_t p = 0; p < d.weights.shapes.size(); ++p) {
    auto const& shape = d.weights.shapes[p].shape;
    std::int64_t fan_in = 1;
    for (std::size_t k = 1; k < shape.size(); ++k) fan_in *= shape[k];
    double const bound = shape.size() >= 2 ? 1.0 / std::sqrt(double(fan_in)) : 0.05;
    std::uniform_real_distribution<double> u(-bound, bound);
    for (double& v : d.weights.values[p]) v = double(float(u(rng)));
  }
  return d;
}

/// Wraps a model and accumulates the time spent in score() (fenced).
template <class Inner>
struct TimedModel {
  using execution_space = typename Inner::execution_space;
  using memory_space = typename Inner::memory_space;
  using scalar_type = typename Inner::scalar_type;
  using field_view = typename Inner::field_view;
  using const_field_view = typename Inner::const_field_view;
  using const_time_view = typename Inner::const_time_view;
  using const_cond_view = typename Inner::const_cond_view;
  Inner* inner;
  double seconds = 0;
  psgm::model::ModelDescription const& description() const { return inner->description(); }
  void reserve(int b) { inner->reserve(b); }
  void score(execution_space const& space, const_field_view x, const_time_view t, const_cond_view c, field_view out) {
    space.fence();
    double const t0 = now();
    inner->score(space, x, t, c, out);
    space.fence();
    seconds += now() - t0;
  }
};

/// One timed sampling call: (sample-NFE per second, share of the time outside the network).
template <class Inner>
struct Timer {
  using execution_space = typename Inner::execution_space;
  TimedModel<Inner> model;
  psgm::sde::Sampler<TimedModel<Inner>> sampler;
  Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> cond;
  typename psgm::sde::Sampler<TimedModel<Inner>>::field_view out;
  Timer(Inner& inner, SamplerConfig const& config, int batch)
      : model{&inner},
        sampler(execution_space(), model, config, batch),
        cond("psgm::bench::cond", batch, 3),
        out("psgm::bench::out", batch, 2, inner.description().architecture.num_points) {
    for (int i = 0; i < batch; ++i) {
      cond(i, 0) = 1e-5;
      cond(i, 2) = 25;
    }
    measure();  // warm-up (first-touch, LibTorch's allocator)
  }
  std::pair<double, double> measure() {
    execution_space space;
    model.seconds = 0;
    space.fence();
    double const t0 = now();
    auto const r = sampler.sample(space, cond, 2, 0, out);
    space.fence();
    double const wall = now() - t0;
    return {double(out.extent(0)) * r.nfe / wall, 1 - model.seconds / wall};
  }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void report_rate(char const* name, int batch, std::vector<double> const& rates, std::vector<double> const& overhead) {
  double const rate = median(rates);
  std::printf("  %-9s batch %5d: %8.1f sample-NFE/s (median of %zu); outside the network %4.1f %%; samples/s at "
              "2000 NFE (reference) %.3g, 100 (DoPri5) %.3g, 35 (EDM) %.3g, 20 (DPM++ 2M) %.3g\n",
              name, batch, rate, rates.size(), 100 * median(overhead), rate / 2000, rate / 100, rate / 35, rate / 20);
  std::fflush(stdout);
}

void throughput(std::vector<int> const& batches, bool quick) {
  int const steps = quick ? 2 : 5, rounds = quick ? 1 : 5;
  std::printf("\nthroughput: the reference network (W = 64, 10 blocks, k = 7, N = 100, float32, random weights),\n"
              "stochastic Heun with %d steps per measurement, %d host threads; the backends alternate call by\n"
              "call (%d rounds) and the median is kept, so their ratio is measured under the same load\n",
              steps, Space().concurrency(), rounds);
  auto const description = reference_model();
  auto config = SamplerConfig::defaults(SamplerKind::stochastic_heun);
  config.steps = steps;
  using Native = psgm::score::ScoreModel<psgm::score::Native<Space>, float>;
  Native native(Space(), description);
#if PSGM_HAS_TORCH
  using Torch = psgm::score::ScoreModel<psgm::score::LibTorch, float>;
  Torch torch(description);
#endif
  for (int batch : batches) {
    Timer<Native> tn(native, config, batch);
    std::vector<double> rn, on;
#if PSGM_HAS_TORCH
    Timer<Torch> tt(torch, config, batch);
    std::vector<double> rt, ot;
#endif
    for (int round = 0; round < rounds; ++round) {
      auto const [r1, o1] = tn.measure();
      rn.push_back(r1);
      on.push_back(o1);
#if PSGM_HAS_TORCH
      auto const [r2, o2] = tt.measure();
      rt.push_back(r2);
      ot.push_back(o2);
#endif
    }
    report_rate("native", batch, rn, on);
#if PSGM_HAS_TORCH
    report_rate("libtorch", batch, rt, ot);
    std::printf("  native / libtorch at batch %d: %.2f\n", batch, median(rn) / median(rt));
#else
    std::printf("  libtorch: not built (-DPSGM_ENABLE_TORCH=OFF)\n");
#endif
  }
}

}  // namespace

int main(int argc, char** argv) {
  psgm::ScopeGuard guard;
  std::string csv = "error_vs_nfe.csv";
  int samples = 16384;
  bool quick = false, do_accuracy = true, do_throughput = true;
  std::vector<int> batches{64, 256};
  for (int i = 1; i < argc; ++i) {
    std::string const a = argv[i];
    if (a == "--csv" && i + 1 < argc) {
      csv = argv[++i];
    } else if (a == "--samples" && i + 1 < argc) {
      samples = std::atoi(argv[++i]);
    } else if (a == "--batches" && i + 1 < argc) {
      batches.clear();
      std::stringstream in(argv[++i]);
      std::string item;
      while (std::getline(in, item, ',')) batches.push_back(std::stoi(item));
    } else if (a == "--quick") {
      quick = true;
      samples = std::min(samples, 2048);
    } else if (a == "--accuracy-only") {
      do_throughput = false;
    } else if (a == "--throughput-only") {
      do_accuracy = false;
    } else {
      std::fprintf(stderr,
                   "usage: bench_samplers [--csv FILE] [--samples N] [--batches 64,256] [--quick] "
                   "[--accuracy-only | --throughput-only]\n");
      return 2;
    }
  }
  std::printf("bench_samplers: %s, Kokkos %s with %d threads\n", psgm::build_info().c_str(), Space::name(),
              Space().concurrency());
  if (do_accuracy) accuracy(csv, samples, quick);
  if (do_throughput) throughput(batches, quick);
  return 0;
}

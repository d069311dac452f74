// Definitions of psgm::sde::AnalyticScore (instantiated in src/sde/analytic_score_eti.cpp).
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/sde/AnalyticScore.hpp>

#include <cmath>

namespace psgm {
namespace sde {

template <class ExecSpace, class Scalar>
AnalyticScore<ExecSpace, Scalar>::AnalyticScore(ExecSpace const& space, GaussianMixtureSpec const& spec,
                                                 model::SdeConfig const& sde, model::Normalization const& normalization)
    : spec_(spec), process_(sde) {
  ScopedRegion region("psgm::sde::AnalyticScore::AnalyticScore");
  spec_.validate();
  sde.validate();
  normalization.validate();
  int const d = spec_.dimension(), kc = spec_.num_components();
  for (int k = 0; k < kc; ++k)
    eigen_.push_back(symmetric_eigen(spec_.covariances[k], d, "analytic score: covariance of component " + std::to_string(k)));

  description_.architecture.channels = spec_.channels;
  description_.architecture.num_points = spec_.num_points;
  description_.normalization = normalization;
  description_.sde = sde;
  description_.training.backend = "analytic";

  log_weights_ = Kokkos::View<double*, memory_space>(Kokkos::view_alloc(space, "psgm::sde::analytic::log_weights"), kc);
  means_ = decltype(means_)(Kokkos::view_alloc(space, "psgm::sde::analytic::means"), kc, d);
  eigenvalues_ = decltype(eigenvalues_)(Kokkos::view_alloc(space, "psgm::sde::analytic::eigenvalues"), kc, d);
  eigenvectors_ = decltype(eigenvectors_)(Kokkos::view_alloc(space, "psgm::sde::analytic::eigenvectors"), kc, d, d);
  bool const moves = !spec_.condition_gradient.empty();
  gradient_ = decltype(gradient_)(Kokkos::view_alloc(space, "psgm::sde::analytic::condition_gradient"), moves ? d : 0, 3);

  auto h_logw = Kokkos::create_mirror_view(Kokkos::HostSpace{}, log_weights_);
  auto h_means = Kokkos::create_mirror_view(Kokkos::HostSpace{}, means_);
  auto h_values = Kokkos::create_mirror_view(Kokkos::HostSpace{}, eigenvalues_);
  auto h_vectors = Kokkos::create_mirror_view(Kokkos::HostSpace{}, eigenvectors_);
  auto h_gradient = Kokkos::create_mirror_view(Kokkos::HostSpace{}, gradient_);
  double total = 0;
  for (double w : spec_.weights) total += w;
  for (int k = 0; k < kc; ++k) {
    h_logw(k) = std::log(spec_.weights[k] / total);
    for (int i = 0; i < d; ++i) {
      h_means(k, i) = spec_.means[k][i];
      h_values(k, i) = eigen_[k].values[i];
      for (int j = 0; j < d; ++j) h_vectors(k, i, j) = eigen_[k].vectors[static_cast<std::size_t>(i) * d + j];
    }
  }
  if (moves)
    for (int i = 0; i < d; ++i)
      for (int j = 0; j < 3; ++j) h_gradient(i, j) = spec_.condition_gradient[static_cast<std::size_t>(i) * 3 + j];
  Kokkos::deep_copy(space, log_weights_, h_logw);
  Kokkos::deep_copy(space, means_, h_means);
  Kokkos::deep_copy(space, eigenvalues_, h_values);
  Kokkos::deep_copy(space, eigenvectors_, h_vectors);
  Kokkos::deep_copy(space, gradient_, h_gradient);
  space.fence();  // the host mirrors are released when the constructor returns
}

template <class ExecSpace, class Scalar>
void AnalyticScore<ExecSpace, Scalar>::reserve(int max_batch) {
  require(max_batch >= 1, "AnalyticScore::reserve: max_batch = ", max_batch, " must be >= 1");
  if (max_batch <= reserved_) return;
  ScopedRegion region("psgm::sde::AnalyticScore::reserve");
  int const d = spec_.dimension(), kc = spec_.num_components();
  auto const init = Kokkos::WithoutInitializing;
  projection_ = decltype(projection_)(Kokkos::view_alloc(init, "psgm::sde::analytic::projection"), max_batch, kc, d);
  log_density_ = decltype(log_density_)(Kokkos::view_alloc(init, "psgm::sde::analytic::log_density"), max_batch, kc);
  if (process_.type == model::SdeType::edm) {
    edm_input_ = field_view(Kokkos::view_alloc(init, "psgm::sde::analytic::edm_input"), max_batch, spec_.channels,
                            spec_.num_points);
    edm_sigma_ = time_view(Kokkos::view_alloc(init, "psgm::sde::analytic::edm_sigma"), max_batch);
  }
  reserved_ = max_batch;
}

template <class ExecSpace, class Scalar>
void AnalyticScore<ExecSpace, Scalar>::check_shapes(char const* call, int batch, const_field_view x,
                                                    const_time_view t, const_cond_view cond, field_view out) const {
  require(batch <= reserved_, "AnalyticScore::", call, ": batch of ", batch, " samples exceeds the reserved ", reserved_,
          " (call reserve() first)");
  require(int(x.extent(1)) == spec_.channels && int(x.extent(2)) == spec_.num_points, "AnalyticScore::", call,
          ": x has shape (", x.extent(0), ", ", x.extent(1), ", ", x.extent(2), "), expected (B, ", spec_.channels, ", ",
          spec_.num_points, ")");
  require(out.extent(0) == x.extent(0) && out.extent(1) == x.extent(1) && out.extent(2) == x.extent(2),
          "AnalyticScore::", call, ": out has shape (", out.extent(0), ", ", out.extent(1), ", ", out.extent(2),
          "), expected that of x");
  require(int(t.extent(0)) == batch && int(cond.extent(0)) == batch && cond.extent(1) == 3, "AnalyticScore::", call,
          ": t has ", t.extent(0), " entries and cond shape (", cond.extent(0), ", ", cond.extent(1), "), expected ",
          batch, " and (", batch, ", 3)");
}

template <class ExecSpace, class Scalar>
void AnalyticScore<ExecSpace, Scalar>::score(ExecSpace const& space, const_field_view x, const_time_view t,
                                             const_cond_view cond, field_view out) const {
  ScopedRegion region("psgm::sde::AnalyticScore::score");
  int const batch = static_cast<int>(x.extent(0));
  check_shapes("score", batch, x, t, cond, out);
  if (batch == 0) return;
  int const d = spec_.dimension(), kc = spec_.num_components(), n = spec_.num_points;
  auto const process = process_;
  auto const log_weights = log_weights_;
  auto const means = means_;
  auto const values = eigenvalues_;
  auto const vectors = eigenvectors_;
  auto const gradient = gradient_;
  auto const projection = projection_;
  auto const log_density = log_density_;
  bool const moves = gradient_.extent(0) > 0;
  // One sample per thread: sequential loops over d make the result
  // independent of the thread count (docs/sampling.md §6).
  Kokkos::parallel_for(
      "psgm::sde::analytic::score", Kokkos::RangePolicy<ExecSpace>(space, 0, batch), KOKKOS_LAMBDA(int b) {
        double const tb = t(b);
        double const m = process.mean(tb), v = process.variance(tb);
        double c[3] = {double(cond(b, 0)), double(cond(b, 1)), double(cond(b, 2))};
        double max_log = -1e300;
        for (int k = 0; k < kc; ++k) {
          for (int j = 0; j < d; ++j) projection(b, k, j) = 0.0;
          // y = Q_k^T (x - m mu_k(c)), accumulated row by row of Q_k (contiguous).
          for (int i = 0; i < d; ++i) {
            double mu = means(k, i);
            if (moves) mu += gradient(i, 0) * c[0] + gradient(i, 1) * c[1] + gradient(i, 2) * c[2];
            double const r = double(x(b, i / n, i % n)) - m * mu;
            for (int j = 0; j < d; ++j) projection(b, k, j) += vectors(k, i, j) * r;
          }
          double log_p = log_weights(k);
          for (int j = 0; j < d; ++j) {
            double const var = m * m * values(k, j) + v;
            double const y = projection(b, k, j);
            log_p -= 0.5 * (y * y / var + math::log(var));
            projection(b, k, j) = y / var;
          }
          log_density(b, k) = log_p;
          max_log = math::max(max_log, log_p);
        }
        // Posterior weights r_k = softmax(log p_k), without overflow.
        double total = 0.0;
        for (int k = 0; k < kc; ++k) {
          double const e = math::exp(log_density(b, k) - max_log);
          log_density(b, k) = e;
          total += e;
        }
        for (int i = 0; i < d; ++i) {
          double s = 0.0;
          for (int k = 0; k < kc; ++k) {
            double sk = 0.0;
            for (int j = 0; j < d; ++j) sk += vectors(k, i, j) * projection(b, k, j);
            s += log_density(b, k) / total * sk;
          }
          out(b, i / n, i % n) = Scalar(-s);
        }
      });
}

template <class ExecSpace, class Scalar>
void AnalyticScore<ExecSpace, Scalar>::network(ExecSpace const& space, const_field_view x, const_time_view t,
                                               const_cond_view cond, field_view out) const {
  ScopedRegion region("psgm::sde::AnalyticScore::network");
  if (process_.type != model::SdeType::edm) {
    score(space, x, t, cond, out);
    return;
  }
  int const batch = static_cast<int>(x.extent(0));
  check_shapes("network", batch, x, t, cond, out);
  if (batch == 0) return;
  int const c = spec_.channels, n = spec_.num_points;
  auto const edm = process_.edm;
  field_view xs(edm_input_.data(), batch, c, n);
  time_view sigma(edm_sigma_.data(), batch);
  // Undo the preconditioning of the input: sigma = exp(c_noise / noise_scale), x = (c_in x) / c_in(sigma).
  Kokkos::parallel_for(
      "psgm::sde::analytic::edm_unscale_input", Kokkos::RangePolicy<ExecSpace>(space, 0, batch), KOKKOS_LAMBDA(int b) {
        double const s = edm.sigma_of_noise(double(t(b)));
        sigma(b) = Scalar(s);
        double const cin = edm.c_in(s);
        for (int ch = 0; ch < c; ++ch)
          for (int i = 0; i < n; ++i) xs(b, ch, i) = Scalar(double(x(b, ch, i)) / cin);
      });
  score(space, xs, sigma, cond, out);
  // F = (D - c_skip x) / c_out with D = x + sigma^2 score.
  Kokkos::parallel_for(
      "psgm::sde::analytic::edm_network_output", Kokkos::RangePolicy<ExecSpace>(space, 0, batch), KOKKOS_LAMBDA(int b) {
        double const s = sigma(b);
        double const cskip = edm.c_skip(s), cout = edm.c_out(s);
        for (int ch = 0; ch < c; ++ch)
          for (int i = 0; i < n; ++i) {
            double const xv = xs(b, ch, i);
            double const denoised = xv + s * s * double(out(b, ch, i));
            out(b, ch, i) = Scalar((denoised - cskip * xv) / cout);
          }
      });
}

}  // namespace sde
}  // namespace psgm

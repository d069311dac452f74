//              psgm example 08: the fields given three probe measurements
//
// Build: see examples/01_porosity.cpp.
// Run:
//     build-examples/08_posterior [realisations_per_condition] [reference_fields]
//     build-examples/08_posterior 50 40000
//
// What it shows: posterior uncertainty quantification (docs/posterior.md).
// Three probes read the concentration of one electrode, with noise; what do
// the whole fields look like given them?
//   1. a training ensemble over 40 operating conditions around the reference
//      one (l = L/10; U0 and F_right vary), solved with the batched solver;
//   2. the conditional Gaussian emulator fitted to it (the model layer's
//      condition-aware whitening, no network);
//   3. a "true" electrode at the reference condition and three noisy probes
//      of its c (a twin experiment);
//   4. the emulator's exact posterior given the probes (Matheron's update):
//      closed-form moments and draws;
//   5. an independent answer without any model: a large PDE ensemble at the
//      reference condition weighted by the probes' likelihood (importance
//      sampling; its effective sample size says what it is worth);
//   6. prior, Gaussian posterior and the importance-sampled PDE posterior
//      side by side along the electrode. Where the fields are close to
//      Gaussian the two posteriors agree within the reference's error; where
//      they are not, the Gaussian one is where a score model's guided
//      posterior (psgm sample --observe) earns its keep.
#include <psgm/psgm.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

using Space = Kokkos::DefaultExecutionSpace;
using Mem = Space::memory_space;
using HostFields = Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace>;

/// PDE solutions (n, 2, N) at the given conditions, one per realisation.
HostFields solve(Space const& space, psgm::pde::ElectrodeParameters const& electrode,
                 std::vector<psgm::pde::Condition> const& per_item, std::uint64_t seed,
                 std::vector<psgm::SolveStatus>& status) {
  int const n = static_cast<int>(per_item.size()), N = electrode.N;
  psgm::gp::PorositySampler<Space> porosity(space, psgm::gp::PorosityModel{}, electrode.cell_centres());
  Kokkos::View<double**, Kokkos::LayoutRight, Mem> eps(Kokkos::view_alloc(space, "example::porosity"), n, N);
  // Every item here shares l (the porosity's correlation length).
  porosity.sample(space, per_item.front().l, seed, 0, eps);
  auto h_U0 = Kokkos::View<double*, Kokkos::HostSpace>("example::U0", n);
  auto h_F = Kokkos::View<double*, Kokkos::HostSpace>("example::F_right", n);
  for (int r = 0; r < n; ++r) {
    h_U0(r) = per_item[std::size_t(r)].U0;
    h_F(r) = per_item[std::size_t(r)].F_right;
  }
  auto U0 = Kokkos::create_mirror_view_and_copy(space, h_U0);
  auto F_right = Kokkos::create_mirror_view_and_copy(space, h_F);
  Kokkos::View<double***, Kokkos::LayoutRight, Mem> fields(Kokkos::view_alloc(space, "example::fields"), n, 2, N);
  Kokkos::View<psgm::SolveStatus*, Mem> st(Kokkos::view_alloc(space, "example::status"), n);
  psgm::pde::EnsembleSolver<Space> solver(space, electrode, n);
  solver.solve(space, eps, U0, F_right, fields, st);
  auto const h_st = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, st);
  status.assign(h_st.data(), h_st.data() + n);
  return Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, fields);
}

int main(int argc, char* argv[]) {
  psgm::ScopeGuard guard;
  Space space;
  int const per_condition = argc > 1 ? std::atoi(argv[1]) : 50;
  int const reference_count = argc > 2 ? std::atoi(argv[2]) : 40000;
  psgm::pde::ElectrodeParameters const electrode;
  int const N = electrode.N, P = 2 * N;
  double const l = electrode.L / 10;

  // 1. Training ensemble: 40 conditions (U0, F_right) on a grid around the reference.
  std::vector<double> fields, conditions;
  std::vector<std::int64_t> condition_of;
  std::vector<psgm::pde::Condition> items;
  int const M = 40;
  for (int m = 0; m < M; ++m) {
    psgm::pde::Condition const c{l, -0.1 + 0.2 * (m % 8) / 7.0, 10.0 + 30.0 * (m / 8) / 4.0};
    conditions.insert(conditions.end(), {c.l, c.U0, c.F_right});
    for (int r = 0; r < per_condition; ++r) items.push_back(c);
  }
  std::vector<psgm::SolveStatus> status;
  auto const train = solve(space, electrode, items, /*seed=*/1, status);
  for (int s = 0; s < int(items.size()); ++s) {
    if (status[std::size_t(s)] != psgm::SolveStatus::ok) continue;
    fields.insert(fields.end(), &train(s, 0, 0), &train(s, 0, 0) + P);
    condition_of.push_back(s / per_condition);
  }
  std::printf("1. training ensemble: %d conditions x %d realisations (%zu ok)\n", M, per_condition,
              condition_of.size());

  // 2. The conditional Gaussian emulator (every latent coordinate kept).
  psgm::model::WhiteningData const data{2, N, &fields, &condition_of, &conditions};
  psgm::model::WhiteningOptions options;
  options.components = 0;
  auto const whitening =
      psgm::model::fit_whitening(psgm::model::ConditionSchema::porous_electrode(), data, options);
  std::printf("2. emulator: %d free points of %d, whitened\n", whitening.num_free(), P);

  // 3. The true electrode at the reference condition, and three noisy c probes.
  psgm::pde::Condition const reference{l, 0.0, 25.0};
  double const u[3] = {reference.l, reference.U0, reference.F_right};
  auto const truth = solve(space, electrode, {reference}, /*seed=*/99, status);
  std::vector<double> mu(P), sigma(P);
  whitening.moments(u, mu.data(), sigma.data());
  auto const x = electrode.cell_centres();
  std::vector<psgm::posterior::Observation> probes;
  auto noise = psgm::random::make_generator<Kokkos::DefaultHostExecutionSpace>(5, 0, 0);
  for (int i : {25, 50, 75}) {
    double const s = 0.3 * sigma[std::size_t(i)];  // noise: 30 % of the prior spread there
    probes.push_back({0, x[std::size_t(i)], truth(0, 0, i) + s * noise.normal(), s});
  }
  psgm::posterior::ObservationOperator const H(probes, x, 2);
  std::printf("3. probes of c at x = 25, 50, 75 um (noise 30 %% of the prior spread)\n");

  // 4. The emulator's exact posterior: closed form, and draws.
  std::vector<double> post_mean(P), post_sd(P);
  psgm::posterior::gaussian_posterior_moments(whitening, H, u, post_mean.data(), post_sd.data());
  int const n = 2000;
  psgm::posterior::GaussianPosterior<Space> posterior(whitening, H);
  Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> cond("example::conditions", n, 3);
  for (int b = 0; b < n; ++b)
    for (int k = 0; k < 3; ++k) cond(b, k) = u[k];
  Kokkos::View<double***, Kokkos::LayoutRight, Mem> draws(Kokkos::view_alloc(space, "example::draws"), n, 2, N);
  Kokkos::View<psgm::SolveStatus*, Mem> draw_status(Kokkos::view_alloc(space, "example::draw_status"), n);
  posterior.sample(space, cond, /*seed=*/3, 0, draws, draw_status);
  auto const h_draws = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, draws);
  double worst = 0;  // draws against the closed form, in posterior spreads
  for (int p = 0; p < P; ++p) {
    if (post_sd[std::size_t(p)] == 0) continue;
    double m = 0;
    for (int b = 0; b < n; ++b) m += h_draws.data()[std::size_t(b) * P + p] / n;
    worst = std::max(worst, std::abs(m - post_mean[std::size_t(p)]) / post_sd[std::size_t(p)]);
  }
  std::printf("4. Gaussian posterior: %d exact draws, their mean within %.3f posterior spreads of the closed form\n",
              n, worst);

  // 5. The importance-sampled PDE posterior at the reference condition.
  auto const ensemble =
      solve(space, electrode, std::vector<psgm::pde::Condition>(std::size_t(reference_count), reference), 7, status);
  std::vector<double> logw;
  std::vector<int> ok;
  for (int r = 0; r < reference_count; ++r)
    if (status[std::size_t(r)] == psgm::SolveStatus::ok) {
      ok.push_back(r);
      logw.push_back(H.log_likelihood(&ensemble(r, 0, 0)));
    }
  double const top = *std::max_element(logw.begin(), logw.end());
  double sw = 0, sw2 = 0;
  std::vector<double> w(logw.size());
  for (std::size_t k = 0; k < w.size(); ++k) {
    w[k] = std::exp(logw[k] - top);
    sw += w[k];
    sw2 += w[k] * w[k];
  }
  double const ess = sw * sw / sw2;
  std::printf("5. importance-sampled PDE posterior: %zu fields, effective sample size %.0f\n", ok.size(), ess);

  // 6. Side by side along the electrode (c): prior, Gaussian posterior, PDE posterior.
  std::printf("6.   x [um]   truth    prior mean (sd)     Gaussian posterior   PDE posterior (IS)\n");
  double agree = 0;
  int points = 0;
  for (int i : {5, 25, 40, 50, 60, 75, 95}) {
    double m = 0, v = 0;
    for (std::size_t k = 0; k < ok.size(); ++k) m += w[k] / sw * ensemble(ok[k], 0, i);
    for (std::size_t k = 0; k < ok.size(); ++k) v += w[k] / sw * std::pow(ensemble(ok[k], 0, i) - m, 2);
    std::printf("   %7.1f  %8.2f   %8.2f (%5.2f)   %8.2f (%5.2f)    %8.2f (%5.2f)\n", x[std::size_t(i)] * 1e6,
                truth(0, 0, i), mu[std::size_t(i)], sigma[std::size_t(i)], post_mean[std::size_t(i)],
                post_sd[std::size_t(i)], m, std::sqrt(v));
    agree += std::abs(post_mean[std::size_t(i)] - m) / std::sqrt(v);
    ++points;
  }
  std::printf("   Gaussian vs PDE posterior mean: %.2f PDE posterior spreads on average\n", agree / points);
  bool const pass = worst < 0.2 && ess > 20;
  std::printf("%s\n", pass ? "OK" : "FAILED: the exact draws disagree with the closed form or the ESS is tiny");
  return pass ? EXIT_SUCCESS : EXIT_FAILURE;
}

//            psgm example 04: sample a trained model with two samplers
//
// Build: see examples/01_porosity.cpp.
// Run (after example 03 wrote model.h5):
//     build-examples/04_sample [model.h5] [samples] [heun_steps]
//     build-examples/04_sample model.h5 500 1000
//
// What it shows: turning noise into fields with a trained score model.
//   1. load the model file (weights, normalisation and SDE travel together)
//      into the native Kokkos backend on the default execution space;
//   2. draw the same number of fields at the reference evaluation condition
//      (l = L/10, U0 = 0, F_right = 25) with two samplers: the reference
//      stochastic Heun on the reverse SDE (spec sgm.md §5; 2 network
//      evaluations per step) and DPM-Solver++(2M) on the probability-flow ODE
//      (1 evaluation per step, few steps);
//   3. compare the two ensembles' means and spreads, and what each cost. For
//      a well-trained model they sample the same distribution and agree to
//      within their Monte-Carlo error plus the discretisation error of the
//      cheaper solver; a model trained for a minute (the test suite's) shows
//      how far the two integrations of an imperfect score drift apart.
#include <psgm/psgm.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

using Space = Kokkos::DefaultExecutionSpace;
using Model = psgm::score::ScoreModel<psgm::score::Native<Space>, float>;
using Sampler = psgm::sde::Sampler<Model>;

struct Moments {
  double mean[2] = {0, 0}, spread[2] = {0, 0};  // grid averages per field of the pointwise mean / std
};

template <class HostFields>
Moments moments(HostFields const& x) {
  Moments m;
  int const n = x.extent(0), N = x.extent(2);
  for (int f = 0; f < 2; ++f)
    for (int i = 0; i < N; ++i) {
      double s = 0, s2 = 0;
      for (int r = 0; r < n; ++r) s += x(r, f, i);
      double const mu = s / n;
      for (int r = 0; r < n; ++r) s2 += (x(r, f, i) - mu) * (x(r, f, i) - mu);
      m.mean[f] += mu / N;
      m.spread[f] += std::sqrt(s2 / (n - 1)) / N;
    }
  return m;
}

int main(int argc, char* argv[]) {
  psgm::ScopeGuard guard;
  std::string const model_path = argc > 1 ? argv[1] : "model.h5";
  int const n = argc > 2 ? std::atoi(argv[2]) : 500;
  int const heun_steps = argc > 3 ? std::atoi(argv[3]) : 1000;
  Space space;

  // 1. The model.
  Model model = Model::load(model_path);
  auto const& arch = model.description().architecture;
  std::printf("model %s: %d blocks x %d channels, N = %d, SDE %s\n", model_path.c_str(), arch.num_blocks,
              arch.width, arch.num_points, psgm::model::to_string(model.description().sde.type));

  // 2. Every sample at the reference evaluation condition (physical units;
  //    the sampler applies the model's normalisation).
  auto const cond = psgm::pde::reference_evaluation_condition();
  Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> conditions("example::conditions", n, 3);
  for (int r = 0; r < n; ++r) {
    conditions(r, 0) = cond.l;
    conditions(r, 1) = cond.U0;
    conditions(r, 2) = cond.F_right;
  }
  Moments result[2];
  double seconds[2];
  std::int64_t nfe[2];
  psgm::sde::SamplerKind const kinds[2] = {psgm::sde::SamplerKind::stochastic_heun,
                                           psgm::sde::SamplerKind::dpm_solver_2m};
  for (int k = 0; k < 2; ++k) {
    auto config = psgm::sde::SamplerConfig::defaults(kinds[k]);
    config.steps = (k == 0) ? heun_steps : 25;
    Sampler sampler(space, model, config, n);  // allocates its workspaces once
    Sampler::field_view fields(Kokkos::view_alloc(space, "example::fields"), n, arch.channels, arch.num_points);
    auto const start = std::chrono::steady_clock::now();
    auto const report = sampler.sample(space, conditions, /*seed=*/4, /*first_sample=*/0, fields);
    seconds[k] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    nfe[k] = report.nfe;
    result[k] = moments(Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, fields));
    std::printf("%-16s %4d steps, %5lld NFE, %7.2f s (%.3g ms per field), failed %lld\n",
                psgm::sde::to_string(kinds[k]), config.steps, static_cast<long long>(nfe[k]), seconds[k],
                1e3 * seconds[k] / n, static_cast<long long>(report.num_failed));
  }

  // 3. The two ensembles side by side.
  char const* names[2] = {"c [mol/m3]", "phi [V]"};
  // What must hold whatever the model's quality: the documented cost of each
  // sampler (2 evaluations per reverse-SDE Heun step, 1 per DPM-Solver++
  // step) and finite, non-degenerate ensembles.
  bool ok = nfe[0] == 2 * heun_steps && nfe[1] == 25;
  for (int f = 0; f < 2; ++f) {
    double const gap = std::fabs(result[0].mean[f] - result[1].mean[f]);
    std::printf("  %-10s mean %.6g vs %.6g (gap %.2g spreads), spread %.4g vs %.4g\n", names[f], result[0].mean[f],
                result[1].mean[f], gap / result[0].spread[f], result[0].spread[f], result[1].spread[f]);
    for (auto const& r : result)
      ok = ok && std::isfinite(r.mean[f]) && std::isfinite(r.spread[f]) && r.spread[f] > 0;
  }
  std::printf("DPM-Solver++(2M) used %.1fx fewer network evaluations than the reference sampler\n",
              double(nfe[0]) / nfe[1]);
  std::printf("%s\n", ok ? "ok" : "FAILED");
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

//                        psgm example 01: random porosity fields
//
// Build (against an installed psgm):
//     cmake -S examples -B build-examples -DCMAKE_PREFIX_PATH="<psgm prefix>;<kokkos prefix>"
//     cmake --build build-examples
// Run:
//     build-examples/01_porosity [count] [l_over_L]
//     build-examples/01_porosity 2000 0.1
//
// What it shows: how psgm samples porosity fields ε(x) from a Gaussian process
// (spec model.md §2) on any Kokkos execution space, batched, reproducibly:
//   1. describe the electrode grid and the porosity model (the reference:
//      squared-exponential kernel, nugget 1e-4, sigmoid map to [0.2, 0.5]);
//   2. draw a batch of fields on the default execution space (one GEMM g = C z
//      for the whole batch, then the map);
//   3. check on the host that the latent Gaussian has the covariance the
//      kernel prescribes, and that the same seed gives the same fields;
//   4. compare with a Matérn-3/2 kernel, which gives rougher fields.
#include <psgm/psgm.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>

int main(int argc, char* argv[]) {
  psgm::ScopeGuard guard;  // Kokkos, quietly (and LibTorch's threads when linked)
  using Space = Kokkos::DefaultExecutionSpace;
  Space space;

  int const count = argc > 1 ? std::atoi(argv[1]) : 2000;
  double const l_over_L = argc > 2 ? std::atof(argv[2]) : 0.1;

  // 1. The grid: N = 100 cells on [0, L]; the porosity model of the reference case.
  psgm::pde::ElectrodeParameters electrode;  // spec defaults: L = 100 µm, N = 100
  std::vector<double> const x = electrode.cell_centres();
  double const l = l_over_L * electrode.L;
  psgm::gp::PorosityModel model;  // reference defaults

  // 2. Draw `count` fields on the device. The seed and each field's index
  //    determine its random numbers: batching and thread count do not matter.
  psgm::gp::PorositySampler<Space> sampler(space, model, x);
  psgm::gp::PorositySampler<Space>::field_view eps(Kokkos::view_alloc(space, "example::porosity"), count,
                                                   electrode.N);
  psgm::gp::PorositySampler<Space>::field_view g(Kokkos::view_alloc(space, "example::latent"), count, electrode.N);
  std::uint64_t const seed = 2026;
  sampler.sample(space, l, seed, 0, eps);
  sampler.sample_latent(space, l, seed, 0, g);

  // 3. Statistics on the host.
  auto const h_eps = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, eps);
  auto const h_g = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, g);
  double eps_min = 1, eps_max = 0, eps_mean = 0;
  for (int r = 0; r < count; ++r)
    for (int i = 0; i < electrode.N; ++i) {
      eps_min = std::fmin(eps_min, h_eps(r, i));
      eps_max = std::fmax(eps_max, h_eps(r, i));
      eps_mean += h_eps(r, i) / (double(count) * electrode.N);
    }
  std::printf("%d porosity fields, l = %.3g m (L/%.0f), on %s\n", count, l, 1 / l_over_L, Space::name());
  std::printf("  eps in [%.4f, %.4f], mean %.4f (the sigmoid map of a centred g has mean 0.35)\n", eps_min,
              eps_max, eps_mean);
  // Empirical correlation of g between cell 50 and cells 50 + k, against the
  // kernel exp(-(k dx)^2 / (2 l^2)) (σ = 1; the nugget adds 1e-4 at k = 0).
  std::printf("  lag k   corr(g_50, g_50+k)   kernel\n");
  bool ok = eps_min >= model.epsilon_min && eps_max <= model.epsilon_max;
  for (int k : {0, 2, 5, 10, 20}) {
    double s = 0;
    for (int r = 0; r < count; ++r) s += h_g(r, 50) * h_g(r, 50 + k);
    s /= count;
    double const r_k = k * electrode.dx();
    double const kernel = std::exp(-r_k * r_k / (2 * l * l)) + (k == 0 ? model.nugget : 0.0);
    double const mc_error = 4 * std::sqrt((1 + kernel * kernel) / count);  // ~4 standard errors
    bool const close = std::fabs(s - kernel) < mc_error;
    ok = ok && close;
    std::printf("  %5d   %18.4f   %6.4f %s\n", k, s, kernel, close ? "" : "  <-- outside 4 standard errors");
  }

  // Same seed, same fields, also when drawn in two halves with item offsets.
  psgm::gp::PorositySampler<Space>::field_view again(Kokkos::view_alloc(space, "example::again"), count,
                                                     electrode.N);
  int const half = count / 2;
  sampler.sample(space, l, seed, 0, Kokkos::subview(again, Kokkos::make_pair(0, half), Kokkos::ALL));
  sampler.sample(space, l, seed, half, Kokkos::subview(again, Kokkos::make_pair(half, count), Kokkos::ALL));
  auto const h_again = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, again);
  bool identical = true;
  for (int r = 0; r < count; ++r)
    for (int i = 0; i < electrode.N; ++i) identical = identical && h_again(r, i) == h_eps(r, i);
  std::printf("  redrawn in two batches: %s\n", identical ? "identical" : "DIFFERENT");
  ok = ok && identical;

  // 4. A Matérn-3/2 kernel: fields only once differentiable (the squared
  //    exponential's are infinitely so). The mean squared increment between
  //    neighbouring cells, 2 (1 - k(dx)) + 2ν, shows it: about 3 (dx/l)² for
  //    Matérn 3/2 against (dx/l)² for the squared exponential.
  psgm::gp::PorosityModel matern = model;
  matern.kernel = psgm::gp::CovarianceKernel::matern32;
  psgm::gp::PorositySampler<Space> rough_sampler(space, matern, x);
  psgm::gp::PorositySampler<Space>::field_view rough(Kokkos::view_alloc(space, "example::rough"), count,
                                                     electrode.N);
  rough_sampler.sample_latent(space, l, seed, 0, rough);
  // (On a host space create_mirror_view_and_copy returns the View itself, so
  // each field gets its own View rather than reusing g.)
  auto const h_rough = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, rough);
  double inc_se = 0, inc_m32 = 0;
  for (int r = 0; r < count; ++r)
    for (int i = 0; i + 1 < electrode.N; ++i) {
      inc_se += std::pow(h_g(r, i + 1) - h_g(r, i), 2);
      inc_m32 += std::pow(h_rough(r, i + 1) - h_rough(r, i), 2);
    }
  std::printf("  mean squared neighbour increment of g: squared exponential %.3g, Matern 3/2 %.3g\n",
              inc_se / (count * (electrode.N - 1.0)), inc_m32 / (count * (electrode.N - 1.0)));
  ok = ok && inc_m32 > inc_se;
  std::printf("%s\n", ok ? "ok" : "FAILED");
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

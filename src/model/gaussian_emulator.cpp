// Host draws of the Gaussian emulator and the decoding of latent samples
// (include/psgm/model/GaussianEmulator.hpp).
#include <psgm/core/Random.hpp>
#include <psgm/model/GaussianEmulator.hpp>

#include <Kokkos_Core.hpp>
#include <Kokkos_Random.hpp>

#include <algorithm>
#include <cstring>

namespace psgm {
namespace model {

namespace {

using HostSpace = Kokkos::DefaultHostExecutionSpace;

/// The samplers' generator of (seed, sample, draw) (sde/impl/SamplerKernels.hpp).
Kokkos::Random_XorShift64<HostSpace> draw_generator(std::uint64_t seed, std::int64_t sample, std::int64_t draw) {
  return random::make_generator<HostSpace>(
      random::generator_state(seed, random::sampler_noise, static_cast<std::uint64_t>(sample)), random::sampler_noise,
      static_cast<std::uint64_t>(draw));
}

/// Calls f(b, mu, sigma) for every sample, evaluating the moments once per
/// run of equal conditions.
template <class F>
void for_each_with_moments(Whitening const& w, int batch, double const* conditions, F&& f) {
  int const K = w.num_conditions(), P = w.channels * w.num_points;
  std::vector<double> mu(static_cast<std::size_t>(P)), sigma(static_cast<std::size_t>(P));
  for (int b = 0; b < batch; ++b) {
    double const* c = conditions + std::size_t(b) * K;
    if (b == 0 || std::memcmp(c, c - K, sizeof(double) * std::size_t(K)) != 0) w.moments(c, mu.data(), sigma.data());
    f(b, mu.data(), sigma.data());
  }
}

}  // namespace

void decode_batch(Whitening const& w, int batch, double const* conditions, double const* latent, std::uint64_t seed,
                  std::int64_t first_sample, double* out) {
  ScopedRegion region("psgm::model::decode_batch");
  int const r = w.components, F = w.num_free(), P = w.channels * w.num_points;
  std::vector<double> tail(static_cast<std::size_t>(std::max(F - r, 0)));
  for_each_with_moments(w, batch, conditions, [&](int b, double const* mu, double const* sigma) {
    if (!tail.empty()) {
      auto gen = draw_generator(seed, first_sample + b, tail_draw);
      for (auto& t : tail) t = gen.normal();
    }
    w.decode(mu, sigma, latent + std::size_t(b) * r, tail.empty() ? nullptr : tail.data(),
             out + std::size_t(b) * P);
  });
}

void sample_gaussian(Whitening const& w, int batch, double const* conditions, std::uint64_t seed,
                     std::int64_t first_sample, double* out) {
  ScopedRegion region("psgm::model::sample_gaussian");
  int const F = w.num_free(), P = w.channels * w.num_points;
  require(w.components == F, "Gaussian emulator: the whitening keeps ", w.components, " of ", F, " coordinates");
  std::vector<double> a(static_cast<std::size_t>(F));
  for_each_with_moments(w, batch, conditions, [&](int b, double const* mu, double const* sigma) {
    auto gen = draw_generator(seed, first_sample + b, 0);
    for (auto& v : a) v = gen.normal();
    w.decode(mu, sigma, a.data(), nullptr, out + std::size_t(b) * P);
  });
}

}  // namespace model
}  // namespace psgm

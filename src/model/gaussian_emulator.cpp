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

}  // namespace

void decode_batch(Whitening const& w, int batch, double const* conditions, double const* latent, std::uint64_t seed,
                  std::int64_t first_sample, double* out) {
  ScopedRegion region("psgm::model::decode_batch");
  int const r = w.components, F = w.num_free(), P = w.channels * w.num_points;
  std::vector<double> tail(static_cast<std::size_t>(std::max(F - r, 0)));
  for_each_with_moments(w, batch, conditions, [&](int b, double const* mu, double const* sigma, bool) {
    if (!tail.empty()) {
      auto gen = random::sample_generator<HostSpace>(seed, first_sample + b, tail_draw);
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
  for_each_with_moments(w, batch, conditions, [&](int b, double const* mu, double const* sigma, bool) {
    auto gen = random::sample_generator<HostSpace>(seed, first_sample + b, 0);
    for (auto& v : a) v = gen.normal();
    w.decode(mu, sigma, a.data(), nullptr, out + std::size_t(b) * P);
  });
}

}  // namespace model
}  // namespace psgm

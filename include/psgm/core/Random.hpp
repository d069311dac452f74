// Reproducible random numbers on any backend.
//
// Kokkos' random pools hand out generator states per thread, so which numbers
// a batch item receives depends on the thread that runs it. psgm instead gives
// every (seed, stream, item) triple its own Kokkos::Random_XorShift64
// generator, seeded through SplitMix64. The numbers an item draws therefore
// depend only on the seed, the stream and the item index: the same on every
// thread count and every backend (up to the last bits of log/sqrt in the
// normal transform on GPUs).
//
// Streams keep independent uses of one user seed apart (docs/design.md):
#pragma once

#include <Kokkos_Core.hpp>
#include <Kokkos_Random.hpp>

#include <cstdint>

namespace psgm {
namespace random {

/// Streams: one user seed drives all of these without correlation.
enum Stream : std::uint64_t {
  porosity = 1,        ///< GP draws z ~ N(0, I) for porosity fields
  conditions = 2,      ///< the random design of conditions (l, U0, F_right)
  training_noise = 3,  ///< diffusion times and noise of denoising score matching
  training_order = 4,  ///< shuffling of mini-batches, train/validation split
  sampler_noise = 5,   ///< prior draws and SDE increments of the samplers
  evaluation = 6,      ///< permutation tests and resampling in the metrics
  initialisation = 7,  ///< network weight initialisation
};

/// SplitMix64 finaliser: a bijective 64-bit mix with good avalanche.
KOKKOS_INLINE_FUNCTION constexpr std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/// The 64-bit state for (seed, stream, item); never zero.
KOKKOS_INLINE_FUNCTION constexpr std::uint64_t generator_state(std::uint64_t seed, std::uint64_t stream,
                                                               std::uint64_t item) {
  std::uint64_t const s = splitmix64(splitmix64(splitmix64(seed) ^ stream) ^ item);
  return s == 0 ? 0x2545F4914F6CDD1Dull : s;
}

/// The generator of one batch item. Device-callable; cheap to construct.
template <class ExecSpace>
KOKKOS_INLINE_FUNCTION Kokkos::Random_XorShift64<ExecSpace> make_generator(std::uint64_t seed, std::uint64_t stream,
                                                                           std::uint64_t item) {
  return Kokkos::Random_XorShift64<ExecSpace>(generator_state(seed, stream, item));
}

/// The generator of draw `draw` of generated sample `sample` (stream
/// sampler_noise): a function of (seed, sample, draw) only, whichever batch,
/// process or backend computes the sample. Draw 0 is a sampler's prior, each
/// later draw one step's noise; the Gaussian tail and the observation noise of
/// posterior draws use their own draw indices (model::tail_draw,
/// posterior::observation_draw).
template <class ExecSpace>
KOKKOS_INLINE_FUNCTION Kokkos::Random_XorShift64<ExecSpace> sample_generator(std::uint64_t seed, std::int64_t sample,
                                                                             std::int64_t draw) {
  return make_generator<ExecSpace>(generator_state(seed, sampler_noise, static_cast<std::uint64_t>(sample)),
                                   sampler_noise, static_cast<std::uint64_t>(draw));
}

}  // namespace random
}  // namespace psgm

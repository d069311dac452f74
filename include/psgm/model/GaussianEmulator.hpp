// The conditional Gaussian emulator (spec sgm.md §1 and §6; docs/design.md §10):
//
//   x = μ(u) + σ(u) ⊙ Σ_k v_k √λ_k a_k,   a ~ N(0, I_F)
//
// i.e. the regressed mean and spread of model/Whitening.hpp with one pooled
// correlation of the standardised residuals. It is the yardstick every
// generated ensemble is judged beside, and the prior of the residual score
// model: a whitened score network whose output is zero is exactly this
// emulator in its r coordinates.
//
//   auto description = psgm::io::read_model("emulator.h5");        // kind gaussian_emulator
//   psgm::model::GaussianEmulator<Kokkos::DefaultExecutionSpace> emulator(*description.whitening);
//   emulator.sample(space, conditions, seed, first_sample, fields);  // (B, C, N), exact draws
//
// Randomness follows the samplers (docs/sampling.md §6): sample number
// first_sample + b draws a from noise draw 0 of (seed, first_sample + b), the
// draw a score model's sampler starts from; the Gaussian tail of a truncated
// residual model uses draw `tail_draw`.
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/model/Whitening.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <vector>

namespace psgm {
namespace model {

/// The noise draw (stream sampler_noise) of the F − r tail coordinates.
inline constexpr std::int64_t tail_draw = std::int64_t(1) << 40;

/// Host: physical fields `out` (B, C·N) from latent coordinates (B, r) at the
/// physical conditions (B, K), the tail from draw tail_draw of (seed,
/// first_sample + b). μ and σ are evaluated once per run of equal conditions.
void decode_batch(Whitening const& whitening, int batch, double const* conditions, double const* latent,
                  std::uint64_t seed, std::int64_t first_sample, double* out);

/// Host: B exact emulator draws (every coordinate from draw 0), out (B, C·N).
void sample_gaussian(Whitening const& whitening, int batch, double const* conditions, std::uint64_t seed,
                     std::int64_t first_sample, double* out);

namespace Impl {

/// The shared body of the host-computed exact samplers (the emulator, its
/// exact posterior): checks `out` (B, C, N) and `conditions` (B, K) against the
/// whitening, lets draw(B, host) fill a float64 host buffer (B, C·N) and
/// copies it to `out` (double or float, in ExecSpace's memory). `who` names
/// the caller in the errors. Fences `space`.
template <class ExecSpace, class OutView, class Draw>
void draw_on_host(ExecSpace const& space, char const* who, Whitening const& w,
                  Kokkos::View<const double**, Kokkos::LayoutRight, Kokkos::HostSpace> conditions,
                  std::int64_t first_sample, OutView const& out, Draw&& draw) {
  int const B = static_cast<int>(out.extent(0));
  require(int(out.extent(1)) == w.channels && int(out.extent(2)) == w.num_points, who, ": out has shape (",
          out.extent(0), ", ", out.extent(1), ", ", out.extent(2), "), expected (B, ", w.channels, ", ", w.num_points,
          ")");
  require(int(conditions.extent(0)) == B && int(conditions.extent(1)) == w.num_conditions(), who,
          ": conditions have shape (", conditions.extent(0), ", ", conditions.extent(1), "), expected (", B, ", ",
          w.num_conditions(), ")");
  require(first_sample >= 0, who, ": first_sample = ", first_sample, " must be >= 0");
  std::vector<double> host(static_cast<std::size_t>(B) * w.channels * w.num_points);
  draw(B, host.data());
  auto mirror = Kokkos::create_mirror_view(out);
  using value_type = typename OutView::non_const_value_type;
  for (std::size_t i = 0; i < host.size(); ++i) mirror.data()[i] = static_cast<value_type>(host[i]);
  Kokkos::deep_copy(space, out, mirror);
  space.fence();  // `host` and the mirror go out of scope
}

}  // namespace Impl

template <class ExecSpace>
class GaussianEmulator {
 public:
  using execution_space = ExecSpace;
  using memory_space = typename ExecSpace::memory_space;
  using host_condition_view = Kokkos::View<const double**, Kokkos::LayoutRight, Kokkos::HostSpace>;

  /// The whitening must keep every coordinate (components == num_free()).
  explicit GaussianEmulator(Whitening whitening) : whitening_(std::move(whitening)) {
    whitening_.validate();
    require(whitening_.components == whitening_.num_free(), "Gaussian emulator: the whitening keeps ",
            whitening_.components, " of ", whitening_.num_free(),
            " coordinates; the emulator needs all of them (fit it with components = 0)");
  }

  Whitening const& whitening() const { return whitening_; }
  int channels() const { return whitening_.channels; }
  int num_points() const { return whitening_.num_points; }

  /// Draws B = out.extent(0) fields; sample b has the physical condition
  /// conditions(b, :) and the global index first_sample + b. `out` is a
  /// (B, C, N) LayoutRight View of double or float in ExecSpace's memory.
  /// Fences `space` (the draws are computed on the host).
  template <class OutView>
  void sample(ExecSpace const& space, host_condition_view conditions, std::uint64_t seed, std::int64_t first_sample,
              OutView const& out) const {
    ScopedRegion region("psgm::model::GaussianEmulator::sample");
    Impl::draw_on_host(space, "Gaussian emulator", whitening_, conditions, first_sample, out,
                       [&](int B, double* host) { sample_gaussian(whitening_, B, conditions.data(), seed, first_sample, host); });
  }

 private:
  Whitening whitening_;
};

}  // namespace model
}  // namespace psgm

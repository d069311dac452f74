// Device kernels that every sampler method uses (docs/sampling.md): noise
// draws, linear combinations, the time input, finiteness. A method's own
// kernels live in its file in sde/samplers/. Free functions rather
// than member lambdas: no `this` in device code, and CUDA's extended lambdas
// may not live in private member functions.
//
// Fields are (B, C, N) LayoutRight and contiguous, so element-wise updates run
// over the flat index i in [0, B d), d = C N, and the sample of element i is
// i / d. Per-sample work (noise draws, norms, step-size control) runs one
// sample per thread with sequential loops over its d values: the result is
// then bitwise independent of the thread count and of the batch it is in.
#pragma once

#include <psgm/core/KokkosCompat.hpp>
#include <psgm/core/Random.hpp>
#include <psgm/core/Status.hpp>
#include <psgm/sde/DiffusionProcess.hpp>

#include <Kokkos_Core.hpp>
#include <Kokkos_Random.hpp>

#include <cstdint>

namespace psgm {
namespace sde {
namespace Impl {

/// z(b, ...) = scale N(0, I) from random::sample_generator(seed, first + b, draw).
template <class ExecSpace, class Field>
void draw_noise(ExecSpace const& space, Field const& z, int batch, std::uint64_t seed, std::int64_t first,
                std::int64_t draw, double scale) {
  using scalar = typename Field::non_const_value_type;
  std::int64_t const d = static_cast<std::int64_t>(z.extent(1)) * z.extent(2);
  scalar* const zp = z.data();
  Kokkos::parallel_for(
      "psgm::sde::draw_noise", Kokkos::RangePolicy<ExecSpace>(space, 0, batch), KOKKOS_LAMBDA(int b) {
        auto gen = random::sample_generator<ExecSpace>(seed, first + b, draw);
        scalar* const zb = zp + b * d;
        for (std::int64_t i = 0; i < d; ++i) zb[i] = scalar(scale * gen.normal());
      });
}

/// Optionally, a kernel also writes the model's time input of the next
/// evaluation: t[b] = value for b < batch. Saves a launch per evaluation.
template <class Scalar>
struct NextTime {
  Scalar* t = nullptr;
  std::int64_t batch = 0;
  double value = 0;
};

/// out = sum_k c_k v_k element-wise over `n` values (out may alias any v_k),
/// and the next time input if `next.t` is set.
template <class ExecSpace, class Scalar>
void combine(ExecSpace const& space, char const* label, std::int64_t n, NextTime<Scalar> next, Scalar* out, double c0,
             Scalar const* v0, double c1 = 0, Scalar const* v1 = nullptr, double c2 = 0, Scalar const* v2 = nullptr,
             double c3 = 0, Scalar const* v3 = nullptr, double c4 = 0, Scalar const* v4 = nullptr) {
  int const terms = v4 ? 5 : v3 ? 4 : v2 ? 3 : v1 ? 2 : 1;
  Kokkos::parallel_for(
      label, Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>(space, 0, n),
      KOKKOS_LAMBDA(std::int64_t i) {
        double r = c0 * double(v0[i]);
        if (terms > 1) r += c1 * double(v1[i]);
        if (terms > 2) r += c2 * double(v2[i]);
        if (terms > 3) r += c3 * double(v3[i]);
        if (terms > 4) r += c4 * double(v4[i]);
        out[i] = Scalar(r);
        if (next.t && i < next.batch) next.t[i] = Scalar(next.value);
      });
}

/// t(b) = value for b < batch.
template <class ExecSpace, class TimeView>
void fill_time(ExecSpace const& space, TimeView const& t, int batch, double value) {
  using scalar = typename TimeView::non_const_value_type;
  Kokkos::parallel_for(
      "psgm::sde::fill_time", Kokkos::RangePolicy<ExecSpace>(space, 0, batch),
      KOKKOS_LAMBDA(int b) { t(b) = scalar(value); });
}

/// Marks samples with a NaN or Inf value non_finite (keeping an earlier non-ok status).
template <class ExecSpace, class Field, class StatusView>
void check_finite(ExecSpace const& space, Field const& x, StatusView const& status, int batch) {
  using scalar = typename Field::non_const_value_type;
  std::int64_t const d = static_cast<std::int64_t>(x.extent(1)) * x.extent(2);
  scalar const* const xp = x.data();
  Kokkos::parallel_for(
      "psgm::sde::check_finite", Kokkos::RangePolicy<ExecSpace>(space, 0, batch), KOKKOS_LAMBDA(int b) {
        bool finite = true;
        for (std::int64_t i = 0; i < d; ++i) finite = finite && math::isfinite(double(xp[b * d + i]));
        if (!finite && status(b) == SolveStatus::ok) status(b) = SolveStatus::non_finite;
      });
}

/// The number of samples whose status is not ok. Reducing into a host scalar
/// waits for everything launched on `space` before it.
template <class ExecSpace, class StatusView>
std::int64_t count_failed(ExecSpace const& space, StatusView const& status, int batch) {
  std::int64_t failed = 0;
  Kokkos::parallel_reduce(
      "psgm::sde::count_failed", Kokkos::RangePolicy<ExecSpace>(space, 0, batch),
      KOKKOS_LAMBDA(int b, std::int64_t& n) { n += status(b) == SolveStatus::ok ? 0 : 1; }, failed);
  return failed;
}

}  // namespace Impl
}  // namespace sde
}  // namespace psgm

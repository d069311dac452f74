// Register-blocked CPU micro-kernels of the native score backend; see
// include/psgm/score/impl/NativeHostKernels.hpp for what each computes and
// docs/native_backend.md for the measurements behind the choices.
//
// Written once with GCC/Clang vector extensions (portable across ISAs, no
// intrinsics) and compiled three times with function-level target
// attributes: AVX-512 (64-byte vectors, a 6 x 4-vector accumulator tile in
// 24 of the 32 zmm registers), AVX2+FMA (32-byte vectors, 6 x 2 tile) and the
// compiler's baseline (16-byte vectors). The CPU is probed once and the best
// variant is called through a function pointer, as oneDNN and LibTorch do,
// so a default-flags build of psgm still runs at the speed of the machine.
// This translation unit is compiled with -ffp-contract=fast so that the
// multiply-adds become FMAs.
#include <psgm/core/impl/HostIsa.hpp>  // PSGM_HOST_SIMD, PSGM_TARGET_*, the CPU probe
#include <psgm/score/impl/NativeHostKernels.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>

namespace psgm {
namespace score {
namespace Impl {
namespace native_host {

namespace {

using idx_t = std::ptrdiff_t;

#if PSGM_HOST_SIMD

#define PSGM_INLINE inline __attribute__((always_inline))

/// A vector of VB bytes of T, with unaligned, aliasing-safe loads and stores.
template <class T, int VB>
struct Simd {
  typedef T type __attribute__((vector_size(VB)));
  typedef T unaligned __attribute__((vector_size(VB), aligned(alignof(T)), may_alias));
  static constexpr int lanes = VB / static_cast<int>(sizeof(T));
  static PSGM_INLINE type load(T const* p) { return *reinterpret_cast<unaligned const*>(p); }
  static PSGM_INLINE void store(T* p, type v) { *reinterpret_cast<unaligned*>(p) = v; }
  static PSGM_INLINE type splat(T s) { return type{} + s; }
};

template <class T>
struct ExpTraits;
template <>
struct ExpTraits<float> {
  using int_type = std::int32_t;
  static constexpr float lo = -87.3f, hi = 88.7f;
  static constexpr float shifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  static constexpr int mantissa_bits = 23, bias = 127;
};
template <>
struct ExpTraits<double> {
  using int_type = std::int64_t;
  static constexpr double lo = -708.0, hi = 709.0;
  static constexpr double shifter = 6755399441055744.0;  // 1.5 * 2^52
  static constexpr int mantissa_bits = 52, bias = 1023;
};

/// exp on every lane: x = n ln2 + r, |r| <= ln2/2, exp(x) = 2^n p(r) with
/// Cephes' minimax polynomial (float, < 2 ulp) or the Taylor series to r^13
/// (double, truncation < 1e-17). Arguments are clamped to the finite range.
template <class T, int VB>
PSGM_INLINE typename Simd<T, VB>::type vexp(typename Simd<T, VB>::type x) {
  using S = Simd<T, VB>;
  using V = typename S::type;
  using E = ExpTraits<T>;
  typedef typename E::int_type I __attribute__((vector_size(VB)));
  x = x < S::splat(E::lo) ? S::splat(E::lo) : x;
  x = x > S::splat(E::hi) ? S::splat(E::hi) : x;
  V const t = x * T(1.4426950408889634074) + E::shifter;  // n + shifter, rounded to nearest
  V const n = t - E::shifter;
  V r = x - n * T(0.693145751953125);  // ln 2, split in two so that n ln2_hi is exact
  r = r - n * T(1.428606820309417232e-06);
  V p;
  if constexpr (sizeof(T) == 4) {
    p = S::splat(T(1.9875691500e-4));
    p = p * r + T(1.3981999507e-3);
    p = p * r + T(8.3334519073e-3);
    p = p * r + T(4.1665795894e-2);
    p = p * r + T(1.6666665459e-1);
    p = p * r + T(5.0000001201e-1);
    p = p * (r * r) + r + T(1);
  } else {
    p = S::splat(T(1.0 / 6227020800.0));
    p = p * r + T(1.0 / 479001600.0);
    p = p * r + T(1.0 / 39916800.0);
    p = p * r + T(1.0 / 3628800.0);
    p = p * r + T(1.0 / 362880.0);
    p = p * r + T(1.0 / 40320.0);
    p = p * r + T(1.0 / 5040.0);
    p = p * r + T(1.0 / 720.0);
    p = p * r + T(1.0 / 120.0);
    p = p * r + T(1.0 / 24.0);
    p = p * r + T(1.0 / 6.0);
    p = p * r + T(0.5);
    p = p * r + T(1);
    p = p * r + T(1);
  }
  // 2^n from the integer n held in the low mantissa bits of t.
  I const ni = (I)t - (I)S::splat(E::shifter);
  I const bits = (ni + E::bias) << E::mantissa_bits;
  return p * (V)bits;
}

template <class T, int VB>
PSGM_INLINE typename Simd<T, VB>::type vsigmoid(typename Simd<T, VB>::type x) {
  return T(1) / (T(1) + vexp<T, VB>(-x));
}

// ------------------------------------------------------------------ gemm tiles
template <class T, int VB, int RR, int NV>
PSGM_INLINE void gemm_rows_tile(int K, int I, T const* a, idx_t lda, int const* idx, T const* b, idx_t ldk, idx_t ldb,
                                T* c, idx_t ldc) {
  using S = Simd<T, VB>;
  using V = typename S::type;
  constexpr int L = S::lanes;
  V acc[RR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < RR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v] = V{};
  for (int k = 0; k < K; ++k) {
    T const* ar[RR];
#pragma GCC unroll 8
    for (int r = 0; r < RR; ++r) ar[r] = a + (idx ? idx[r * K + k] : (r * K + k)) * lda;
    T const* bk = b + k * ldk;
    for (int i = 0; i < I; ++i) {
      V bv[NV];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) bv[v] = S::load(bk + i * ldb + v * L);
#pragma GCC unroll 8
      for (int r = 0; r < RR; ++r) {
        T const s = ar[r][i];
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc[r][v] += s * bv[v];
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < RR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) S::store(c + r * ldc + v * L, acc[r][v]);
}

template <class T, int VB, int RR, int NV>
PSGM_INLINE void gemm_outer_tile(int Sn, T const* a, idx_t lda, int const* idx, T const* b, idx_t ldb, T* c,
                                 idx_t ldc) {
  using S = Simd<T, VB>;
  using V = typename S::type;
  constexpr int L = S::lanes;
  V acc[RR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < RR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v] = S::load(c + r * ldc + v * L);
  for (int s = 0; s < Sn; ++s) {
    T const* as = a + (idx ? idx[s] : s) * lda;
    V bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bv[v] = S::load(b + s * ldb + v * L);
#pragma GCC unroll 8
    for (int r = 0; r < RR; ++r) {
      T const ar = as[r];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] += ar * bv[v];
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < RR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) S::store(c + r * ldc + v * L, acc[r][v]);
}

// Column loop: full tiles of NV vectors, then one narrower tail tile.
template <class T, int VB, int RR, int NV>
PSGM_INLINE void gemm_rows_cols(int K, int I, T const* a, idx_t lda, int const* idx, T const* b, idx_t ldk,
                                idx_t ldb, int width, T* c, idx_t ldc) {
  constexpr int L = Simd<T, VB>::lanes;
  int o = 0;
  for (; o + NV * L <= width; o += NV * L) gemm_rows_tile<T, VB, RR, NV>(K, I, a, lda, idx, b + o, ldk, ldb, c + o, ldc);
  int const tail = (width - o) / L;
  if constexpr (NV > 1) {
    if (tail == 1) gemm_rows_tile<T, VB, RR, 1>(K, I, a, lda, idx, b + o, ldk, ldb, c + o, ldc);
  }
  if constexpr (NV > 2) {
    if (tail == 2) gemm_rows_tile<T, VB, RR, 2>(K, I, a, lda, idx, b + o, ldk, ldb, c + o, ldc);
  }
  if constexpr (NV > 3) {
    if (tail == 3) gemm_rows_tile<T, VB, RR, 3>(K, I, a, lda, idx, b + o, ldk, ldb, c + o, ldc);
  }
}

template <class T, int VB, int RR, int NV>
PSGM_INLINE void gemm_outer_cols(int Sn, T const* a, idx_t lda, int const* idx, T const* b, idx_t ldb, int width, T* c,
                                 idx_t ldc) {
  constexpr int L = Simd<T, VB>::lanes;
  int o = 0;
  for (; o + NV * L <= width; o += NV * L) gemm_outer_tile<T, VB, RR, NV>(Sn, a, lda, idx, b + o, ldb, c + o, ldc);
  int const tail = (width - o) / L;
  if constexpr (NV > 1) {
    if (tail == 1) gemm_outer_tile<T, VB, RR, 1>(Sn, a, lda, idx, b + o, ldb, c + o, ldc);
  }
  if constexpr (NV > 2) {
    if (tail == 2) gemm_outer_tile<T, VB, RR, 2>(Sn, a, lda, idx, b + o, ldb, c + o, ldc);
  }
  if constexpr (NV > 3) {
    if (tail == 3) gemm_outer_tile<T, VB, RR, 3>(Sn, a, lda, idx, b + o, ldb, c + o, ldc);
  }
}

// Row count dispatch: the tile shapes are compile-time constants.
template <class T, int VB, int NV>
PSGM_INLINE void gemm_rows_impl(int rows, int K, int I, T const* a, idx_t lda, int const* idx, T const* b, idx_t ldk,
                                idx_t ldb, int width, T* c, idx_t ldc) {
  switch (rows) {
    case 6: gemm_rows_cols<T, VB, 6, NV>(K, I, a, lda, idx, b, ldk, ldb, width, c, ldc); break;
    case 5: gemm_rows_cols<T, VB, 5, NV>(K, I, a, lda, idx, b, ldk, ldb, width, c, ldc); break;
    case 4: gemm_rows_cols<T, VB, 4, NV>(K, I, a, lda, idx, b, ldk, ldb, width, c, ldc); break;
    case 3: gemm_rows_cols<T, VB, 3, NV>(K, I, a, lda, idx, b, ldk, ldb, width, c, ldc); break;
    case 2: gemm_rows_cols<T, VB, 2, NV>(K, I, a, lda, idx, b, ldk, ldb, width, c, ldc); break;
    case 1: gemm_rows_cols<T, VB, 1, NV>(K, I, a, lda, idx, b, ldk, ldb, width, c, ldc); break;
    default: break;
  }
}

template <class T, int VB, int NV>
PSGM_INLINE void gemm_outer_impl(int rows, int Sn, T const* a, idx_t lda, int const* idx, T const* b, idx_t ldb,
                                 int width, T* c, idx_t ldc) {
  switch (rows) {
    case 6: gemm_outer_cols<T, VB, 6, NV>(Sn, a, lda, idx, b, ldb, width, c, ldc); break;
    case 5: gemm_outer_cols<T, VB, 5, NV>(Sn, a, lda, idx, b, ldb, width, c, ldc); break;
    case 4: gemm_outer_cols<T, VB, 4, NV>(Sn, a, lda, idx, b, ldb, width, c, ldc); break;
    case 3: gemm_outer_cols<T, VB, 3, NV>(Sn, a, lda, idx, b, ldb, width, c, ldc); break;
    case 2: gemm_outer_cols<T, VB, 2, NV>(Sn, a, lda, idx, b, ldb, width, c, ldc); break;
    case 1: gemm_outer_cols<T, VB, 1, NV>(Sn, a, lda, idx, b, ldb, width, c, ldc); break;
    default: break;
  }
}

// ------------------------------------------------------------------ epilogues
template <class T, int VB>
PSGM_INLINE void film_silu_impl(int rows, int width, T const* c, idx_t ldc, T const* bias, T const* gamma,
                                T const* beta, T* pre, T* out, T const* residual, idx_t ld) {
  using S = Simd<T, VB>;
  using V = typename S::type;
  for (int o = 0; o < width; o += S::lanes) {
    V const bo = S::load(bias + o), g1 = S::load(gamma + o) + T(1), be = S::load(beta + o);
    for (int r = 0; r < rows; ++r) {
      V const a = S::load(c + r * ldc + o) + bo;
      if (pre) S::store(pre + r * ld + o, a);
      V const p = a * g1 + be;
      V y = p * vsigmoid<T, VB>(p);
      if (residual) y += S::load(residual + r * ld + o);
      S::store(out + r * ld + o, y);
    }
  }
}

template <class T, int VB>
PSGM_INLINE void bias_act_impl(int rows, int width, T const* c, idx_t ldc, T const* bias, bool silu, T* pre, T* out,
                               idx_t ld) {
  using S = Simd<T, VB>;
  using V = typename S::type;
  for (int o = 0; o < width; o += S::lanes) {
    V const bo = S::load(bias + o);
    for (int r = 0; r < rows; ++r) {
      V const q = S::load(c + r * ldc + o) + bo;
      if (pre) S::store(pre + r * ld + o, q);
      S::store(out + r * ld + o, silu ? q * vsigmoid<T, VB>(q) : q);
    }
  }
}

template <class T, int VB>
PSGM_INLINE void film_silu_backward_impl(int rows, int width, T const* dy, idx_t lddy, T const* a, T const* gamma,
                                         T const* beta, T* da, T* dgamma, T* dbeta, idx_t ld) {
  using S = Simd<T, VB>;
  using V = typename S::type;
  for (int o = 0; o < width; o += S::lanes) {
    V const g1 = S::load(gamma + o) + T(1), be = S::load(beta + o);
    V dg = S::load(dgamma + o), db = S::load(dbeta + o);
    for (int r = 0; r < rows; ++r) {
      V const av = S::load(a + r * ld + o);
      V const p = av * g1 + be;
      V const sg = vsigmoid<T, VB>(p);
      V const dp = S::load(dy + r * lddy + o) * (sg * (T(1) + p * (T(1) - sg)));
      dg += dp * av;
      db += dp;
      S::store(da + r * ld + o, dp * g1);
    }
    S::store(dgamma + o, dg);
    S::store(dbeta + o, db);
  }
}

template <class T, int VB>
PSGM_INLINE void silu_backward_impl(int rows, int width, T const* dy, idx_t lddy, T const* q, T* dq, idx_t ld) {
  using S = Simd<T, VB>;
  using V = typename S::type;
  for (int r = 0; r < rows; ++r)
    for (int o = 0; o < width; o += S::lanes) {
      V const qv = S::load(q + r * ld + o);
      V const sg = vsigmoid<T, VB>(qv);
      S::store(dq + r * ld + o, S::load(dy + r * lddy + o) * (sg * (T(1) + qv * (T(1) - sg))));
    }
}

// ------------------------------------------------------------------ ISA variants
// One set of entry points per instruction set; PSGM_ISA_VARIANT stamps them.
#define PSGM_ISA_VARIANT(NAME, ATTR, VB, NV)                                                                        \
  template <class T>                                                                                               \
  ATTR void gemm_rows_##NAME(int rows, int K, int I, T const* a, idx_t lda, int const* idx, T const* b, idx_t ldk, \
                             idx_t ldb, int width, T* c, idx_t ldc) {                                              \
    gemm_rows_impl<T, VB, NV>(rows, K, I, a, lda, idx, b, ldk, ldb, width, c, ldc);                               \
  }                                                                                                                \
  template <class T>                                                                                               \
  ATTR void gemm_outer_##NAME(int rows, int Sn, T const* a, idx_t lda, int const* idx, T const* b, idx_t ldb,      \
                              int width, T* c, idx_t ldc) {                                                        \
    gemm_outer_impl<T, VB, NV>(rows, Sn, a, lda, idx, b, ldb, width, c, ldc);                                      \
  }                                                                                                                \
  template <class T>                                                                                               \
  ATTR void film_silu_##NAME(int rows, int width, T const* c, idx_t ldc, T const* bias, T const* gamma,            \
                             T const* beta, T* pre, T* out, T const* residual, idx_t ld) {                         \
    film_silu_impl<T, VB>(rows, width, c, ldc, bias, gamma, beta, pre, out, residual, ld);                         \
  }                                                                                                                \
  template <class T>                                                                                               \
  ATTR void bias_act_##NAME(int rows, int width, T const* c, idx_t ldc, T const* bias, bool silu, T* pre, T* out,  \
                            idx_t ld) {                                                                            \
    bias_act_impl<T, VB>(rows, width, c, ldc, bias, silu, pre, out, ld);                                           \
  }                                                                                                                \
  template <class T>                                                                                               \
  ATTR void film_silu_backward_##NAME(int rows, int width, T const* dy, idx_t lddy, T const* a, T const* gamma,    \
                                      T const* beta, T* da, T* dgamma, T* dbeta, idx_t ld) {                       \
    film_silu_backward_impl<T, VB>(rows, width, dy, lddy, a, gamma, beta, da, dgamma, dbeta, ld);                  \
  }                                                                                                                \
  template <class T>                                                                                               \
  ATTR void silu_backward_##NAME(int rows, int width, T const* dy, idx_t lddy, T const* q, T* dq, idx_t ld) {      \
    silu_backward_impl<T, VB>(rows, width, dy, lddy, q, dq, ld);                                                   \
  }

#if PSGM_HOST_X86
PSGM_ISA_VARIANT(avx512, PSGM_TARGET_AVX512, 64, 4)
PSGM_ISA_VARIANT(avx2, PSGM_TARGET_AVX2, 32, 2)
#endif
PSGM_ISA_VARIANT(baseline, , 16, 2)
#undef PSGM_ISA_VARIANT

using Isa = psgm::Impl::HostIsa;

Isa isa() { return psgm::Impl::host_isa(); }

#if PSGM_HOST_X86
#define PSGM_DISPATCH(FN, ...)                                   \
  switch (isa()) {                                               \
    case Isa::avx512: return FN##_avx512(__VA_ARGS__);           \
    case Isa::avx2: return FN##_avx2(__VA_ARGS__);               \
    default: return FN##_baseline(__VA_ARGS__);                  \
  }
#else
#define PSGM_DISPATCH(FN, ...) return FN##_baseline(__VA_ARGS__);
#endif

#else  // !PSGM_HOST_SIMD: plain loops (compilers without vector extensions)

template <class T>
T sigmoid(T x) {
  return x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
}
template <class T>
void gemm_rows_scalar(int rows, int K, int I, T const* a, idx_t lda, int const* idx, T const* b, idx_t ldk, idx_t ldb,
                      int width, T* c, idx_t ldc) {
  for (int r = 0; r < rows; ++r)
    for (int o = 0; o < width; ++o) c[r * ldc + o] = T(0);
  for (int r = 0; r < rows; ++r)
    for (int k = 0; k < K; ++k) {
      T const* ar = a + (idx ? idx[r * K + k] : (r * K + k)) * lda;
      for (int i = 0; i < I; ++i)
        for (int o = 0; o < width; ++o) c[r * ldc + o] += ar[i] * b[k * ldk + i * ldb + o];
    }
}
template <class T>
void gemm_outer_scalar(int rows, int Sn, T const* a, idx_t lda, int const* idx, T const* b, idx_t ldb, int width, T* c,
                       idx_t ldc) {
  for (int s = 0; s < Sn; ++s) {
    T const* as = a + (idx ? idx[s] : s) * lda;
    for (int r = 0; r < rows; ++r)
      for (int o = 0; o < width; ++o) c[r * ldc + o] += as[r] * b[s * ldb + o];
  }
}
#endif

}  // namespace

char const* isa_name() {
#if PSGM_HOST_SIMD
  switch (isa()) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "baseline";
  }
#else
  return "scalar";
#endif
}

#if PSGM_HOST_SIMD
#define PSGM_DEFINE_FOR(T)                                                                                          \
  void gemm_rows(int rows, int K, int I, T const* a, idx_t lda, int const* idx, T const* b, idx_t ldk, idx_t ldb,   \
                 int width, T* c, idx_t ldc) {                                                                     \
    PSGM_DISPATCH(gemm_rows, rows, K, I, a, lda, idx, b, ldk, ldb, width, c, ldc)                                  \
  }                                                                                                                \
  void gemm_outer_acc(int rows, int Sn, T const* a, idx_t lda, int const* idx, T const* b, idx_t ldb, int width,    \
                      T* c, idx_t ldc) {                                                                           \
    PSGM_DISPATCH(gemm_outer, rows, Sn, a, lda, idx, b, ldb, width, c, ldc)                                        \
  }                                                                                                                \
  void film_silu(int rows, int width, T const* c, idx_t ldc, T const* bias, T const* gamma, T const* beta, T* pre, \
                 T* out, T const* residual, idx_t ld) {                                                            \
    PSGM_DISPATCH(film_silu, rows, width, c, ldc, bias, gamma, beta, pre, out, residual, ld)                       \
  }                                                                                                                \
  void bias_act(int rows, int width, T const* c, idx_t ldc, T const* bias, bool silu, T* pre, T* out, idx_t ld) {  \
    PSGM_DISPATCH(bias_act, rows, width, c, ldc, bias, silu, pre, out, ld)                                         \
  }                                                                                                                \
  void film_silu_backward(int rows, int width, T const* dy, idx_t lddy, T const* a, T const* gamma, T const* beta,  \
                          T* da, T* dgamma, T* dbeta, idx_t ld) {                                                  \
    PSGM_DISPATCH(film_silu_backward, rows, width, dy, lddy, a, gamma, beta, da, dgamma, dbeta, ld)                \
  }                                                                                                                \
  void silu_backward(int rows, int width, T const* dy, idx_t lddy, T const* q, T* dq, idx_t ld) {                   \
    PSGM_DISPATCH(silu_backward, rows, width, dy, lddy, q, dq, ld)                                                 \
  }
#else
#define PSGM_DEFINE_FOR(T)                                                                                          \
  void gemm_rows(int rows, int K, int I, T const* a, idx_t lda, int const* idx, T const* b, idx_t ldk, idx_t ldb,   \
                 int width, T* c, idx_t ldc) {                                                                     \
    gemm_rows_scalar(rows, K, I, a, lda, idx, b, ldk, ldb, width, c, ldc);                                         \
  }                                                                                                                \
  void gemm_outer_acc(int rows, int Sn, T const* a, idx_t lda, int const* idx, T const* b, idx_t ldb, int width,    \
                      T* c, idx_t ldc) {                                                                           \
    gemm_outer_scalar(rows, Sn, a, lda, idx, b, ldb, width, c, ldc);                                               \
  }                                                                                                                \
  void film_silu(int rows, int width, T const* c, idx_t ldc, T const* bias, T const* gamma, T const* beta, T* pre, \
                 T* out, T const* residual, idx_t ld) {                                                            \
    for (int r = 0; r < rows; ++r)                                                                                 \
      for (int o = 0; o < width; ++o) {                                                                            \
        T const av = c[r * ldc + o] + bias[o];                                                                     \
        if (pre) pre[r * ld + o] = av;                                                                             \
        T const p = av * (T(1) + gamma[o]) + beta[o];                                                              \
        T const y = p * sigmoid(p);                                                                                \
        out[r * ld + o] = residual ? residual[r * ld + o] + y : y;                                                 \
      }                                                                                                            \
  }                                                                                                                \
  void bias_act(int rows, int width, T const* c, idx_t ldc, T const* bias, bool silu, T* pre, T* out, idx_t ld) {  \
    for (int r = 0; r < rows; ++r)                                                                                 \
      for (int o = 0; o < width; ++o) {                                                                            \
        T const q = c[r * ldc + o] + bias[o];                                                                      \
        if (pre) pre[r * ld + o] = q;                                                                              \
        out[r * ld + o] = silu ? q * sigmoid(q) : q;                                                               \
      }                                                                                                            \
  }                                                                                                                \
  void film_silu_backward(int rows, int width, T const* dy, idx_t lddy, T const* a, T const* gamma, T const* beta,  \
                          T* da, T* dgamma, T* dbeta, idx_t ld) {                                                  \
    for (int o = 0; o < width; ++o)                                                                                \
      for (int r = 0; r < rows; ++r) {                                                                             \
        T const av = a[r * ld + o];                                                                                \
        T const p = av * (T(1) + gamma[o]) + beta[o];                                                              \
        T const sg = sigmoid(p);                                                                                   \
        T const dp = dy[r * lddy + o] * sg * (T(1) + p * (T(1) - sg));                                             \
        dgamma[o] += dp * av;                                                                                      \
        dbeta[o] += dp;                                                                                            \
        da[r * ld + o] = dp * (T(1) + gamma[o]);                                                                   \
      }                                                                                                            \
  }                                                                                                                \
  void silu_backward(int rows, int width, T const* dy, idx_t lddy, T const* q, T* dq, idx_t ld) {                   \
    for (int r = 0; r < rows; ++r)                                                                                 \
      for (int o = 0; o < width; ++o) {                                                                            \
        T const qv = q[r * ld + o];                                                                                \
        T const sg = sigmoid(qv);                                                                                  \
        dq[r * ld + o] = dy[r * lddy + o] * sg * (T(1) + qv * (T(1) - sg));                                        \
      }                                                                                                            \
  }
#endif

PSGM_DEFINE_FOR(float)
PSGM_DEFINE_FOR(double)
#undef PSGM_DEFINE_FOR

}  // namespace native_host
}  // namespace Impl
}  // namespace score
}  // namespace psgm

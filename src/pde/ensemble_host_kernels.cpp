// Host pack kernels of the ensemble solver; see
// include/psgm/pde/impl/EnsembleHostKernels.hpp for what each computes and
// docs/performance.md ("Ensemble solver") for the measurements behind them.
//
// Written once on `Pack<VB, W>`, W realisations held in W·8/VB native vectors
// of VB bytes (GCC/Clang vector extensions, no intrinsics), and compiled three
// times with function-level target attributes: AVX-512 (VB = 64), AVX2+FMA
// (32) and the compiler's baseline (16, SSE2 on x86-64). Every per-cell
// operation of docs/model.md is one vector operation per native vector, so
// a pack's W recurrences (Thomas sweeps, block Thomas, Newton) advance in
// lockstep, each lane exactly the computation of one realisation. The CPU is
// probed once (psgm/core/impl/HostIsa.hpp, shared with the native score
// backend) and the best variant is called. Compiled with -fno-math-errno (sqrt is one vector instruction; errno
// is never read) and -ffp-contract=off: the linear setup assembles the
// matrices of eqs. 7 and 11 exactly as the independent references do,
// because contracting `κ_w + κ_e + a_s k dx²` into an FMA moves the unshifted
// potential by 1e-12 (measured; the reaction term is 1e-7 of the diagonal).
// The sweeps and the Butler–Volmer Newton, where FMAs are both faster and
// harmless (measured: 1e-16 against the dense reference), are compiled with
// contraction (PSGM_PDE_CONTRACT).
#include <psgm/pde/impl/EnsembleHostKernels.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#if PSGM_HOST_SIMD
#define PSGM_PDE_INLINE inline __attribute__((always_inline))
#define PSGM_PDE_NOINLINE __attribute__((noinline))
#define PSGM_PDE_UNROLL _Pragma("GCC unroll 16")
#define PSGM_PDE_LAMBDA_INLINE __attribute__((always_inline))
#else
#define PSGM_PDE_INLINE inline
#define PSGM_PDE_NOINLINE
#define PSGM_PDE_UNROLL
#define PSGM_PDE_LAMBDA_INLINE
#endif

// FMA contraction for one function and what is inlined into it: GCC's
// optimize attribute (the function's own -ffp-contract); Clang contracts per
// expression, so the pragma goes into the body of the sweeps (the Newton's
// operators stay separate multiplies and adds there).
#if PSGM_HOST_SIMD && !defined(__clang__)
#define PSGM_PDE_CONTRACT __attribute__((optimize("fp-contract=fast")))
#else
#define PSGM_PDE_CONTRACT
#endif
#if defined(__clang__)
#define PSGM_PDE_CONTRACT_BODY _Pragma("clang fp contract(fast)")
#else
#define PSGM_PDE_CONTRACT_BODY
#endif

namespace psgm::pde::Impl::host_packs {

namespace {

// ------------------------------------------------------------------ vectors
/// VB bytes of doubles: a native vector (VB >= 16) or one double (VB = 8).
template <int VB>
struct Simd;

#if PSGM_HOST_SIMD
template <int VB>
struct Simd {
  typedef double V __attribute__((vector_size(VB)));
  typedef double Unaligned __attribute__((vector_size(VB), aligned(alignof(double)), may_alias));
  typedef std::int64_t M __attribute__((vector_size(VB)));
  static constexpr int lanes = VB / 8;
  static PSGM_PDE_INLINE V load(double const* p) { return *reinterpret_cast<Unaligned const*>(p); }
  static PSGM_PDE_INLINE void store(double* p, V v) { *reinterpret_cast<Unaligned*>(p) = v; }
  static PSGM_PDE_INLINE V splat(double s) { return V{} + s; }
  // As a conditional: GCC then emits a vector compare and a masked move; a
  // bare `a < b` kept in a mask variable was measured lane by lane (vcomisd)
  // in the AVX-512 Newton.
#if defined(__clang__)
  static PSGM_PDE_INLINE M lt(V a, V b) { return a < b; }
  static PSGM_PDE_INLINE M le(V a, V b) { return a <= b; }
#else
  static PSGM_PDE_INLINE M lt(V a, V b) { return a < b ? M{} - 1 : M{}; }
  static PSGM_PDE_INLINE M le(V a, V b) { return a <= b ? M{} - 1 : M{}; }
#endif
  static PSGM_PDE_INLINE M true_mask() { return M{} - 1; }
  static PSGM_PDE_INLINE V select(M m, V a, V b) { return (V)((m & (M)a) | (~m & (M)b)); }
  /// `a` as a value the compiler cannot see into. In `t − l y` with t = p δ,
  /// FMA contraction may fuse either product; fusing p δ puts a multiply and
  /// an FMA on the chain through y (7 cycles a cell instead of 4: measured
  /// 62k against 94k realisations/s in the time loop on AVX-512, W = 16).
  /// Hiding t leaves l y as the only product to fuse: one FMA on the chain.
  /// GCC only: Clang checks the asm operand's size against the translation
  /// unit's target, not the function's (a zmm operand is refused), and
  /// decides contraction per expression anyway.
  static PSGM_PDE_INLINE V opaque(V a) {
#if PSGM_HOST_X86 && !defined(__clang__)
    __asm__("" : "+v"(a));
#endif
    return a;
  }
  // Lane access through memory: GCC does not subscript a vector whose size
  // depends on a template parameter; the copies fold away.
  static PSGM_PDE_INLINE V sqrt(V x) {
    double t[lanes];
    std::memcpy(t, &x, sizeof x);
    for (int l = 0; l < lanes; ++l) t[l] = std::sqrt(t[l]);  // one vsqrtpd (-fno-math-errno)
    std::memcpy(&x, t, sizeof x);
    return x;
  }
  /// a b + c with one rounding (vfmadd where the variant has FMA; the
  /// baseline variant never calls it).
  static PSGM_PDE_INLINE V fma(V a, V b, V c) {
    double ta[lanes], tb[lanes], tc[lanes];
    std::memcpy(ta, &a, sizeof a);
    std::memcpy(tb, &b, sizeof b);
    std::memcpy(tc, &c, sizeof c);
    for (int l = 0; l < lanes; ++l) ta[l] = std::fma(ta[l], tb[l], tc[l]);
    std::memcpy(&a, ta, sizeof a);
    return a;
  }
  static PSGM_PDE_INLINE double get(V v, int l) {
    double t[lanes];
    std::memcpy(t, &v, sizeof v);
    return t[l];
  }
  static PSGM_PDE_INLINE void set(V& v, int l, double s) {
    double t[lanes];
    std::memcpy(t, &v, sizeof v);
    t[l] = s;
    std::memcpy(&v, t, sizeof v);
  }
  static PSGM_PDE_INLINE bool get(M m, int l) {
    std::int64_t t[lanes];
    std::memcpy(t, &m, sizeof m);
    return t[l] != 0;
  }
};
#endif

template <>
struct Simd<8> {
  using V = double;
  using M = std::int64_t;
  static constexpr int lanes = 1;
  static PSGM_PDE_INLINE V load(double const* p) { return *p; }
  static PSGM_PDE_INLINE void store(double* p, V v) { *p = v; }
  static PSGM_PDE_INLINE V splat(double s) { return s; }
  static PSGM_PDE_INLINE M lt(V a, V b) { return a < b ? -1 : 0; }
  static PSGM_PDE_INLINE M le(V a, V b) { return a <= b ? -1 : 0; }
  static PSGM_PDE_INLINE M true_mask() { return -1; }
  static PSGM_PDE_INLINE V select(M m, V a, V b) { return m ? a : b; }
  static PSGM_PDE_INLINE V opaque(V a) { return a; }
  static PSGM_PDE_INLINE V sqrt(V x) { return std::sqrt(x); }
  static PSGM_PDE_INLINE V fma(V a, V b, V c) { return std::fma(a, b, c); }
  static PSGM_PDE_INLINE double get(V v, int) { return v; }
  static PSGM_PDE_INLINE void set(V& v, int, double s) { v = s; }
  static PSGM_PDE_INLINE bool get(M m, int) { return m != 0; }
};

template <int VB, int W>
struct Mask {
  using S = Simd<VB>;
  static constexpr int L = S::lanes, NV = W / L;
  typename S::M m[NV];
  static PSGM_PDE_INLINE Mask all_true() {
    Mask r;
    PSGM_PDE_UNROLL
    for (int k = 0; k < NV; ++k) r.m[k] = S::true_mask();
    return r;
  }
  static PSGM_PDE_INLINE Mask all_false() {
    Mask r;
    PSGM_PDE_UNROLL
    for (int k = 0; k < NV; ++k) r.m[k] = typename S::M{};
    return r;
  }
  friend PSGM_PDE_INLINE Mask operator&(Mask a, Mask const& b) {
    PSGM_PDE_UNROLL
    for (int k = 0; k < NV; ++k) a.m[k] &= b.m[k];
    return a;
  }
  friend PSGM_PDE_INLINE Mask operator|(Mask a, Mask const& b) {
    PSGM_PDE_UNROLL
    for (int k = 0; k < NV; ++k) a.m[k] |= b.m[k];
    return a;
  }
  friend PSGM_PDE_INLINE Mask operator~(Mask a) {
    PSGM_PDE_UNROLL
    for (int k = 0; k < NV; ++k) a.m[k] = ~a.m[k];
    return a;
  }
  PSGM_PDE_INLINE bool lane(int l) const { return S::get(m[l / L], l % L); }
  PSGM_PDE_INLINE bool any() const {
    typename S::M acc = m[0];
    PSGM_PDE_UNROLL
    for (int k = 1; k < NV; ++k) acc |= m[k];
    std::int64_t t[L];
    std::memcpy(t, &acc, sizeof acc);
    std::int64_t o = 0;
    for (int l = 0; l < L; ++l) o |= t[l];
    return o != 0;
  }
};

/// W doubles, one per realisation of a pack, as W/L native vectors.
template <int VB, int W>
struct Pack {
  using S = Simd<VB>;
  using V = typename S::V;
  using MaskT = Mask<VB, W>;
  static constexpr int L = S::lanes, NV = W / L;
  static_assert(W % L == 0, "the pack width must be a multiple of the vector length");
  V v[NV];

  static PSGM_PDE_INLINE Pack load(double const* p) {
    Pack r;
    PSGM_PDE_UNROLL
    for (int k = 0; k < NV; ++k) r.v[k] = S::load(p + k * L);
    return r;
  }
  PSGM_PDE_INLINE void store(double* p) const {
    PSGM_PDE_UNROLL
    for (int k = 0; k < NV; ++k) S::store(p + k * L, v[k]);
  }
  static PSGM_PDE_INLINE Pack splat(double s) {
    Pack r;
    PSGM_PDE_UNROLL
    for (int k = 0; k < NV; ++k) r.v[k] = S::splat(s);
    return r;
  }
  PSGM_PDE_INLINE double lane(int l) const { return S::get(v[l / L], l % L); }
  PSGM_PDE_INLINE void set_lane(int l, double s) { S::set(v[l / L], l % L, s); }

#define PSGM_PDE_PACK_BINARY(OP)                                                  \
  friend PSGM_PDE_INLINE Pack operator OP(Pack a, Pack const& b) {                \
    PSGM_PDE_UNROLL                                                               \
    for (int k = 0; k < NV; ++k) a.v[k] = a.v[k] OP b.v[k];                       \
    return a;                                                                     \
  }                                                                               \
  friend PSGM_PDE_INLINE Pack operator OP(Pack a, double b) {                     \
    PSGM_PDE_UNROLL                                                               \
    for (int k = 0; k < NV; ++k) a.v[k] = a.v[k] OP b;                            \
    return a;                                                                     \
  }                                                                               \
  friend PSGM_PDE_INLINE Pack operator OP(double a, Pack b) {                     \
    PSGM_PDE_UNROLL                                                               \
    for (int k = 0; k < NV; ++k) b.v[k] = a OP b.v[k];                            \
    return b;                                                                     \
  }                                                                               \
  PSGM_PDE_INLINE Pack& operator OP##=(Pack const& b) { return *this = *this OP b; }
  PSGM_PDE_PACK_BINARY(+)
  PSGM_PDE_PACK_BINARY(-)
  PSGM_PDE_PACK_BINARY(*)
  PSGM_PDE_PACK_BINARY(/)
#undef PSGM_PDE_PACK_BINARY
  friend PSGM_PDE_INLINE Pack operator-(Pack a) {
    PSGM_PDE_UNROLL
    for (int k = 0; k < NV; ++k) a.v[k] = -a.v[k];
    return a;
  }
  friend PSGM_PDE_INLINE MaskT operator<(Pack const& a, Pack const& b) {
    MaskT r;
    PSGM_PDE_UNROLL
    for (int k = 0; k < NV; ++k) r.m[k] = S::lt(a.v[k], b.v[k]);
    return r;
  }
  friend PSGM_PDE_INLINE MaskT operator<=(Pack const& a, Pack const& b) {
    MaskT r;
    PSGM_PDE_UNROLL
    for (int k = 0; k < NV; ++k) r.m[k] = S::le(a.v[k], b.v[k]);
    return r;
  }
  friend PSGM_PDE_INLINE MaskT operator>(Pack const& a, Pack const& b) { return b < a; }
  /// m ? a : b, lane by lane.
  friend PSGM_PDE_INLINE Pack select(MaskT const& m, Pack const& a, Pack const& b) {
    Pack r;
    PSGM_PDE_UNROLL
    for (int k = 0; k < NV; ++k) r.v[k] = S::select(m.m[k], a.v[k], b.v[k]);
    return r;
  }
  friend PSGM_PDE_INLINE Pack sqrt(Pack a) {
    PSGM_PDE_UNROLL
    for (int k = 0; k < NV; ++k) a.v[k] = S::sqrt(a.v[k]);
    return a;
  }
  friend PSGM_PDE_INLINE Pack fma(Pack a, Pack const& b, Pack const& c) {
    PSGM_PDE_UNROLL
    for (int k = 0; k < NV; ++k) a.v[k] = S::fma(a.v[k], b.v[k], c.v[k]);
    return a;
  }
  /// Whether any lane is > 0 (NaN lanes are not): the lanes' maximum, then
  /// a scalar test per lane of one vector (no mask leaves a select: GCC
  /// was measured to build escaping AVX-512 comparison masks lane by lane).
  friend PSGM_PDE_INLINE bool any_positive(Pack const& a) {
    V m = a.v[0];
    PSGM_PDE_UNROLL
    for (int k = 1; k < NV; ++k) m = S::select(S::lt(m, a.v[k]), a.v[k], m);
    double t[L];
    std::memcpy(t, &m, sizeof m);
    bool any = false;
    for (int l = 0; l < L; ++l) any = any || t[l] > 0;
    return any;
  }
  friend PSGM_PDE_INLINE Pack min(Pack const& a, Pack const& b) { return select(b < a, b, a); }
  friend PSGM_PDE_INLINE Pack max(Pack const& a, Pack const& b) { return select(a < b, b, a); }
  friend PSGM_PDE_INLINE Pack abs(Pack const& a) { return select(a < splat(0.0), -a, a); }
  /// Lanes whose value is finite: x − x is 0 for finite x and NaN otherwise,
  /// and NaN < 1 is false. (An ordered `<`, which GCC keeps in vector
  /// registers; its vector `==` was measured to go lane by lane.)
  friend PSGM_PDE_INLINE MaskT isfinite(Pack const& a) {
    MaskT r;
    Pack const d = a - a;
    PSGM_PDE_UNROLL
    for (int k = 0; k < NV; ++k) r.m[k] = S::lt(d.v[k], S::splat(1.0));
    return r;
  }
};

#if PSGM_HOST_SIMD
/// The range reduction of exp and exp_pair below: x, clamped to [−708, hi]
/// (NaN passes the clamps unchanged and gives NaN), as n ln 2 + r with
/// |r| <= ln2/2; ln 2 is split in two so that n ln2_hi is exact, and n is
/// read from the bits of x/ln2 + 1.5·2^52.
template <int VB>
struct Ln2Reduction {
  using S = Simd<VB>;
  using V = typename S::V;
  typedef std::int64_t I __attribute__((vector_size(VB)));
  static constexpr double shifter = 6755399441055744.0;  // 1.5 * 2^52: adding it rounds to an integer
  I n;
  V r;

  static PSGM_PDE_INLINE Ln2Reduction of(V xv, double hi) {
    xv = S::select(S::lt(xv, S::splat(-708.0)), S::splat(-708.0), xv);
    xv = S::select(S::lt(S::splat(hi), xv), S::splat(hi), xv);
    V const t = xv * 1.4426950408889634074 + shifter;
    V const nd = t - shifter;
    V r = xv - nd * 0.693145751953125;
    r = r - nd * 1.428606820309417232e-06;
    return {(I)t - (I)S::splat(shifter), r};
  }
  /// p 2^n and p 2^−n by adding ±n to p's exponent field (an integer add
  /// instead of a multiply): exact, and equal to the products, where p and
  /// the result are normal — so for p in [1/2, 2] and x within the clamps.
  PSGM_PDE_INLINE V times_two_to_n(V p) const { return (V)((I)p + (n << 52)); }
  PSGM_PDE_INLINE V times_two_to_minus_n(V p) const { return (V)((I)p - (n << 52)); }
};
#endif

/// exp on every lane: x = n ln2 + r, |r| <= ln2/2, exp(x) = 2^n p(r) with the
/// Taylor series of e^r to r^13 (truncation < 1e-17 relative), the
/// algorithm of the native score backend's vexp (src/score/native_host_kernels.cpp).
/// Arguments are clamped to [-708, 709] (exp stays finite and normal); an
/// overflowing exponential is caught where it matters, by the Newton's
/// finiteness checks on the residual.
template <int VB, int W>
PSGM_PDE_INLINE Pack<VB, W> exp(Pack<VB, W> x) {
  using Pk = Pack<VB, W>;
#if !PSGM_HOST_SIMD
  for (int k = 0; k < Pk::NV; ++k) x.v[k] = std::exp(x.v[k]);
  return x;
#else
  if constexpr (VB == 8) {
    for (int k = 0; k < Pk::NV; ++k) x.v[k] = std::exp(x.v[k]);
    return x;
  } else {
    using S = Simd<VB>;
    using V = typename S::V;
    PSGM_PDE_UNROLL
    for (int k = 0; k < Pk::NV; ++k) {
      auto const red = Ln2Reduction<VB>::of(x.v[k], 709.0);
      V const r = red.r;
      V p = S::splat(1.0 / 6227020800.0);
      p = p * r + 1.0 / 479001600.0;
      p = p * r + 1.0 / 39916800.0;
      p = p * r + 1.0 / 3628800.0;
      p = p * r + 1.0 / 362880.0;
      p = p * r + 1.0 / 40320.0;
      p = p * r + 1.0 / 5040.0;
      p = p * r + 1.0 / 720.0;
      p = p * r + 1.0 / 120.0;
      p = p * r + 1.0 / 24.0;
      p = p * r + 1.0 / 6.0;
      p = p * r + 0.5;
      p = p * r + 1.0;
      p = p * r + 1.0;
      x.v[k] = red.times_two_to_n(p);  // p = e^r in [0.7, 1.5]
    }
    return x;
  }
#endif
}

/// exp(x) and exp(−x) on every lane from one range reduction: with x = n ln2
/// + r, e^x = 2^n p(r) and e^−x = 2^−n p(−r), p(±r) = E(r²) ± r O(r²), E
/// and O of degree 5 in r² (five FMAs each, where two exps take 26): the
/// near-minimax (Chebyshev) fits of cosh √s and sinh √s / √s on
/// s ∈ [0, (ln2/2)²] (mpmath chebyfit, errors 3.1e-18 and 2.4e-19), where the
/// even and odd halves of exp's Taylor series needed degree 6. Against
/// binary128 exp over 2·10^7 arguments (3/4 in [−40, 40], 1/4 in [−700,
/// 700]): at most 2.32 ulp, mean 0.455 ulp, against 2.28 and 0.454 with the
/// Taylor halves (the range reduction and the final rounding dominate).
/// Arguments are clamped to [−708, 708], so both results stay finite and
/// normal. The pair of exponentials of eq. 14 when α_a = α_c (the
/// defaults).
template <int VB, int W>
PSGM_PDE_INLINE void exp_pair(Pack<VB, W> x, Pack<VB, W>& ep, Pack<VB, W>& em) {
#if PSGM_HOST_SIMD
  if constexpr (VB != 8) {
    using Pk = Pack<VB, W>;
    using S = Simd<VB>;
    using V = typename S::V;
    PSGM_PDE_UNROLL
    for (int k = 0; k < Pk::NV; ++k) {
      auto const red = Ln2Reduction<VB>::of(x.v[k], 708.0);
      V const r = red.r;
      V const r2 = r * r;
      V e = S::splat(2.763263963904103e-07), o = S::splat(2.5110037605963777e-08);
      e = e * r2 + 2.4801485482328494e-05;
      o = o * r2 + 2.755724091857897e-06;
      e = e * r2 + 0.0013888888952314775;
      o = o * r2 + 0.00019841269890047113;
      e = e * r2 + 0.0416666666664881;
      o = o * r2 + 0.008333333333319601;
      e = e * r2 + 0.5000000000000019;
      o = o * r2 + 0.1666666666666668;
      e = e * r2 + 1.0;
      o = o * r2 + 1.0;
      V const ro = r * o;
      ep.v[k] = red.times_two_to_n(e + ro);  // e ± r o = e^{±r} in [0.7, 1.5]
      em.v[k] = red.times_two_to_minus_n(e - ro);
    }
    return;
  }
#endif
  ep = exp(x);
  em = exp(-x);
}

/// x^{3/2}, correctly rounded but for x within ~2^-50 of a rounding
/// boundary: sqrt(x) = s + r/(2s) with r = x − s² exact (an FMA), the
/// product x s exact as p + e (an FMA), then one rounding of
/// p + (e + x r/(2s)). Against glibc's pow (not correctly rounded): equal in
/// 99.915 % of 2^24 uniform x in [0.01, 1]; in every other case this one was
/// the closer to the exact value (checked in binary128). x = 0 gives 0.
template <int VB, int W>
PSGM_PDE_INLINE Pack<VB, W> power_three_halves(Pack<VB, W> const& x) {
  using Pk = Pack<VB, W>;
  Pk const s = sqrt(x);
  Pk const r = fma(-s, s, x);
  Pk const p = x * s;
  Pk const e = fma(x, s, -p);
  return select(Pk::splat(0.0) < s, p + (e + x * (r / (s + s))), p);
}

/// x^b for x > 0: the Bruggeman power ε^b (eq. 5) must round as the
/// independent references do (std::pow in tests/pde/DenseReference.hpp,
/// numpy's ** in python/psgm/reference_pde.py). x·sqrt(x) for b = 1.5
/// differs from pow by an ulp in a quarter of the cells, and the potential of
/// eq. 7 (a Neumann Laplacian plus a reaction term 1e-7 of it) turns that
/// into 1e-12 of the unshifted φ and 1e-11 of a depleted steady c
/// (measured): above the tests' tolerance. So b = 1.5 (the default) takes
/// power_three_halves where the variant has FMA (AVX2, AVX-512: a few vector
/// operations), every other case std::pow lane by lane (~20–30 ns per cell
/// and realisation, as much as the rest of the setup; a fifth of the whole
/// reference solve once the time loop was fast).
template <int VB, int W>
PSGM_PDE_INLINE Pack<VB, W> power(Pack<VB, W> const& x, double b) {
  if constexpr (VB >= 32)
    if (b == 1.5) return power_three_halves(x);
  Pack<VB, W> r;
  for (int l = 0; l < W; ++l) r.set_lane(l, std::pow(x.lane(l), b));
  return r;
}

/// (c/c_ref)^γ of eq. 14: sqrt for the default γ = 1/2 (correctly rounded,
/// as pow is), std::pow lane by lane otherwise.
template <int VB, int W>
PSGM_PDE_INLINE Pack<VB, W> concentration_power(Pack<VB, W> const& x, double gamma) {
  if (gamma == 0.5) return sqrt(x);
  if (gamma == 1.0) return x;
  return power(x, gamma);
}

// ------------------------------------------------------------------ workspace
/// One pack's workspace: element (slot, i, lane) at (slot N + i) W + lane.
template <int VB, int W>
struct Work {
  using Pk = Pack<VB, W>;
  double* w;
  int N;
  PSGM_PDE_INLINE double* at(int slot, int i) const { return w + (std::ptrdiff_t(slot) * N + i) * W; }
  PSGM_PDE_INLINE Pk operator()(int slot, int i) const { return Pk::load(at(slot, i)); }
  PSGM_PDE_INLINE void put(int slot, int i, Pk const& v) const { v.store(at(slot, i)); }
};

/// Per-lane scalars of the pack (U0, F_right); padding lanes get `pad`.
template <int VB, int W>
PSGM_PDE_INLINE Pack<VB, W> gather(double const* x, int lanes, double pad) {
  Pack<VB, W> r = Pack<VB, W>::splat(pad);
  for (int l = 0; l < lanes; ++l) r.set_lane(l, x[l]);
  return r;
}

// ------------------------------------------------------------------ eqs. 5–6
/// Porosity into the EPS slot (transposed: realisations into lanes),
/// coefficients and harmonic face means. Returns the lanes whose porosity is
/// finite. Padding lanes compute on ε = 0.35 (finite, no NaN in the pack).
template <int VB, int W>
PSGM_PDE_INLINE Mask<VB, W> coefficients(Work<VB, W> const& z, PackIo const& io, Constants const& k) {
  using Pk = Pack<VB, W>;
  int const n = k.N;
  for (int i = 0; i < n; ++i) {
    double* e = z.at(EPS, i);
    for (int l = 0; l < W; ++l) e[l] = l < io.lanes ? io.eps[l * io.eps_ld + i] : 0.35;
  }
  Pk nonfinite = Pk::splat(0.0);  // stays 0 while every ε is finite, NaN otherwise
  Pk kap_prev = Pk::splat(0.0), dif_prev = Pk::splat(0.0);
  for (int i = 0; i < n; ++i) {
    Pk const e = z(EPS, i);
    nonfinite += e - e;
    Pk const pe = power(e, k.bruggeman);
    Pk const kap = k.kappa0 * pe;  // eq. 5
    Pk const dif = k.D0 * pe;
    z.put(AS, i, k.a0 * (1.0 - e));
    if (i > 0) {  // eq. 6
      z.put(KF, i - 1, 2.0 * kap_prev * kap / (kap_prev + kap));
      z.put(DF, i - 1, 2.0 * dif_prev * dif / (dif_prev + dif));
    }
    kap_prev = kap;
    dif_prev = dif;
  }
  return isfinite(nonfinite);
}

// ------------------------------------------------------------------ eqs. 7–10
/// Linear-kinetics potential (eq. 7), unshifted, by the Thomas algorithm (U is scratch).
template <int VB, int W>
PSGM_PDE_INLINE void potential(Work<VB, W> const& z, double const* phis, Pack<VB, W> const& U0,
                               Pack<VB, W> const& F_right, Constants const& k) {
  using Pk = Pack<VB, W>;
  int const n = k.N;
  double const kdx2 = k.k_rn * k.dx2;
  Pk cp = Pk::splat(0.0), dp = Pk::splat(0.0);
  for (int i = 0; i < n; ++i) {
    Pk const kw = i > 0 ? z(KF, i - 1) : Pk::splat(0.0);
    Pk const ke = i < n - 1 ? z(KF, i) : Pk::splat(0.0);
    Pk const as = z(AS, i);
    Pk const diag = kw + ke + as * kdx2;
    Pk rhs = as * kdx2 * (phis[i] - U0);
    if (i == n - 1) rhs += k.dx * F_right;
    Pk const den = diag + kw * cp;  // diag - a_i c'_{i-1}, a_i = -kw
    cp = -ke / den;
    dp = (rhs + kw * dp) / den;
    z.put(U, i, cp);
    z.put(PHI, i, dp);
  }
  Pk phi = z(PHI, n - 1);
  for (int i = n - 2; i >= 0; --i) {
    phi = z(PHI, i) - z(U, i) * phi;
    z.put(PHI, i, phi);
  }
}

/// Eq. 8, φ ← φ − φ_0, then eqs. 9–10 into slot `out`: S_i = (1 − t+)/F a_s,i k_rn (φ_s − φ_i − U0).
template <int VB, int W>
PSGM_PDE_INLINE void linear_source(Work<VB, W> const& z, double const* phis, Pack<VB, W> const& U0, bool shift,
                                   int out, Constants const& k) {
  using Pk = Pack<VB, W>;
  Pk const phi0 = shift ? z(PHI, 0) : Pk::splat(0.0);
  for (int i = 0; i < k.N; ++i) {
    Pk phi = z(PHI, i);
    if (shift) {
      phi = phi - phi0;
      z.put(PHI, i, phi);
    }
    Pk const j = k.k_rn * (phis[i] - phi - U0);
    z.put(out, i, k.s_coef * z(AS, i) * j);
  }
}

// ------------------------------------------------------------------ eqs. 11–13
/// Steady concentration (eq. 13), the source in slot Q; Thomas, U is scratch.
template <int VB, int W>
PSGM_PDE_INLINE void steady_concentration(Work<VB, W> const& z, Constants const& k) {
  using Pk = Pack<VB, W>;
  int const n = k.N - 1;
  double const inv_dx2 = 1 / k.dx2;
  Pk cp = Pk::splat(0.0), dp = Pk::splat(0.0);
  for (int i = 0; i < n; ++i) {
    Pk const dw = i > 0 ? z(DF, i - 1) : Pk::splat(0.0);
    Pk const de = z(DF, i);
    Pk const diag = (dw + de) * inv_dx2;
    Pk rhs = z(Q, i);
    if (i == n - 1) rhs += de * inv_dx2 * k.c_right;
    Pk const den = diag + dw * inv_dx2 * cp;
    cp = i < n - 1 ? -de * inv_dx2 / den : Pk::splat(0.0);
    dp = (rhs + dw * inv_dx2 * dp) / den;
    z.put(U, i, cp);
    z.put(C, i, dp);
  }
  Pk c = z(C, n - 1);
  for (int i = n - 2; i >= 0; --i) {
    c = z(C, i) - z(U, i) * c;
    z.put(C, i, c);
  }
  z.put(C, n, Pk::splat(k.c_right));
}

/// Eq. 12 as the host time loop runs it (docs/model.md §6.1, "host pack
/// kernels"). A step of eq. 11 is M c^{n+1} = E c^n + r with E = diag(ε/dt),
/// M = E + K and K the symmetric diffusion matrix (the Dirichlet neighbour
/// in r). Its fixed point is the steady state c_s of the same source, K c_s = r
/// (eq. 13), so c^n = c_s + E^{-1/2} y^n with
///
///     y^{n+1} = M~^{-1} y^n,   M~ = I + E^{-1/2} K E^{-1/2}   (symmetric, tridiagonal),
///
/// y^0 = E^{1/2} (c0 − c_s). M~ is factored twice, top-down M~ = L D Lᵀ
/// (L unit lower, L_{i,i−1} = l_i into LL, 1/D_i into P) and bottom-up
/// M~ = L' D' L'ᵀ (L' unit upper, L'_{i,i+1} = l'_i into U, 1/D'_i into Q),
/// so that the time loop can alternate the two and fuse the back
/// substitution of one step with the elimination of the next (sweeps()).
/// Also: c_s into KF, E^{1/2} into AS (both free after eqs. 5–10), y^0 into
/// C. The source must be in slot Q on entry; DF and EPS are read.
template <int VB, int W>
PSGM_PDE_INLINE void factor_time_step(Work<VB, W> const& z, Constants const& k) {
  using Pk = Pack<VB, W>;
  int const n = k.N - 1;  // unknowns c_0 .. c_{N-2}; c_{N-1} = c_right
  double const inv_dx2 = 1 / k.dx2;
  steady_concentration(z, k);  // c_s into C (U is scratch)
  for (int i = 0; i <= n; ++i) z.put(KF, i, z(C, i));
  for (int i = 0; i < n; ++i) z.put(AS, i, sqrt(z(EPS, i) / k.dt));
  // M~'s diagonal 1 + K_ii/E_i and off-diagonal K_{i,i+1}/(E_i E_{i+1})^{1/2}.
  auto diag = [&](int i) PSGM_PDE_LAMBDA_INLINE {
    Pk const dw = i > 0 ? z(DF, i - 1) : Pk::splat(0.0);
    return 1.0 + (dw + z(DF, i)) * inv_dx2 / (z(EPS, i) / k.dt);
  };
  auto off = [&](int i) PSGM_PDE_LAMBDA_INLINE { return -z(DF, i) * inv_dx2 / (z(AS, i) * z(AS, i + 1)); };
  Pk p = diag(0);  // top-down: D_0 = diag_0, l_i = f_{i−1}/D_{i−1}, D_i = diag_i − l_i f_{i−1}
  z.put(LL, 0, Pk::splat(0.0));
  z.put(P, 0, 1.0 / p);
  for (int i = 1; i < n; ++i) {
    Pk const f = off(i - 1);
    Pk const l = f / p;
    p = diag(i) - l * f;
    z.put(LL, i, l);
    z.put(P, i, 1.0 / p);
  }
  Pk q = diag(n - 1);  // bottom-up: D'_{n−1} = diag_{n−1}, l'_i = f_i/D'_{i+1}, D'_i = diag_i − l'_i f_i
  z.put(U, n - 1, Pk::splat(0.0));
  z.put(Q, n - 1, 1.0 / q);
  for (int i = n - 2; i >= 0; --i) {
    Pk const f = off(i);
    Pk const l = f / q;
    q = diag(i) - l * f;
    z.put(U, i, l);
    z.put(Q, i, 1.0 / q);
  }
  for (int i = 0; i < n; ++i) z.put(C, i, z(AS, i) * (k.c0 - z(KF, i)));
}

/// c = c_s + E^{-1/2} y after the time loop (slots of factor_time_step).
template <int VB, int W>
PSGM_PDE_INLINE void unscale_concentration(Work<VB, W> const& z, Constants const& k) {
  int const n = k.N - 1;
  for (int i = 0; i < n; ++i) z.put(C, i, z(KF, i) + z(C, i) / z(AS, i));
  z.put(C, n, Pack<VB, W>::splat(k.c_right));
}

/// One pass of sweeps() over the n cells, downwards (i = n−1..0) or upwards:
/// the back substitution y_i = inv_i x_i − back_j y_j (x the pass's input in
/// c, j the cell the pass comes from) and, with Eliminate, the elimination
/// of the next step, δ_i = y_i − next_i δ_j, stored in c instead of y. The
/// first cell has no predecessor (y = inv x, δ = y).
template <int VB, int W, bool Down, bool Eliminate>
PSGM_PDE_INLINE void sweep_pass(double* c, double const* inv, double const* back, double const* next, int n) {
  using S = Simd<VB>;
  using V = typename S::V;
  constexpr int L = S::lanes, NV = W / L;
  constexpr std::ptrdiff_t from = Down ? W : -W;  // offset of the cell the pass comes from
  int const first = Down ? n - 1 : 0;
  V y[NV], d[NV];
  PSGM_PDE_UNROLL
  for (int v = 0; v < NV; ++v) {
    std::ptrdiff_t const x = std::ptrdiff_t(first) * W + v * L;
    y[v] = S::load(inv + x) * S::load(c + x);
    d[v] = y[v];
    S::store(c + x, y[v]);
  }
  for (int k = 1; k < n; ++k) {
    int const i = Down ? n - 1 - k : k;
    PSGM_PDE_UNROLL
    for (int v = 0; v < NV; ++v) {
      std::ptrdiff_t const x = std::ptrdiff_t(i) * W + v * L;
      y[v] = S::opaque(S::load(inv + x) * S::load(c + x)) - S::load(back + x + from) * y[v];
      if constexpr (Eliminate) {
        d[v] = y[v] - S::load(next + x) * d[v];
        S::store(c + x, d[v]);
      } else {
        S::store(c + x, y[v]);
      }
    }
  }
}

/// `steps` implicit-Euler steps of eq. 11 on y (slot C), with the factors of
/// factor_time_step. Steps alternate between the two factorisations, so every
/// pass over the cells but the first and the last does two things at once:
///
///   down (i = n−1..0): y_i = P_i δ_i − LL_{i+1} y_{i+1}   (back substitution, L D Lᵀ)
///                      δ'_i = y_i − U_i δ'_{i+1}          (elimination of the next step, L' D' L'ᵀ)
///   up   (i = 0..n−1): y_i = Q_i δ'_i − U_{i−1} y_{i−1}   (back substitution, L' D' L'ᵀ)
///                      δ_i = y_i − LL_i δ_{i−1}           (elimination of the next step, L D Lᵀ)
///
/// Each is a chain of dependent FMAs per lane, and the two chains of a pass
/// are independent of each other's latency (δ' needs y_i, not y_{i+1}): a
/// pass costs one FMA latency per cell for a whole step, where the plain
/// Thomas step of two sweeps costs two. Per cell and step: 4 loads, 1 store,
/// 3 vector operations; the five arrays (C, P, Q, LL, U) are 64 KiB at
/// N = 100, W = 16. steps + 1 passes in all.
template <int VB, int W>
PSGM_PDE_INLINE void sweeps(double* work, int N, std::int64_t steps) {
  PSGM_PDE_CONTRACT_BODY
  using S = Simd<VB>;
  using V = typename S::V;
  constexpr int L = S::lanes, NV = W / L;
  int const n = N - 1;
  std::ptrdiff_t const stride = std::ptrdiff_t(N) * W;
  double* const c = work + C * stride;
  double const* const ip = work + P * stride;
  double const* const iq = work + Q * stride;
  double const* const la = work + LL * stride;
  double const* const lb = work + U * stride;
  if (steps <= 0) return;
  {  // elimination of step 1, top-down (LL_0 = 0)
    V d[NV];
    PSGM_PDE_UNROLL
    for (int v = 0; v < NV; ++v) d[v] = S::splat(0.0);
    for (int i = 0; i < n; ++i) {
      PSGM_PDE_UNROLL
      for (int v = 0; v < NV; ++v) {
        std::ptrdiff_t const x = std::ptrdiff_t(i) * W + v * L;
        d[v] = S::load(c + x) - S::load(la + x) * d[v];
        S::store(c + x, d[v]);
      }
    }
  }
  for (std::int64_t s = 1;; ++s) {
    bool const last = s == steps;
    if (s % 2 == 1) {  // down: finish step s (L D Lᵀ), eliminate step s + 1 (L' D' L'ᵀ)
      if (last) return sweep_pass<VB, W, true, false>(c, ip, la, lb, n);
      sweep_pass<VB, W, true, true>(c, ip, la, lb, n);
    } else {  // up: finish step s (L' D' L'ᵀ), eliminate step s + 1 (L D Lᵀ)
      if (last) return sweep_pass<VB, W, false, false>(c, iq, lb, la, n);
      sweep_pass<VB, W, false, true>(c, iq, lb, la, n);
    }
  }
}

// ------------------------------------------------------------------ output
/// Fields and statuses of the pack's real lanes (eq. 8 shift if `shift`):
/// `bad` lanes had a non-finite porosity (NaN fields, non_finite); lanes in
/// `failed` did not converge (not_converged); the rest non_finite, depleted
/// or ok from the fields.
template <int VB, int W>
PSGM_PDE_INLINE void write_fields(Work<VB, W> const& z, PackIo const& io, bool shift, Mask<VB, W> const& bad,
                                  Mask<VB, W> const& failed, Constants const& k) {
  int const n = k.N;
  for (int l = 0; l < io.lanes; ++l) {
    double* const fc = io.fields + l * io.fields_ld0;
    double* const fp = fc + io.fields_ld1;
    if (bad.lane(l)) {
      for (int i = 0; i < n; ++i) fc[i] = fp[i] = k.nan;
      io.status[l] = psgm::SolveStatus::non_finite;
      continue;
    }
    double const phi0 = shift ? z.at(PHI, 0)[l] : 0.0;
    bool finite = true, positive = true;
    for (int i = 0; i < n; ++i) {
      double const c = z.at(C, i)[l], phi = z.at(PHI, i)[l] - phi0;
      fc[i] = c;
      fp[i] = phi;
      finite = finite && std::isfinite(c) && std::isfinite(phi);
      positive = positive && c > 0;
    }
    io.status[l] = failed.lane(l) ? psgm::SolveStatus::not_converged
                   : !finite      ? psgm::SolveStatus::non_finite
                   : !positive    ? psgm::SolveStatus::depleted
                                  : psgm::SolveStatus::ok;
  }
}

// ------------------------------------------------------------------ linear kinetics
template <int VB, int W>
PSGM_PDE_INLINE Mask<VB, W> setup_linear_impl(Work<VB, W> const& z, double const* phis, PackIo const& io,
                                              Constants const& k) {
  auto const finite = coefficients(z, io, k);
  auto const U0 = gather<VB, W>(io.U0, io.lanes, 0.0);
  auto const F = gather<VB, W>(io.F_right, io.lanes, 0.0);
  potential(z, phis, U0, F, k);
  if (!k.steady) {
    linear_source(z, phis, U0, true, Q, k);  // the reference convention: j from the shifted φ (eq. 9)
    factor_time_step(z, k);
  } else {
    linear_source(z, phis, U0, false, Q, k);  // extensions: j from the unshifted φ
  }
  return finite;
}

template <int VB, int W>
PSGM_PDE_INLINE void solve_linear(Work<VB, W> const& z, double const* phis, PackIo const& io, Constants const& k,
                                  void (*time_loop)(double*, int, std::int64_t)) {
  auto const finite = setup_linear_impl(z, phis, io, k);
  auto const none = Mask<VB, W>::all_false();
  if (k.steady) {
    steady_concentration(z, k);
    write_fields(z, io, true, ~finite, none, k);
    return;
  }
  time_loop(z.w, k.N, k.num_steps);  // eq. 12: sweeps<VB, W>, compiled with FMAs
  unscale_concentration(z, k);
  write_fields(z, io, false, ~finite, none, k);
}

// ------------------------------------------------------------------ §6.3 Butler–Volmer
/// Where the batched Newton keeps its arrays (slots of the pack's workspace).
/// The state (c, φ) and the trial point of the line search swap roles when a
/// trial is accepted, as do the elimination of the current point (the Newton
/// direction after back substitution) and that of the trial point, so that
/// nothing is copied back.
struct BvSlots {
  int c = C, phi = PHI;        // the current point
  int tc = CO, tphi = PO;      // the trial point of the line search
  int yc = ZC, yphi = ZP;      // elimination of the current point; the Newton direction
  int tyc = RC, typhi = RP;    // elimination of the trial point
  int cprev = CPREV;           // c at the previous time level (eq. 15)
};

/// Degree of the time extrapolation that gives the Newton its initial guess
/// (solve_butler_volmer), and the slots of the time levels it reads (the
/// linear kinetics' P, Q, LL, U are free in a Butler–Volmer solve, as are
/// DJC, DJP, the portable kernels' only). D = 5, measured (bench_ensemble
/// section 6's case, per field, one thread, alternating, best of 5 runs):
/// 0.345 ms against 0.354 ms with D = 4, 0.352 ms with D = 6 and 0.388 ms
/// with the cubic (D = 3, levels copied instead of rotated).
constexpr int bv_predictor_degree = 5;
constexpr int bv_level_c[] = {C, CPREV, CM2, CM3, DJC, P, LL};
constexpr int bv_level_phi[] = {PHI, PM1, PM2, PM3, DJP, Q, U};
static_assert(bv_predictor_degree + 1 <= int(sizeof bv_level_c / sizeof bv_level_c[0]), "slots for the time levels");

/// u^{n+1} ≈ Σ_j (−1)^j C(D+1, j+1) u^{n−j}, j = 0..D: the polynomial of
/// degree D through the last D + 1 levels, at the next one.
template <int D>
constexpr double extrapolation_weight(int j) {
  double b = 1;  // C(D+1, j+1)
  for (int t = 0; t < j + 1; ++t) b = b * (D + 1 - t) / (t + 1);
  return j % 2 ? -b : b;
}

/// One pass over the cells at the point (c, φ) = (s.c, s.phi), or with
/// `Trial` at (s.c − λ s.yc, s.phi − λ s.yphi) on the lanes in `moving`
/// (the point stored into s.tc, s.tphi): the residual of eq. 15 and its
/// scaled RMS norm (eq. 16, returned per lane), and in the same pass the
/// forward elimination of block Thomas on the Jacobian of eq. 16 at that
/// point — each step a closed-form 2×2 inverse (the off-diagonal blocks are
/// diagonal), as bv_block_solve in EnsembleKernels.hpp — X into X00..X11, the
/// eliminated residual into (yc, yphi) (s.yc, s.yphi, or s.tyc, s.typhi for
/// a trial). Fusing the two keeps the residual and the kinetics derivatives
/// in registers (nothing of them is stored) and lets the exponentials of
/// eq. 14 fill the latency of the elimination's division chain. The rows
/// are those of eq. 15 divided by constants (c rows by (1 − t+)/F, φ rows by
/// Δx²; the coefficients so scaled by solve_butler_volmer), which leaves
/// the Newton direction as it was but for rounding. The norm's diagonal
/// scales are constant within a solve: SCI = 1/(a_c,i c_ref),
/// SPI = 1/(a_φ,i RT/F), each times its row's divisor. With `Predict`, the
/// point is first formed, cell by cell, as the time extrapolation of degree
/// D from the levels in `levels` (c: levels[0..D], φ: levels[D+1..2D+1];
/// lanes not in `moving` keep u^n) and stored into (s.c, s.phi): the
/// predictor's pass folded into the evaluation, whose FMA-bound loop hides
/// the predictor's reads (measured: 0.323–0.332 ms per field against
/// 0.336–0.338 ms with the pass of its own, 8 alternating rounds).
///
/// With `Chord`, the Jacobian is not formed: the residual is eliminated with
/// the factorisation the last full evaluation stored (X00..X11, J00..J11,
/// JLC), the simplified Newton step of solve_butler_volmer, and no norm is
/// computed (zero returned). A full evaluation stores that factorisation
/// where `store_factors` says so (the first evaluation of a step that may
/// converge in one iteration: solve_butler_volmer).
template <bool Trial, int VB, int W, bool Predict = false, bool Chord = false>
PSGM_PDE_INLINE Pack<VB, W> bv_evaluate(Work<VB, W> const& z, double const* phis, Pack<VB, W> const& U0,
                                        Pack<VB, W> const& F_right, BvSlots const& s,
                                        Pack<VB, W> const& lambda, Mask<VB, W> const& moving, Constants const& k,
                                        int const* levels = nullptr, bool store_factors = false) {
  using Pk = Pack<VB, W>;
  int const n = k.N;
  double const inv_c_ref = 1 / k.c_ref;
  double const fa = k.alpha_a * k.f, fc = k.alpha_c * k.f;
  bool const symmetric = k.alpha_a == k.alpha_c;
  int const out_c = Trial ? s.tyc : s.yc, out_phi = Trial ? s.typhi : s.yphi;
  auto const point = [&](int i, Pk& c, Pk& phi) PSGM_PDE_LAMBDA_INLINE {
    if constexpr (Predict) {  // the guess of solve_butler_volmer's predictor, degree D, into (s.c, s.phi)
      constexpr int D = bv_predictor_degree;
      Pk const c0 = z(levels[0], i), p0 = z(levels[D + 1], i);
      Pk cg = extrapolation_weight<D>(0) * c0, pg = extrapolation_weight<D>(0) * p0;
      PSGM_PDE_UNROLL
      for (int j = 1; j <= D; ++j) {
        cg += extrapolation_weight<D>(j) * z(levels[j], i);
        pg += extrapolation_weight<D>(j) * z(levels[D + 1 + j], i);
      }
      c = select(moving & (0.5 * c0 < cg), cg, c0);
      phi = select(moving, pg, p0);
      z.put(s.c, i, c);
      z.put(s.phi, i, phi);
      return;
    }
    c = z(s.c, i);
    phi = z(s.phi, i);
    if constexpr (Trial) {
      c = select(moving, c - lambda * z(s.yc, i), c);
      phi = select(moving, phi - lambda * z(s.yphi, i), phi);
      z.put(s.tc, i, c);
      z.put(s.tphi, i, phi);
    }
  };
  double const inv_dx = 1 / k.dx;
  Pk sum = Pk::splat(0.0);
  Pk c_w = Pk::splat(0.0), phi_w = Pk::splat(0.0);  // west neighbours (zero beyond x = 0: multiplied by κ = D = 0)
  Pk c, phi;
  point(0, c, phi);
  Pk x00 = Pk::splat(0.0), x01 = x00, x10 = x00, x11 = x00, yc = x00, yp = x00;  // X_{i-1}, y_{i-1}
  for (int i = 0; i < n; ++i) {
    Pk c_e = Pk::splat(0.0), phi_e = Pk::splat(0.0);
    if (i < n - 1) point(i + 1, c_e, phi_e);
    // Eq. 14 times a_s (AS holds a_s i0): A = a_s j, G = −a_s ∂j/∂φ, and
    // a_s c ∂j/∂c = γ A.
    Pk const eta = phis[i] - phi - U0;
    Pk const q = z(AS, i) * concentration_power(c * inv_c_ref, k.gamma);
    Pk ea, ec;
    if (symmetric)
      exp_pair(fa * eta, ea, ec);
    else
      ea = exp(fa * eta), ec = exp(-fc * eta);
    Pk const A = q * (ea - ec);
    Pk const G = q * (symmetric ? fa * (ea + ec) : fa * ea + fc * ec);
    Pk const gA = k.gamma * A;
    // Eq. 15, the c rows divided by (1 − t+)/F and the φ rows by Δx² (the
    // workspace's coefficients are scaled accordingly in
    // solve_butler_volmer): a_s j then enters both rows with coefficient 1.
    // The residual and the Jacobian's row blocks (c row: acc, acp; φ row:
    // apc, app; couplings −lc, −uc, −kw, −ke to the west and east), with the
    // c columns scaled by c (unknown w_c = z_c / c, bv_direction scales
    // back): ∂j/∂c = γ j / c then enters as γ j, and no division is needed.
    Pk const kw = i > 0 ? z(KF, i - 1) : Pk::splat(0.0), ke = i < n - 1 ? z(KF, i) : Pk::splat(0.0);
    Pk rp = kw * (phi - phi_w) + ke * (phi - phi_e) - A;
    if (i == n - 1) rp -= inv_dx * F_right;
    Pk rc, acc, acp, lc, uc;
    if (i < n - 1) {
      Pk const dw = i > 0 ? z(DF, i - 1) : Pk::splat(0.0), de = z(DF, i);
      Pk const we = z(EPS, i);
      rc = we * (c - z(s.cprev, i)) + dw * (c - c_w) + de * (c - c_e) - A;
      acc = (we + dw + de) * c - gA;
      acp = G;
      lc = dw * c_w;
      uc = de * c_e;
    } else {
      rc = c - k.c_right;
      acc = c;
      acp = lc = uc = Pk::splat(0.0);
    }
    if constexpr (Chord) {  // r' = R − L y_{i−1}, y = D'^{-1} r' with the stored L and D'^{-1}
      Pk const rc2 = rc + z(JLC, i) * yc, rp2 = rp + kw * yp;
      yc = z(J00, i) * rc2 + z(J01, i) * rp2;
      yp = z(J10, i) * rc2 + z(J11, i) * rp2;
    } else {
      Pk const sc = rc * z(SCI, i), sp = rp * z(SPI, i);
      sum += sc * sc + sp * sp;
      Pk const app = kw + ke + G;
      // D' = D − L X_{i−1}, r' = R − L y_{i−1} (L = diag(−lc, −kw))
      Pk const a = acc + lc * x00, bb = acp + lc * x01, cc = kw * x10 - gA, d = app + kw * x11;
      Pk const rc2 = rc + lc * yc, rp2 = rp + kw * yp;
      Pk const inv_det = 1.0 / (a * d - bb * cc);
      Pk const ui = uc * inv_det, ki = ke * inv_det;  // X = D'^{-1} U, U = diag(−uc, −ke)
      x00 = -(d * ui);
      x01 = bb * ki;
      x10 = cc * ui;
      x11 = -(a * ki);
      yc = (d * rc2 - bb * rp2) * inv_det;
      yp = (a * rp2 - cc * rc2) * inv_det;
      z.put(X00, i, x00);
      z.put(X01, i, x01);
      z.put(X10, i, x10);
      z.put(X11, i, x11);
      if (store_factors) {  // D'^{-1} = [d −bb; −cc a] / det and L's c entry, for the chord steps
        z.put(J00, i, d * inv_det);
        z.put(J01, i, -(bb * inv_det));
        z.put(J10, i, -(cc * inv_det));
        z.put(J11, i, a * inv_det);
        z.put(JLC, i, lc);
      }
    }
    z.put(out_c, i, yc);
    z.put(out_phi, i, yp);
    c_w = c;
    phi_w = phi;
    c = c_e;
    phi = phi_e;
  }
  if constexpr (Chord) return sum;
  return sqrt(sum * (1.0 / (2 * n)));
}

/// Back substitution of block Thomas (after bv_evaluate, the elimination in
/// (s.yc, s.yphi)), downwards, with what the line search needs: the scaled
/// size of the update for the tolerance (`update`), `nonfinite` (0 while
/// every z is finite, NaN otherwise) and `binding` (the max over cells of
/// z_c − 0.9 c: positive where λ = 1 would take some c below 10 % of its
/// value). The Newton direction z (the update is −z) replaces the
/// elimination in place, or with `StepInto` the updated point s.c − z (and
/// φ) is written into (s.tc, s.tphi) as the pass goes, lanes not in
/// `moving` copied, and the direction is not stored (bv_chord).
template <bool StepInto, int VB, int W>
PSGM_PDE_INLINE void bv_back_substitution(Work<VB, W> const& z, BvSlots const& s, Mask<VB, W> const& moving,
                                          Pack<VB, W>& update, Pack<VB, W>& nonfinite, Pack<VB, W>& binding,
                                          Constants const& k) {
  using Pk = Pack<VB, W>;
  int const n = k.N;
  update = Pk::splat(0.0);
  nonfinite = Pk::splat(0.0);
  binding = Pk::splat(0.0);
  Pk wc = z(s.yc, n - 1), zp = z(s.yphi, n - 1);  // w_c = z_c / c (the c columns of bv_evaluate are scaled by c)
  for (int i = n - 1; i >= 0; --i) {
    if (i < n - 1) {
      Pk const nc = z(s.yc, i) - (z(X00, i) * wc + z(X01, i) * zp);
      zp = z(s.yphi, i) - (z(X10, i) * wc + z(X11, i) * zp);
      if constexpr (!StepInto) z.put(s.yphi, i, zp);
      wc = nc;
    }
    Pk const c = z(s.c, i);
    Pk const zc = c * wc;
    if constexpr (StepInto) {
      Pk const phi = z(s.phi, i);
      z.put(s.tc, i, select(moving, c - zc, c));
      z.put(s.tphi, i, select(moving, phi - zp, phi));
    } else {
      z.put(s.yc, i, zc);
    }
    nonfinite += (zc - zc) + (zp - zp);
    binding = max(binding, zc - 0.9 * c);
    update = max(update, max(abs(zc) * (1 / k.c_ref), abs(zp) * (1 / k.thermal_voltage)));
  }
}

/// The Newton direction (bv_back_substitution) and the step λ ≤ 1 that keeps
/// c positive (fraction to the boundary: c never drops by more than 90 % in
/// one step).
template <int VB, int W>
PSGM_PDE_INLINE void bv_direction(Work<VB, W> const& z, BvSlots const& s, Pack<VB, W>& lambda, Pack<VB, W>& update,
                                  Pack<VB, W>& nonfinite, Constants const& k) {
  using Pk = Pack<VB, W>;
  Pk binding;
  bv_back_substitution<false>(z, s, Mask<VB, W>::all_false(), update, nonfinite, binding, k);
  lambda = Pk::splat(1.0);
  // λ = min(1, 0.9 c/z_c over the cells with z_c > 0), computed only where
  // the full step would take some c below 10 % of its value (z_c > 0.9 c),
  // which a converging Newton never meets: no division, and no test across
  // lanes, in the back substitution.
  if (any_positive(binding))
    for (int i = 0; i < k.N; ++i) {
      Pk const zc = z(s.yc, i), c = z(s.c, i);
      lambda = select(Pk::splat(0.0) < zc, min(lambda, 0.9 * c / zc), lambda);
    }
}

/// Writes the point s.c − λ s.yc (and φ) on the lanes in `which` into
/// (c, phi), other lanes unchanged: the step of lanes that converged on the
/// size of the update alone, without a trial evaluation.
template <int VB, int W>
PSGM_PDE_INLINE void bv_step(Work<VB, W> const& z, BvSlots const& s, int c_out, int phi_out, Pack<VB, W> const& lambda,
                             Mask<VB, W> const& which, Constants const& k) {
  for (int i = 0; i < k.N; ++i) {
    z.put(c_out, i, select(which, z(s.c, i) - lambda * z(s.yc, i), z(c_out, i)));
    z.put(phi_out, i, select(which, z(s.phi, i) - lambda * z(s.yphi, i), z(phi_out, i)));
  }
}

/// The damped Newton of docs/model.md §6.3 for every lane of the pack at
/// once, from the current (C, PHI), the result left in (C, PHI). Lanes in
/// `active` iterate; each leaves it when it converges (its iteration count
/// into `its`) or fails (−1 into `its`, lane added to `failed`), and is
/// frozen from then on: its c and φ are only ever rewritten with the values
/// they hold. The accepted trial's residual is the next iteration's, and its
/// elimination the next iteration's factorisation (no second evaluation).
/// With `final_residual` false, the residual after a converging update is
/// not evaluated (transient steps before the last one: nothing reads it).
/// The point starts in (s.c, s.phi) and the result is left in (s.c, s.phi)
/// of `s` on return (the current and trial slots may have swapped).
template <int VB, int W>
PSGM_PDE_INLINE void bv_newton(Work<VB, W> const& z, double const* phis, Pack<VB, W> const& U0,
                               Pack<VB, W> const& F_right, Mask<VB, W> active, int* its,
                               Mask<VB, W>& failed, PackIo const& io, bool record, bool final_residual,
                               BvSlots& s, Constants const& k, int const* levels = nullptr,
                               bool store_factors = false) {
  using Pk = Pack<VB, W>;
  using M = Mask<VB, W>;
  Pk merit = levels ? bv_evaluate<false, VB, W, true>(z, phis, U0, F_right, s, Pk::splat(0.0), active, k, levels,
                                                      store_factors)
                    : bv_evaluate<false>(z, phis, U0, F_right, s, Pk::splat(0.0), M::all_false(), k, nullptr,
                                         store_factors);
  for (int it = 0; it < k.max_iterations && active.any(); ++it) {
    if (record && it < io.history_len)
      for (int l = 0; l < io.lanes; ++l)
        if (active.lane(l)) io.history[l * io.history_ld + it] = merit.lane(l);
    M bad = active & ~isfinite(merit);
    Pk lambda, update, nonfinite;
    bv_direction(z, s, lambda, update, nonfinite, k);
    bad = bad | (active & ~isfinite(nonfinite));  // singular or overflowing Jacobian
    active = active & ~bad;
    failed = failed | bad;
    for (int l = 0; l < W; ++l)
      if (bad.lane(l)) its[l] = -1;
    // Backtracking line search on the scaled residual (Armijo, halving), per
    // lane. Every trial evaluates all lanes; the lanes in `active` move (those
    // accepted earlier in the search to their accepted λ again, bitwise).
    M searching = active;
    Pk trial = merit;
    M converged = M::all_false();
    bool evaluated = false;  // whether the trial slots hold the latest trial of every lane
    for (int ls = 0; ls < 30 && searching.any(); ++ls) {
      M const small = searching & (lambda * update <= Pk::splat(k.tolerance));
      bool const only_small = !(searching & ~small).any();
      if (only_small && !final_residual) {
        // Step without a trial evaluation: into the trial point where other
        // lanes were accepted there, else in place.
        if (evaluated)
          bv_step(z, s, s.tc, s.tphi, lambda, small, k);
        else
          bv_step(z, s, s.c, s.phi, lambda, small, k);
        converged = converged | small;
        searching = M::all_false();
        break;
      }
      Pk const t = bv_evaluate<true>(z, phis, U0, F_right, s, lambda, active, k);
      evaluated = true;
      M const accept = searching & (small | (t <= (1.0 - 1e-4 * lambda) * merit));
      trial = select(accept, t, trial);
      converged = converged | (accept & small);
      searching = searching & ~accept;
      lambda = select(searching, 0.5 * lambda, lambda);
    }
    if (evaluated) {  // the trial point and its elimination become the current ones
      std::swap(s.c, s.tc);
      std::swap(s.phi, s.tphi);
      std::swap(s.yc, s.tyc);
      std::swap(s.yphi, s.typhi);
    }
    // Lanes still searching: the line search failed.
    active = active & ~searching;
    failed = failed | searching;
    for (int l = 0; l < W; ++l) {
      if (searching.lane(l)) its[l] = -1;
      if (converged.lane(l)) {
        its[l] = it + 1;
        if (record && final_residual && l < io.lanes && it + 1 < io.history_len)
          io.history[l * io.history_ld + it + 1] = trial.lane(l);
      }
    }
    active = active & ~converged;
    merit = trial;
  }
  // Lanes still active ran out of iterations.
  failed = failed | active;
  for (int l = 0; l < W; ++l)
    if (active.lane(l)) its[l] = -1;
}

/// The simplified (chord) Newton of the transient Butler–Volmer solve: a
/// step whose predictor guess is already within the tolerance converges in
/// one Newton iteration, and that iteration needs only an approximate
/// Jacobian (the update is ≤ tolerance either way; the error it leaves is
/// the update times ‖I − J_old⁻¹ J‖, the contraction of the stale
/// Jacobian). So once a step has converged in one iteration, the next step
/// first tries one iteration with the factorisation of the last full
/// evaluation (bv_chord: the residual alone, no Jacobian, no 2×2 inverses,
/// no norm), and falls back to the full Newton from the same guess when
/// any lane's update is above the tolerance (or its λ < 1, or non-finite).
/// A full evaluation refreshes the factorisation at least every
/// bv_chord_refresh steps; it stores it only where the step before
/// converged in one iteration (steps of several iterations, e.g. at a
/// tolerance near rounding, run exactly the full Newton as before, bit for
/// bit). Measured (bench_ensemble section 6, one thread, alternating, 10
/// rounds): 0.239–0.260 ms per field against 0.337–0.348 ms with the full
/// Newton at every step (22.0–22.7x the linear solve against 29.5–30.8x);
/// c within 6e-14 of the per-realisation Newton on the reference grid (1e-16
/// before), 3.5e-14 with a refresh every 10 steps and 1.6e-13 with none
/// (tests/pde/test_host_kernels.cpp).
constexpr int bv_chord_refresh = 20;
/// After a chord step that failed, the next attempt waits 1, 2, 4, ... up to
/// this many steps (reset by a success): where the updates hover about the
/// tolerance, a failed attempt is a pass for nothing, and runs of them must
/// not repeat every step. (Counted on 256 reference-case fields: no failed
/// attempt at tolerances 1e-8 to 1e-12, 339 of 11 642 at 1e-13; at 1e-14
/// no step converges in one iteration, so none is attempted.)
constexpr int bv_chord_max_backoff = 64;

/// The simplified Newton step of solve_butler_volmer: at the predictor's
/// guess (formed in the pass, as bv_evaluate with `Predict`), the residual
/// eliminated with the factorisation the last full evaluation stored, the
/// back substitution, and the update taken if every lane in `active` met the
/// tolerance with λ = 1 and finite values; returns whether they did. If not,
/// the guess stays in (s.c, s.phi) for the full Newton (the trial and
/// elimination slots were scratch).
template <int VB, int W>
PSGM_PDE_INLINE bool bv_chord(Work<VB, W> const& z, double const* phis, Pack<VB, W> const& U0,
                              Pack<VB, W> const& F_right, Mask<VB, W> const& active, BvSlots& s,
                              Constants const& k, int const* levels) {
  using Pk = Pack<VB, W>;
  bv_evaluate<false, VB, W, true, true>(z, phis, U0, F_right, s, Pk::splat(0.0), active, k, levels);
  // The updated point written as the back substitution goes: no pass of its
  // own for the step, and the direction is never stored.
  Pk update, nonfinite, binding;
  bv_back_substitution<true>(z, s, active, update, nonfinite, binding, k);
  auto const ok = isfinite(nonfinite) & (binding <= Pk::splat(0.0)) &
                  (update <= Pk::splat(k.tolerance));
  if ((active & ~ok).any()) return false;
  std::swap(s.c, s.tc);
  std::swap(s.phi, s.tphi);
  return true;
}

/// (c, φ) of slots (c, phi) into (C, PHI), where they are elsewhere.
template <int VB, int W>
PSGM_PDE_INLINE void bv_move_to_state(Work<VB, W> const& z, int c, int phi, Constants const& k) {
  if (c != C)
    for (int i = 0; i < k.N; ++i) {
      z.put(C, i, z(c, i));
      z.put(PHI, i, z(phi, i));
    }
}

template <int VB, int W>
PSGM_PDE_INLINE void solve_butler_volmer(Work<VB, W> const& z, double const* phis, PackIo const& io,
                                         Constants const& k) {
  using Pk = Pack<VB, W>;
  using M = Mask<VB, W>;
  int const n = k.N;
  auto const finite = coefficients(z, io, k);
  auto const U0 = gather<VB, W>(io.U0, io.lanes, 0.0);
  auto const F = gather<VB, W>(io.F_right, io.lanes, 0.0);
  double const w_scale = k.steady ? 0.0 : 1 / k.dt;
  double const inv_dx2 = 1 / k.dx2;
  // Start from c = c0 (c_{N−1} = c_right) and zero overpotential, φ = φ_s − U0
  // (docs/model.md §6.3); the norm's constant scales.
  for (int i = 0; i < n; ++i) {
    z.put(C, i, Pk::splat(i < n - 1 ? k.c0 : k.c_right));
    z.put(PHI, i, phis[i] - U0);
    Pk const kw = i > 0 ? z(KF, i - 1) : Pk::splat(0.0), ke = i < n - 1 ? z(KF, i) : Pk::splat(0.0);
    Pk ac = Pk::splat(1.0);
    if (i < n - 1) {
      Pk const dw = i > 0 ? z(DF, i - 1) : Pk::splat(0.0), de = z(DF, i);
      ac = w_scale * z(EPS, i) + (dw + de) * inv_dx2;
    }
    z.put(SCI, i, 1.0 / (ac * k.c_ref));
    z.put(SPI, i, 1.0 / ((kw + ke) * k.thermal_voltage));
  }
  // The coefficients as bv_evaluate reads them, its c rows divided by
  // (1 − t+)/F (> 0) and its φ rows by Δx² (the norm's scales multiplied
  // back): ε/dt and D/Δx² over (1 − t+)/F, κ/Δx², a_s i0. Saves the
  // evaluation 10 of its ~77 multiplies per cell and vector (measured
  // 0.347–0.351 ms per field against 0.354–0.361 ms, bench_ensemble
  // section 6's case, 4 alternating rounds).
  for (int i = 0; i < n; ++i) {
    z.put(EPS, i, z(EPS, i) * (w_scale / k.s_coef));
    if (i < n - 1) {  // faces
      z.put(DF, i, z(DF, i) * (inv_dx2 / k.s_coef));
      z.put(KF, i, z(KF, i) * inv_dx2);
    }
    z.put(AS, i, z(AS, i) * k.i0);
    if (i < n - 1) z.put(SCI, i, z(SCI, i) * k.s_coef);
    z.put(SPI, i, z(SPI, i) * k.dx2);
  }
  int its[W], total[W];
  for (int l = 0; l < W; ++l) its[l] = total[l] = 0;
  M failed = M::all_false();
  M const live = finite;  // non-finite porosity: reported as such, never iterated
  if (k.steady) {
    BvSlots sl;
    bv_newton(z, phis, U0, F, live, its, failed, io, true, true, sl, k);
    bv_move_to_state(z, sl.c, sl.phi, k);
    for (int l = 0; l < W; ++l) total[l] = its[l] < 0 ? k.max_iterations : its[l];
  } else {
    constexpr int D = bv_predictor_degree;
    int lev_c[D + 1], lev_phi[D + 1];
    for (int j = 0; j <= D; ++j) lev_c[j] = bv_level_c[j], lev_phi[j] = bv_level_phi[j];
    BvSlots sl;
    int chord_age = 0;         // chord steps since the stored factorisation was formed
    bool one_iteration = false;  // the last step converged in one iteration (every lane)
    bool chord_ready = false;    // and the factorisation of its evaluation is stored
    int chord_wait = 0, chord_backoff = 1;  // steps until the next chord attempt may be made; the next wait
    for (std::int64_t s = 0; s < k.num_steps; ++s) {
      M const active = live & ~failed;
      if (!active.any()) break;
      // Initial guess: the previous steps' solutions extrapolated in time by
      // the polynomial through the last D + 1 converged levels
      // (u^{n+1} ≈ 2u^n − u^{n−1}, 3u^n − 3u^{n−1} + u^{n−2}, ...): the
      // solution evolves smoothly, so the first Newton update is O(Δt^{D+1})
      // instead of O(Δt), and most steps converge in one iteration (the
      // update-size test is met by the first update). D rises from 1 (step 2;
      // the initial φ is a guess, not a solution) to bv_predictor_degree.
      // Measured on the reference case (bench_ensemble section 6): 2.01
      // Newton iterations per step with the linear predictor alone, 1.89
      // with the quadratic, 1.17 with the cubic, 1.071 with D = 4, 1.046
      // with D = 5, 1.037 with D = 6 (the cubic's extra iterations were the
      // early transient's, steps 10–300). c is kept at least half its
      // current value. The levels rotate through their slots (lev_c[j] holds
      // u^{n−j}; nothing is copied); the guess overwrites the oldest level,
      // and the Newton runs there. Once the degree is D, the Newton's first
      // evaluation forms the guess in its own pass (bv_evaluate, Predict).
      int const degree = s < 2 ? 0 : int(std::min<std::int64_t>(s - 1, D));
      int const gc = lev_c[D], gp = lev_phi[D];
      auto const predict = [&](auto degree_constant) PSGM_PDE_LAMBDA_INLINE {
        constexpr int d = decltype(degree_constant)::value;
        double wt[d + 1];
        for (int j = 0; j <= d; ++j) wt[j] = extrapolation_weight<d>(j);
        // Downwards: the passes over the cells alternate in direction
        // (bv_step up, this down, bv_evaluate up, bv_direction down), so
        // that each starts on the cells whose lines the one before left in
        // L1 (the pack's ~30 arrays, 384 KiB, are in L2). Measured: 0.333 ms
        // per field against 0.340 ms upwards (3 alternating rounds).
        for (int i = n - 1; i >= 0; --i) {
          Pk const c = z(lev_c[0], i), phi = z(lev_phi[0], i);
          Pk cg = c, pg = phi;
          if constexpr (d > 0) {
            cg = wt[0] * c;
            pg = wt[0] * phi;
            PSGM_PDE_UNROLL
            for (int j = 1; j <= d; ++j) {
              cg += wt[j] * z(lev_c[j], i);
              pg += wt[j] * z(lev_phi[j], i);
            }
          }
          M const use = active & (0.5 * c < cg);
          z.put(gc, i, select(use, cg, c));
          z.put(gp, i, select(active, pg, phi));
        }
      };
      int levels[2 * (D + 1)];
      for (int j = 0; j <= D; ++j) levels[j] = lev_c[j], levels[D + 1 + j] = lev_phi[j];
      bool const fused = degree == D;  // the guess formed in the first evaluation's pass
      if (!fused) switch (degree) {
        case 0: predict(std::integral_constant<int, 0>{}); break;
        case 1: predict(std::integral_constant<int, 1>{}); break;
        case 2: predict(std::integral_constant<int, 2>{}); break;
        case 3: predict(std::integral_constant<int, (3 < D ? 3 : D)>{}); break;
        case 4: predict(std::integral_constant<int, (4 < D ? 4 : D)>{}); break;
        case 5: predict(std::integral_constant<int, (5 < D ? 5 : D)>{}); break;
        default: predict(std::integral_constant<int, (6 < D ? 6 : D)>{}); break;
      }
      bool const last = s + 1 == k.num_steps;
      sl.c = gc;
      sl.phi = gp;
      sl.cprev = lev_c[0];
      int chord_its = 0;
      bool chord_done = false;
      bool const try_chord = fused && !last && chord_ready && chord_age < bv_chord_refresh && chord_wait == 0;
      if (chord_wait > 0) --chord_wait;
      if (try_chord) {
        chord_done = bv_chord(z, phis, U0, F, active, sl, k, levels);
        chord_its = 1;
        if (chord_done) {
          chord_backoff = 1;
        } else {
          chord_wait = chord_backoff;
          chord_backoff = std::min(2 * chord_backoff, bv_chord_max_backoff);
        }
      }
      if (chord_done) {
        ++chord_age;
        for (int l = 0; l < W; ++l)
          if (active.lane(l)) its[l] = 1;
      } else {
        // The factorisation of the first evaluation is stored for the chord
        // steps only where this step is likely to converge in one iteration
        // (the last one did): five more stores per cell and vector, which
        // steps of several iterations would pay for nothing.
        bool const store = one_iteration;
        bv_newton(z, phis, U0, F, active, its, failed, io, true, last, sl, k,
                  fused && !chord_its ? levels : nullptr, store);
        one_iteration = true;
        for (int l = 0; l < W; ++l)
          if (active.lane(l) && its[l] != 1) one_iteration = false;
        chord_ready = store && one_iteration;
        chord_age = 0;
      }
      for (int l = 0; l < W; ++l)
        if (active.lane(l)) total[l] += chord_done ? 1 : chord_its + (its[l] < 0 ? k.max_iterations : its[l]);
      // A lane that failed in this step is restored to its last converged state and frozen.
      M const restore = failed & active;
      if (restore.any())
        for (int i = 0; i < n; ++i) {
          z.put(sl.c, i, select(restore, z(lev_c[0], i), z(sl.c, i)));
          z.put(sl.phi, i, select(restore, z(lev_phi[0], i), z(sl.phi, i)));
        }
      for (int j = D; j > 0; --j) {
        lev_c[j] = lev_c[j - 1];
        lev_phi[j] = lev_phi[j - 1];
      }
      lev_c[0] = sl.c;  // the oldest level's slots are now (sl.tc, sl.tphi) if the Newton swapped
      lev_phi[0] = sl.phi;
    }
    bv_move_to_state(z, lev_c[0], lev_phi[0], k);
  }
  write_fields(z, io, true, ~finite, failed, k);
  for (int l = 0; l < io.lanes; ++l) {
    if (io.iterations) io.iterations[l] = !finite.lane(l) ? 0 : its[l] < 0 ? k.max_iterations : its[l];
    if (io.total_iterations) io.total_iterations[l] = !finite.lane(l) ? 0 : total[l];
  }
}

// ------------------------------------------------------------------ ISA variants
// Pack widths (realisations per pack) of the whole solve, per instruction
// set, chosen by measurement (bench_ensemble section 5, docs/performance.md):
// each pass of the time loop is two chains of one FMA per cell and lane
// (sweeps()), and a pack should hold enough independent vectors to cover the
// FMA latency while its five time-loop arrays (64 KiB at N = 100, W = 16)
// stay close to L1. AVX-512 and AVX2: W = 16 (1.7x and 1.8x W = 8 on a
// Zen 5 core; W = 32 is slower, its arrays leave L1); the baseline (SSE2,
// two lanes a vector): W = 8 (1.1x W = 16).
constexpr int width_avx512 = 16, width_avx2 = 16, width_baseline = 8;
// Butler–Volmer: wider packs give the elimination's division chain more
// independent vectors to overlap (measured on AVX-512 after the fused
// evaluation: 1.28 ms per field with W = 16 against 1.40–1.45 ms with W = 8,
// bench_ensemble section 6, same session); the pack's arrays live in L2
// whatever the width.
constexpr int bv_width_avx512 = 16, bv_width_avx2 = 16, bv_width_baseline = 8;

#define PSGM_PDE_ISA_VARIANT(NAME, ATTR, VB, WS, WB)                                                                  \
  template <int W>                                                                                                 \
  ATTR PSGM_PDE_CONTRACT PSGM_PDE_NOINLINE void time_loop_##NAME(double* work, int N, std::int64_t steps) {         \
    sweeps<VB, W>(work, N, steps);                                                                                 \
  }                                                                                                                \
  ATTR PSGM_PDE_CONTRACT PSGM_PDE_NOINLINE void solve_butler_volmer_##NAME(Constants const& k, double const* phis, \
                                                                           double* work, PackIo const& io) {       \
    solve_butler_volmer(Work<VB, WB>{work, k.N}, phis, io, k);                                                     \
  }                                                                                                                \
  ATTR void solve_pack_##NAME(Constants const& k, double const* phis, double* work, PackIo const& io) {            \
    if (k.butler_volmer)                                                                                           \
      solve_butler_volmer_##NAME(k, phis, work, io);                                                               \
    else                                                                                                           \
      solve_linear(Work<VB, WS>{work, k.N}, phis, io, k, time_loop_##NAME<WS>);                                    \
  }                                                                                                                \
  template <int W>                                                                                                 \
  ATTR void setup_linear_##NAME(Constants const& k, double const* phis, double* work, PackIo const& io) {          \
    setup_linear_impl(Work<VB, W>{work, k.N}, phis, io, k);                                                        \
  }

#if PSGM_HOST_X86
PSGM_PDE_ISA_VARIANT(avx512, PSGM_TARGET_AVX512, 64, width_avx512, bv_width_avx512)
PSGM_PDE_ISA_VARIANT(avx2, PSGM_TARGET_AVX2, 32, width_avx2, bv_width_avx2)
#endif
#if PSGM_HOST_SIMD
PSGM_PDE_ISA_VARIANT(baseline, , 16, width_baseline, bv_width_baseline)
#else
PSGM_PDE_ISA_VARIANT(baseline, , 8, width_baseline, bv_width_baseline)
#endif
#undef PSGM_PDE_ISA_VARIANT

/// Calls FN<W>(args...) of the variant for `isa` and width W in {4, 8, 16, 32}.
#define PSGM_PDE_WIDTH_CASES(FN, ...)          \
  switch (W) {                                 \
    case 8: return FN<8>(__VA_ARGS__);         \
    case 16: return FN<16>(__VA_ARGS__);       \
    case 32: return FN<32>(__VA_ARGS__);       \
    default: break;                            \
  }
#define PSGM_PDE_WIDTH_CASES_WITH_4(FN, ...)   \
  switch (W) {                                 \
    case 4: return FN<4>(__VA_ARGS__);         \
    case 8: return FN<8>(__VA_ARGS__);         \
    case 16: return FN<16>(__VA_ARGS__);       \
    case 32: return FN<32>(__VA_ARGS__);       \
    default: break;                            \
  }

}  // namespace

Isa best_isa() {
#if PSGM_HOST_X86
  return psgm::Impl::host_isa();  // the probe the native score backend uses too
#else
  return Isa::baseline;  // this translation unit holds the baseline variant only
#endif
}

bool supported(Isa isa) {
#if PSGM_HOST_X86
  return static_cast<int>(isa) <= static_cast<int>(best_isa());
#else
  return isa == Isa::baseline;
#endif
}

char const* name(Isa isa) {
#if PSGM_HOST_SIMD
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "baseline";
  }
#else
  (void)isa;
  return "scalar";
#endif
}

int pack_width(Isa isa, Kinetics kinetics) {
  bool const bv = kinetics == Kinetics::butler_volmer;
  switch (isa) {
    case Isa::avx512: return bv ? bv_width_avx512 : width_avx512;
    case Isa::avx2: return bv ? bv_width_avx2 : width_avx2;
    default: return bv ? bv_width_baseline : width_baseline;
  }
}

void sweep_widths(Isa isa, int* widths, int& count) {
  count = 0;
  if (isa != Isa::avx512) widths[count++] = 4;
  widths[count++] = 8;
  widths[count++] = 16;
  widths[count++] = 32;
}

void solve_pack(Isa isa, Constants const& k, double const* phis, double* work, PackIo const& io) {
  switch (isa) {
#if PSGM_HOST_X86
    case Isa::avx512: return solve_pack_avx512(k, phis, work, io);
    case Isa::avx2: return solve_pack_avx2(k, phis, work, io);
#endif
    default: return solve_pack_baseline(k, phis, work, io);
  }
}

void setup_linear(Isa isa, int W, Constants const& k, double const* phis, double* work, PackIo const& io) {
  switch (isa) {
#if PSGM_HOST_X86
    case Isa::avx512: PSGM_PDE_WIDTH_CASES(setup_linear_avx512, k, phis, work, io) break;
    case Isa::avx2: PSGM_PDE_WIDTH_CASES_WITH_4(setup_linear_avx2, k, phis, work, io) break;
#endif
    default: PSGM_PDE_WIDTH_CASES_WITH_4(setup_linear_baseline, k, phis, work, io) break;
  }
}

void time_loop(Isa isa, int W, double* work, int N, std::int64_t steps) {
  switch (isa) {
#if PSGM_HOST_X86
    case Isa::avx512: PSGM_PDE_WIDTH_CASES(time_loop_avx512, work, N, steps) break;
    case Isa::avx2: PSGM_PDE_WIDTH_CASES_WITH_4(time_loop_avx2, work, N, steps) break;
#endif
    default: PSGM_PDE_WIDTH_CASES_WITH_4(time_loop_baseline, work, N, steps) break;
  }
}

}  // namespace psgm::pde::Impl::host_packs

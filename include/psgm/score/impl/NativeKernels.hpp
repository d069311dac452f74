// Kernels of the native FiLM-CNN (docs/design.md §5, spec sgm.md §4), forward
// and backward. Each functor has two code paths over the same tiles:
//
//  * operator()(team): portable. One team per tile, one thread per output
//    channel, that thread accumulating the tile's rows in registers. This is
//    what runs on GPUs (threads coalesce over channels; the input rows every
//    thread of a warp reads are broadcasts) and what tests run on the host to
//    check it.
//  * operator()(HostTile, task): the same tile through the register-blocked
//    CPU micro-kernels of impl/NativeHostKernels.hpp. Host spaces only.
//
// Which one runs is NativeKernels (NativeScoreModel.hpp); docs/native_backend.md
// has the measurements. Tiles never share outputs, and every reduction is a
// serial loop in a fixed order, so results do not depend on the thread count.
//
// Functors carry raw pointers into the model's Views plus the layout: the
// buffers are padded (impl/NativeLayout.hpp) and the kernels index them with
// explicit strides, like Kokkos Kernels' micro-kernels do.
#pragma once

#include <psgm/core/KokkosCompat.hpp>
#include <psgm/score/impl/NativeHostKernels.hpp>
#include <psgm/score/impl/NativeLayout.hpp>

#include <Kokkos_Core.hpp>

namespace psgm {
namespace score {
namespace Impl {

/// Tag of the host-tile code path.
struct HostTile {};

inline constexpr int native_rows = native_host::max_rows;
/// Columns one host tile processes at once (bounds the tile buffer on the stack).
inline constexpr int native_host_cols = 256;

template <class T>
KOKKOS_INLINE_FUNCTION T silu_d(T p) {
  T const s = math::sigmoid(p);
  return s * (T(1) + p * (T(1) - s));
}

// ====================================================================== forward

/// z = [cond, sin(ω_k t), cos(ω_k t)] (ω_k = 2π 2^k) and the output affine
/// (g, o) = out_affine(z), one sample per iteration (docs/design.md §5).
template <class T>
struct EmbedFunctor {
  NativeLayout lay;
  T const* t;         ///< network time in T, or
  double const* td;   ///< in double (EDM's c_noise(σ), the trainer's times); exactly one is set
  T const* cond;
  T* z;
  T const* oa_w;
  T const* oa_b;
  T* oa;

  KOKKOS_INLINE_FUNCTION void operator()(int b) const {
    T* zb = z + native_index(b) * lay.ldz;
    for (int i = 0; i < lay.cond_dim; ++i) zb[i] = cond[native_index(b) * lay.cond_dim + i];
    // Evaluated in double and rounded to T, as the LibTorch backend and the
    // Python definition do: sin(2π 2^15 t) in float arithmetic would lose
    // two digits to the rounding of the argument.
    double const tb = td ? td[b] : double(t[b]);
    double omega = 6.283185307179586476925286766559;  // ω_k = 2π 2^k (doubling is exact)
    for (int k = 0; k < lay.F; ++k) {
      double const arg = tb * omega;
      zb[lay.cond_dim + k] = static_cast<T>(math::sin(arg));
      zb[lay.cond_dim + lay.F + k] = static_cast<T>(math::cos(arg));
      omega *= 2.0;
    }
    for (int i = lay.Z; i < lay.ldz; ++i) zb[i] = T(0);
    for (int j = 0; j < 2 * lay.C; ++j) {
      T s = oa_b[j];
      for (int i = 0; i < lay.Z; ++i) s += oa_w[native_index(j) * lay.Z + i] * zb[i];
      oa[native_index(b) * 2 * lay.C + j] = s;
    }
  }
};

/// One FiLM layer of every block at once: out = act(in W^T + bias).
/// Tile = (block, R consecutive samples); columns = padded outputs.
template <class T, class ExecSpace>
struct FilmForwardFunctor {
  using member_type = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
  T const* in;
  native_index in_block;  ///< 0 when every block reads z
  int in_ld;
  int I;                  ///< input length
  T const* w;             ///< packed film_fwd(l) of block 0
  T const* bias;          ///< packed film_bias(l) of block 0
  native_index w_block;   ///< packed block stride
  T* pre;                 ///< pre-activations (may be null)
  T* out;
  native_index out_block;
  int out_ld;
  int width;              ///< padded outputs of the layer
  bool silu;
  int B, tiles;

  KOKKOS_INLINE_FUNCTION void operator()(member_type const& team) const {
    int const blk = team.league_rank() / tiles, b0 = (team.league_rank() % tiles) * native_rows;
    int const rows = math::min(native_rows, B - b0);
    T const* a = in + blk * in_block + native_index(b0) * in_ld;
    T const* wb = w + blk * w_block;
    T const* bb = bias + blk * w_block;
    native_index const ob = blk * out_block + native_index(b0) * out_ld;
    T* const pre_ = pre;
    T* const out_ = out;
    int const in_ld_ = in_ld, I_ = I, width_ = width, out_ld_ = out_ld;
    bool const silu_ = silu;
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, width_), [&](int o) {
      T acc[native_rows] = {};
      for (int i = 0; i < I_; ++i) {
        T const wv = wb[native_index(i) * width_ + o];
        for (int r = 0; r < native_rows; ++r)
          if (r < rows) acc[r] += a[native_index(r) * in_ld_ + i] * wv;
      }
      for (int r = 0; r < rows; ++r) {
        T const q = acc[r] + bb[o];
        if (pre_) pre_[ob + native_index(r) * out_ld_ + o] = q;
        out_[ob + native_index(r) * out_ld_ + o] = silu_ ? math::silu(q) : q;
      }
    });
  }

  void operator()(HostTile, int task) const {
    int const blk = task / tiles, b0 = (task % tiles) * native_rows;
    int const rows = math::min(native_rows, B - b0);
    alignas(64) T c[native_rows * native_host_cols];
    for (int o0 = 0; o0 < width; o0 += native_host_cols) {
      int const cw = math::min(native_host_cols, width - o0);
      native_host::gemm_rows(rows, 1, I, in + blk * in_block + native_index(b0) * in_ld, in_ld, nullptr,
                             w + blk * w_block + o0, 0, width, cw, c, cw);
      native_index const ob = blk * out_block + native_index(b0) * out_ld + o0;
      native_host::bias_act(rows, cw, c, cw, bias + blk * w_block + o0, silu, pre ? pre + ob : nullptr, out + ob,
                            out_ld);
    }
  }
};

/// Lift: h(b, n, o) = bias_o + sum_c W_oc x(b, c, n); padding lanes zero.
template <class T>
struct LiftFunctor {
  NativeLayout lay;
  T const* x;
  T const* w;
  T const* bias;
  T* h;
  KOKKOS_INLINE_FUNCTION void operator()(int bn) const {
    int const b = bn / lay.N, n = bn % lay.N;
    T* hr = h + native_index(bn) * lay.ldw;
    for (int o = 0; o < lay.W; ++o) {
      T s = bias[o];
      for (int c = 0; c < lay.C; ++c) s += w[native_index(o) * lay.C + c] * x[(native_index(b) * lay.C + c) * lay.N + n];
      hr[o] = s;
    }
    for (int o = lay.W; o < lay.ldw; ++o) hr[o] = T(0);
  }
};

/// Convolution (kernel K, replicate padding) fused with FiLM and SiLU:
///   a = conv(in) + bias;  y = silu(a (1 + γ) + β);  out = residual + y (or y).
/// Tile = (sample, R consecutive grid points); columns = output channels.
template <class T, class ExecSpace>
struct ConvForwardFunctor {
  using member_type = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
  NativeLayout lay;
  T const* in;
  T const* w;      ///< packed conv_fwd [K][W][ldw]
  T const* bias;   ///< packed conv_bias [ldw]
  T const* gb;     ///< FiLM (γ, β) of this block: row b at gb + b ldf
  int const* tab;  ///< [N][K]: clamp(n + k - pad)
  T* pre;          ///< a (may be null)
  T* out;
  T const* residual;  ///< may be null; may equal out
  int tiles;

  KOKKOS_INLINE_FUNCTION void operator()(member_type const& team) const {
    int const b = team.league_rank() / tiles, n0 = (team.league_rank() % tiles) * native_rows;
    NativeLayout const l = lay;
    int const rows = math::min(native_rows, l.N - n0);
    T const* a = in + b * l.hidden_sample();
    int const* tb = tab + native_index(n0) * l.K;
    T const* g = gb + native_index(b) * l.ldf;
    native_index const ob = b * l.hidden_sample() + native_index(n0) * l.ldw;
    T const* const w_ = w;
    T const* const bias_ = bias;
    T* const pre_ = pre;
    T* const out_ = out;
    T const* const res_ = residual;
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, l.ldw), [&](int o) {
      T acc[native_rows] = {};
      for (int k = 0; k < l.K; ++k) {
        T const* wk = w_ + native_index(k) * l.W * l.ldw + o;
        for (int i = 0; i < l.W; ++i) {
          T const wv = wk[native_index(i) * l.ldw];
          for (int r = 0; r < native_rows; ++r)
            if (r < rows) acc[r] += a[native_index(tb[r * l.K + k]) * l.ldw + i] * wv;
        }
      }
      for (int r = 0; r < rows; ++r) {
        native_index const at = ob + native_index(r) * l.ldw + o;
        T const av = acc[r] + bias_[o];
        if (pre_) pre_[at] = av;
        T const y = math::silu(av * (T(1) + g[o]) + g[l.ldw + o]);
        out_[at] = res_ ? res_[at] + y : y;
      }
    });
  }

  void operator()(HostTile, int task) const {
    int const b = task / tiles, n0 = (task % tiles) * native_rows;
    int const rows = math::min(native_rows, lay.N - n0);
    T const* g = gb + native_index(b) * lay.ldf;
    native_index const ob = b * lay.hidden_sample() + native_index(n0) * lay.ldw;
    alignas(64) T c[native_rows * native_host_cols];
    for (int o0 = 0; o0 < lay.ldw; o0 += native_host_cols) {
      int const cw = math::min(native_host_cols, lay.ldw - o0);
      native_host::gemm_rows(rows, lay.K, lay.W, in + b * lay.hidden_sample(), lay.ldw, tab + native_index(n0) * lay.K,
                             w + o0, native_index(lay.W) * lay.ldw, lay.ldw, cw, c, cw);
      native_host::film_silu(rows, cw, c, cw, bias + o0, g + o0, g + lay.ldw + o0, pre ? pre + ob + o0 : nullptr,
                             out + ob + o0, residual ? residual + ob + o0 : nullptr, lay.ldw);
    }
  }
};

/// Projection and output affine: out(b, c, n) = (bias_c + sum_o W_co h(b, n, o)) (1 + g_bc) + o_bc.
/// Also keeps the projection P (before the affine) when `proj` is given.
template <class T>
struct ProjectFunctor {
  NativeLayout lay;
  T const* h;
  T const* w;
  T const* bias;
  T const* oa;
  T* proj;  ///< may be null
  T* out;
  native_index out_stride_b, out_stride_c;  ///< strides of `out` (b, c); n has stride 1
  KOKKOS_INLINE_FUNCTION void operator()(int bn) const {
    int const b = bn / lay.N, n = bn % lay.N;
    T const* hr = h + native_index(bn) * lay.ldw;
    for (int c = 0; c < lay.C; ++c) {
      T s = bias[c];
      for (int o = 0; o < lay.W; ++o) s += w[native_index(c) * lay.W + o] * hr[o];
      if (proj) proj[(native_index(b) * lay.C + c) * lay.N + n] = s;
      T const* ob = oa + native_index(b) * 2 * lay.C;
      out[b * out_stride_b + c * out_stride_c + n] = s * (T(1) + ob[c]) + ob[lay.C + c];
    }
  }
};

/// Copies the canonical weights of the residual blocks into the packed
/// layouts, one packed row per iteration (the row's source is decoded once,
/// then its columns are gathered). Padding is never written: it stays zero.
template <class T>
struct PackBlocksFunctor {
  NativeLayout lay;
  T const* params;
  T* packed;

  KOKKOS_INLINE_FUNCTION int rows_per_block() const {
    int r = 4 * lay.K * lay.W + 2;
    for (int l = 0; l < lay.L; ++l) r += lay.film_in(l) + lay.film_out(l) + 1;
    return r;
  }

  KOKKOS_INLINE_FUNCTION void operator()(int row) const {
    int const per = rows_per_block();
    int const blk = row / per;
    int r = row % per;
    T const* src = params + lay.block(blk);
    T* dst = packed + lay.pblock(blk);
    int const W = lay.W, K = lay.K, KW = K * W;
    if (r < 2 * KW) {  // conv_fwd(c) row (k, i): [o] <- w[o][i][k]
      int const c = r / KW, k = r % KW / W, i = r % W;
      T const* s = src + lay.conv_w(c) + native_index(i) * K + k;
      T* d = dst + lay.pconv_fwd(c) + (native_index(k) * W + i) * lay.ldw;
      for (int o = 0; o < W; ++o) d[o] = s[native_index(o) * KW];
      return;
    }
    r -= 2 * KW;
    if (r < 2 * KW) {  // conv_bwd(c) row (k, o): [i] <- w[o][i][k]
      int const c = r / KW, k = r % KW / W, o = r % W;
      T const* s = src + lay.conv_w(c) + native_index(o) * KW + k;
      T* d = dst + lay.pconv_bwd(c) + (native_index(k) * W + o) * lay.ldw;
      for (int i = 0; i < W; ++i) d[i] = s[native_index(i) * K];
      return;
    }
    r -= 2 * KW;
    if (r < 2) {
      for (int o = 0; o < W; ++o) dst[lay.pconv_bias(r) + o] = src[lay.conv_b(r) + o];
      return;
    }
    r -= 2;
    for (int l = 0; l < lay.L; ++l) {
      int const in = lay.film_in(l), out = lay.film_out(l);
      T const* w = src + lay.film_w(l);
      if (r < in) {  // film_fwd(l) row i: [jc] <- w[j][i]
        T* d = dst + lay.pfilm_fwd(l) + native_index(r) * lay.film_out_ld(l);
        for (int j = 0; j < out; ++j) d[lay.film_out_col(l, j)] = w[native_index(j) * in + r];
        return;
      }
      r -= in;
      if (r < out) {  // film_bwd(l) row jc: [i] <- w[j][i]
        T* d = dst + lay.pfilm_bwd(l) + native_index(lay.film_out_col(l, r)) * lay.film_in_ld(l);
        for (int i = 0; i < in; ++i) d[i] = w[native_index(r) * in + i];
        return;
      }
      r -= out;
      if (r == 0) {
        for (int j = 0; j < out; ++j) dst[lay.pfilm_bias(l) + lay.film_out_col(l, j)] = src[lay.film_b(l) + j];
        return;
      }
      r -= 1;
    }
  }
};

/// The weights outside the blocks (lift; projection and output affine), copied as they are.
template <class T>
struct PackOuterFunctor {
  NativeLayout lay;
  T const* params;
  T* packed;
  KOKKOS_INLINE_FUNCTION void operator()(native_index e) const {
    native_index const idx = e < lay.block(0) ? e : lay.proj_w() + (e - lay.block(0));
    packed[lay.pouter(idx)] = params[idx];
  }
};

/// EDM preconditioning (Karras et al. 2022), before the network: x_in = c_in(σ) x,
/// t_in = c_noise(σ).
template <class T, class Edm>
struct EdmInputFunctor {
  Edm edm;
  int C, N;
  T const* x;
  T const* sigma;
  T* x_in;
  double* t_in;
  KOKKOS_INLINE_FUNCTION void operator()(int b) const {
    double const s = sigma[b];
    T const cin = static_cast<T>(edm.c_in(s));
    t_in[b] = edm.c_noise(s);  // the embedding takes it in double
    for (native_index e = native_index(b) * C * N; e < native_index(b + 1) * C * N; ++e) x_in[e] = cin * x[e];
  }
};

/// After the network: score = (c_skip x + c_out F - x) / σ², in place on out.
template <class T, class Edm>
struct EdmScoreFunctor {
  Edm edm;
  int C, N;
  T const* x;
  T const* sigma;
  T* out;
  KOKKOS_INLINE_FUNCTION void operator()(int b) const {
    double const s = sigma[b];
    T const cs = static_cast<T>(edm.c_skip(s)), co = static_cast<T>(edm.c_out(s)), is2 = static_cast<T>(1.0 / (s * s));
    for (native_index e = native_index(b) * C * N; e < native_index(b + 1) * C * N; ++e)
      out[e] = (cs * x[e] + co * out[e] - x[e]) * is2;
  }
};

// ====================================================================== backward

/// The unified denoising-score-matching loss (psgm/score/Trainer.hpp, DsmBatch)
/// per sample and its gradient:
///   loss_b = sum_{c,n} (a_b F - y)^2 / (B C N),   dF = 2 a_b (a_b F - y) / (B C N),
/// and, when dF is wanted, the gradient of the output affine (g, o):
///   dg_c = sum_n dF P,  do_c = sum_n dF   (P the projection before the affine).
template <class T>
struct LossFunctor {
  NativeLayout lay;
  int B;
  T const* F;
  T const* a;
  T const* y;
  T const* proj;  ///< null: loss only
  T* dF;
  T* doa;
  double* loss;
  KOKKOS_INLINE_FUNCTION void operator()(int b) const {
    T const scale = T(1.0 / (double(B) * lay.C * lay.N));
    double sum = 0;
    T const ab = a[b];
    for (int c = 0; c < lay.C; ++c) {
      T dg = 0, dof = 0;
      for (int n = 0; n < lay.N; ++n) {
        native_index const e = (native_index(b) * lay.C + c) * lay.N + n;
        T const r = ab * F[e] - y[e];
        sum += double(r) * double(r);
        if (proj) {
          T const d = T(2) * scale * ab * r;
          dF[e] = d;
          dg += d * proj[e];
          dof += d;
        }
      }
      if (proj) {
        doa[native_index(b) * 2 * lay.C + c] = dg;
        doa[native_index(b) * 2 * lay.C + lay.C + c] = dof;
      }
    }
    loss[b] = sum / (double(B) * lay.C * lay.N);
  }
};

/// Gradient of the output affine weights: one weight (j, i) per iteration,
/// i == Z is the bias.
template <class T>
struct OutAffineGradFunctor {
  NativeLayout lay;
  int B;
  T const* doa;
  T const* z;
  T* grad;
  KOKKOS_INLINE_FUNCTION void operator()(int ji) const {
    int const j = ji / (lay.Z + 1), i = ji % (lay.Z + 1);
    T s = 0;
    for (int b = 0; b < B; ++b) s += doa[native_index(b) * 2 * lay.C + j] * (i < lay.Z ? z[native_index(b) * lay.ldz + i] : T(1));
    if (i < lay.Z)
      grad[lay.oa_w() + native_index(j) * lay.Z + i] = s;
    else
      grad[lay.oa_b() + j] = s;
  }
};

/// Gradient of the projection weights (c, o), o == W the bias, with
/// dP = dF (1 + g).
template <class T>
struct ProjGradFunctor {
  NativeLayout lay;
  int B;
  T const* dF;
  T const* oa;
  T const* h;
  T* grad;
  KOKKOS_INLINE_FUNCTION void operator()(int co) const {
    int const c = co / (lay.W + 1), o = co % (lay.W + 1);
    T s = 0;
    for (int b = 0; b < B; ++b) {
      T const g1 = T(1) + oa[native_index(b) * 2 * lay.C + c];
      T sb = 0;
      for (int n = 0; n < lay.N; ++n) {
        T const d = dF[(native_index(b) * lay.C + c) * lay.N + n];
        sb += d * (o < lay.W ? h[(native_index(b) * lay.N + n) * lay.ldw + o] : T(1));
      }
      s += g1 * sb;
    }
    if (o < lay.W)
      grad[lay.proj_w() + native_index(c) * lay.W + o] = s;
    else
      grad[lay.proj_b() + c] = s;
  }
};

/// dL/dh of the last hidden state: g(b, n, o) = sum_c W_co dF(b, c, n) (1 + g_bc).
template <class T>
struct ProjBackwardFunctor {
  NativeLayout lay;
  T const* dF;
  T const* oa;
  T const* w;
  T* g;
  KOKKOS_INLINE_FUNCTION void operator()(int bn) const {
    int const b = bn / lay.N, n = bn % lay.N;
    T* gr = g + native_index(bn) * lay.ldw;
    for (int o = 0; o < lay.ldw; ++o) gr[o] = T(0);
    for (int c = 0; c < lay.C; ++c) {
      T const d = dF[(native_index(b) * lay.C + c) * lay.N + n] * (T(1) + oa[native_index(b) * 2 * lay.C + c]);
      for (int o = 0; o < lay.W; ++o) gr[o] += w[native_index(c) * lay.W + o] * d;
    }
  }
};

/// Gradient of the lift weights (o, c), c == C the bias.
template <class T>
struct LiftGradFunctor {
  NativeLayout lay;
  int B;
  T const* g;
  T const* x;
  T* grad;
  KOKKOS_INLINE_FUNCTION void operator()(int oc) const {
    int const o = oc / (lay.C + 1), c = oc % (lay.C + 1);
    T s = 0;
    for (int b = 0; b < B; ++b)
      for (int n = 0; n < lay.N; ++n)
        s += g[(native_index(b) * lay.N + n) * lay.ldw + o] * (c < lay.C ? x[(native_index(b) * lay.C + c) * lay.N + n] : T(1));
    if (c < lay.C)
      grad[lay.lift_w() + native_index(o) * lay.C + c] = s;
    else
      grad[lay.lift_b() + o] = s;
  }
};

/// First step back through a block's second FiLM-SiLU, one sample per team:
///   da2 = g silu'(p2) (1 + γ), dγ = sum_n g silu'(p2) a2, dβ = sum_n g silu'(p2);
/// and recomputes u1 = silu(a1 (1 + γ) + β), the input of conv2.
template <class T, class ExecSpace>
struct BlockOutputBackwardFunctor {
  using member_type = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
  NativeLayout lay;
  T const* g;    ///< dL/dh_out, hidden layout
  T const* a1;
  T const* a2;
  T const* gb;   ///< (γ, β) rows of this block
  T const* zeros;  ///< ldw zeros
  T* da2;        ///< extended layout
  T* u1;         ///< hidden layout
  T* dgb;        ///< (dγ, dβ) rows of this block (overwritten)

  KOKKOS_INLINE_FUNCTION void operator()(member_type const& team) const {
    int const b = team.league_rank();
    NativeLayout const l = lay;
    native_index const hs = b * l.hidden_sample(), xs = b * l.extended_sample();
    T const* gm = gb + native_index(b) * l.ldf;
    T* dg = dgb + native_index(b) * l.ldf;
    T const *const g_ = g, *const a1_ = a1, *const a2_ = a2;
    T *const da2_ = da2, *const u1_ = u1;
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, l.ldw), [&](int o) {
      T const g1 = T(1) + gm[o], be = gm[l.ldw + o];
      T sg = 0, sb = 0;
      for (int n = 0; n < l.N; ++n) {
        native_index const at = hs + native_index(n) * l.ldw + o;
        T const av = a2_[at];
        T const dp = g_[at] * silu_d(av * g1 + be);
        sg += dp * av;
        sb += dp;
        da2_[xs + native_index(n) * l.ldw + o] = dp * g1;
        u1_[at] = math::silu(a1_[at] * g1 + be);
      }
      dg[o] = sg;
      dg[l.ldw + o] = sb;
    });
  }

  void operator()(HostTile, int b) const {
    native_index const hs = b * lay.hidden_sample(), xs = b * lay.extended_sample();
    T const* gm = gb + native_index(b) * lay.ldf;
    T* dg = dgb + native_index(b) * lay.ldf;
    for (int o = 0; o < 2 * lay.ldw; ++o) dg[o] = T(0);
    for (int n0 = 0; n0 < lay.N; n0 += native_rows) {
      int const rows = math::min(native_rows, lay.N - n0);
      native_index const at = hs + native_index(n0) * lay.ldw;
      native_host::film_silu_backward(rows, lay.ldw, g + at, lay.ldw, a2 + at, gm, gm + lay.ldw,
                                      da2 + xs + native_index(n0) * lay.ldw, dg, dg + lay.ldw, lay.ldw);
      native_host::film_silu(rows, lay.ldw, a1 + at, lay.ldw, zeros, gm, gm + lay.ldw, nullptr, u1 + at, nullptr,
                             lay.ldw);
    }
  }
};

/// Transposed convolution of the backward pass, one sample per team:
///   du(m, i) = sum_k sum_o G_k(m, o) W(o, i, k),
/// G_k(m) the sum of da(n) over the n with clamp(n + k - pad) = m (one row
/// inside, a sum of rows at the replicate-padded ends). The end sums are
/// written into rows N.. of the sample's extended buffer first; the table
/// maps (m, k) to a row of that buffer (or to its zero row N + 2K).
/// Epilogue, mode film: the block's first FiLM-SiLU backward (da1 into da_out,
/// dγ, dβ accumulated); mode residual: g += du (dL/dh of the block input).
template <class T, class ExecSpace>
struct ConvBackwardDataFunctor {
  using member_type = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
  NativeLayout lay;
  T* da;              ///< extended layout; rows N.. are written here
  T const* w;         ///< packed conv_bwd [K][W(o)][ldw(i)]
  int const* tab;     ///< [N][K] rows of the extended buffer
  bool film;          ///< epilogue mode
  T const* a1;        ///< film: pre-FiLM conv1 output (hidden layout)
  T const* gb;        ///< film: (γ, β) rows
  T* da_out;          ///< film: da1 (extended layout)
  T* dgb;             ///< film: (dγ, dβ) rows, accumulated
  T* g;               ///< residual: dL/dh (hidden layout), g += du

  /// Column o of the end sums of one sample (pad may exceed N - 1 for tiny grids).
  static KOKKOS_INLINE_FUNCTION void end_sums(NativeLayout const& l, T* d, int o) {
    int const N = l.N, K = l.K, pad = l.pad, ldw = l.ldw;
    T s = 0;
    for (int k = pad; k >= 0; --k) {
      if (pad - k < N) s += d[native_index(pad - k) * ldw + o];
      d[native_index(N + k) * ldw + o] = s;
    }
    s = 0;
    for (int k = pad; k < K; ++k) {
      if (N - 1 + pad - k >= 0) s += d[native_index(N - 1 + pad - k) * ldw + o];
      d[native_index(N + K + k) * ldw + o] = s;
    }
  }

  KOKKOS_INLINE_FUNCTION void operator()(member_type const& team) const {
    int const b = team.league_rank();
    NativeLayout const l = lay;
    T* d = da + b * l.extended_sample();
    T const* const w_ = w;
    int const* const tab_ = tab;
    // End sums: left_k = sum_{n <= pad - k} da(n) (k <= pad) in row N + k,
    // right_k = sum_{n >= N-1+pad-k} da(n) (k >= pad) in row N + K + k.
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, l.ldw), [&](int o) { end_sums(l, d, o); });
    team.team_barrier();
    native_index const hs = b * l.hidden_sample();
    T const* gm = gb ? gb + native_index(b) * l.ldf : nullptr;
    T* dg = dgb ? dgb + native_index(b) * l.ldf : nullptr;
    bool const film_ = film;
    T const* const a1_ = a1;
    T* const dout_ = da_out ? da_out + b * l.extended_sample() : nullptr;
    T* const g_ = g;
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, l.ldw), [&](int i) {
      T sg = 0, sb = 0;
      for (int m0 = 0; m0 < l.N; m0 += native_rows) {
        int const rows = math::min(native_rows, l.N - m0);
        T acc[native_rows] = {};
        for (int k = 0; k < l.K; ++k) {
          T const* wk = w_ + native_index(k) * l.W * l.ldw + i;
          for (int o = 0; o < l.W; ++o) {
            T const wv = wk[native_index(o) * l.ldw];
            for (int r = 0; r < native_rows; ++r)
              if (r < rows) acc[r] += d[native_index(tab_[(m0 + r) * l.K + k]) * l.ldw + o] * wv;
          }
        }
        for (int r = 0; r < rows; ++r) {
          native_index const at = hs + native_index(m0 + r) * l.ldw + i;
          if (film_) {
            T const g1 = T(1) + gm[i];
            T const av = a1_[at];
            T const dp = acc[r] * silu_d(av * g1 + gm[l.ldw + i]);
            sg += dp * av;
            sb += dp;
            dout_[native_index(m0 + r) * l.ldw + i] = dp * g1;
          } else {
            g_[at] += acc[r];
          }
        }
      }
      if (film_) {
        dg[i] += sg;
        dg[l.ldw + i] += sb;
      }
    });
  }

  void operator()(HostTile, int b) const {
    T* d = da + b * lay.extended_sample();
    int const ldw = lay.ldw;
    for (int o = 0; o < ldw; ++o) end_sums(lay, d, o);
    native_index const hs = b * lay.hidden_sample();
    alignas(64) T c[native_rows * native_host_cols];
    for (int m0 = 0; m0 < lay.N; m0 += native_rows) {
      int const rows = math::min(native_rows, lay.N - m0);
      for (int i0 = 0; i0 < ldw; i0 += native_host_cols) {
        int const cw = math::min(native_host_cols, ldw - i0);
        native_host::gemm_rows(rows, lay.K, lay.W, d, ldw, tab + native_index(m0) * lay.K, w + i0,
                               native_index(lay.W) * ldw, ldw, cw, c, cw);
        native_index const at = hs + native_index(m0) * ldw + i0;
        if (film) {
          T const* gm = gb + native_index(b) * lay.ldf;
          T* dg = dgb + native_index(b) * lay.ldf;
          native_host::film_silu_backward(rows, cw, c, cw, a1 + at, gm + i0, gm + ldw + i0,
                                          da_out + b * lay.extended_sample() + native_index(m0) * ldw + i0, dg + i0,
                                          dg + ldw + i0, ldw);
        } else {
          for (int r = 0; r < rows; ++r)
            for (int i = 0; i < cw; ++i) g[at + native_index(r) * ldw + i] += c[r * cw + i];
        }
      }
    }
  }
};

/// Weight gradient of a convolution, in deterministic partial sums over
/// fixed chunks of samples:
///   partial[chunk][k][i][o] = sum_{b in chunk} sum_n in(b, clamp(n+k-pad), i) da(b, n, o),
///   partial[chunk][K][0][o] = sum_{b in chunk} sum_n da(b, n, o)   (the bias)
/// Tile = (chunk, tap k, R input channels); columns = output channels.
template <class T, class ExecSpace>
struct ConvWeightGradFunctor {
  using member_type = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
  NativeLayout lay;
  int B, chunk;
  T const* in;     ///< forward input of the convolution (hidden layout)
  T const* da;     ///< extended layout
  int const* tap;  ///< [K][N]: clamp(n + k - pad)
  T* partial;
  int itiles;

  KOKKOS_INLINE_FUNCTION native_index partial_at(int ch, int k, int i) const {
    return ((native_index(ch) * (lay.K + 1) + k) * lay.W + i) * lay.ldw;
  }

  KOKKOS_INLINE_FUNCTION void operator()(member_type const& team) const {
    int const task = team.league_rank();
    int const it = task % itiles, k = task / itiles % (lay.K + 1), ch = task / itiles / (lay.K + 1);
    if (k == lay.K && it > 0) return;
    NativeLayout const l = lay;
    int const b0 = ch * chunk, b1 = math::min(B, b0 + chunk), i0 = it * native_rows;
    int const rows = k == l.K ? 1 : math::min(native_rows, l.W - i0);
    T* p = partial + partial_at(ch, k, i0);
    T const *const in_ = in, *const da_ = da;
    int const* tk = tap + native_index(k) * l.N;
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, l.ldw), [&](int o) {
      T acc[native_rows] = {};
      for (int b = b0; b < b1; ++b) {
        T const* db = da_ + b * l.extended_sample() + o;
        if (k == l.K) {
          for (int n = 0; n < l.N; ++n) acc[0] += db[native_index(n) * l.ldw];
        } else {
          T const* ib = in_ + b * l.hidden_sample() + i0;
          for (int n = 0; n < l.N; ++n) {
            T const dv = db[native_index(n) * l.ldw];
            T const* ir = ib + native_index(tk[n]) * l.ldw;
            for (int r = 0; r < native_rows; ++r)
              if (r < rows) acc[r] += ir[r] * dv;
          }
        }
      }
      for (int r = 0; r < rows; ++r) p[native_index(r) * l.ldw + o] = acc[r];
    });
  }

  void operator()(HostTile, int task) const {
    int const it = task % itiles, k = task / itiles % (lay.K + 1), ch = task / itiles / (lay.K + 1);
    if (k == lay.K && it > 0) return;
    int const b0 = ch * chunk, b1 = math::min(B, b0 + chunk), i0 = it * native_rows;
    T* p = partial + partial_at(ch, k, i0);
    int const ldw = lay.ldw;
    if (k == lay.K) {
      for (int o = 0; o < ldw; ++o) p[o] = T(0);
      for (int b = b0; b < b1; ++b) {
        T const* db = da + b * lay.extended_sample();
        for (int n = 0; n < lay.N; ++n)
          for (int o = 0; o < ldw; ++o) p[o] += db[native_index(n) * ldw + o];
      }
      return;
    }
    int const rows = math::min(native_rows, lay.W - i0);
    for (native_index e = 0; e < native_index(rows) * ldw; ++e) p[e] = T(0);
    for (int b = b0; b < b1; ++b)
      native_host::gemm_outer_acc(rows, lay.N, in + b * lay.hidden_sample() + i0, ldw, tap + native_index(k) * lay.N,
                                  da + b * lay.extended_sample(), ldw, ldw, p, ldw);
  }
};

/// Sums the chunk partials of a convolution's weight gradient into the
/// canonical gradient (weights [o][i][k], then the bias).
template <class T>
struct ConvWeightGradReduceFunctor {
  NativeLayout lay;
  int chunks;
  T const* partial;
  T* grad_w;  ///< canonical conv weight gradient of this convolution
  T* grad_b;
  KOKKOS_INLINE_FUNCTION void operator()(int e) const {
    native_index const per_chunk = native_index(lay.K + 1) * lay.W * lay.ldw;
    if (e < lay.W * lay.W * lay.K) {
      int const k = e % lay.K, i = e / lay.K % lay.W, o = e / (lay.K * lay.W);
      T s = 0;
      for (int ch = 0; ch < chunks; ++ch) s += partial[ch * per_chunk + (native_index(k) * lay.W + i) * lay.ldw + o];
      grad_w[e] = s;
    } else {
      int const o = e - lay.W * lay.W * lay.K;
      T s = 0;
      for (int ch = 0; ch < chunks; ++ch) s += partial[ch * per_chunk + native_index(lay.K) * lay.W * lay.ldw + o];
      grad_b[o] = s;
    }
  }
};

/// Weight gradient of FiLM layer l of every block:
///   dW(j, i) = sum_b dq(b, j) in(b, i),  dbias(j) = sum_b dq(b, j).
/// Tile = (block, R padded outputs j); columns = inputs i (the last, i == in, is the bias).
template <class T, class ExecSpace>
struct FilmWeightGradFunctor {
  using member_type = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
  NativeLayout lay;
  int l, B;
  T const* dq;            ///< (nb, B, ldf)
  T const* in;            ///< layer input
  native_index in_block;  ///< 0 for z
  int in_ld;
  T* grad;                ///< canonical gradient (whole vector)
  int jtiles;

  KOKKOS_INLINE_FUNCTION void store(int blk, int jc, int i, T v) const { store(lay, l, grad, blk, jc, i, v); }
  /// Writes dW(j, i) (i == in: the bias) of block blk; jc is the padded
  /// output column (padding columns are dropped).
  static KOKKOS_INLINE_FUNCTION void store(NativeLayout const& lay, int l, T* grad, int blk, int jc, int i, T v) {
    int j;
    if (l == lay.L - 1) {
      if (jc < lay.W) j = jc;
      else if (jc >= lay.ldw && jc < lay.ldw + lay.W) j = lay.W + (jc - lay.ldw);
      else return;
    } else {
      if (jc >= lay.H) return;
      j = jc;
    }
    int const nin = lay.film_in(l);
    native_index const base = lay.block(blk);
    if (i < nin)
      grad[base + lay.film_w(l) + native_index(j) * nin + i] = v;
    else if (i == nin)
      grad[base + lay.film_b(l) + j] = v;
  }

  KOKKOS_INLINE_FUNCTION void operator()(member_type const& team) const {
    int const blk = team.league_rank() / jtiles, j0 = (team.league_rank() % jtiles) * native_rows;
    int const width = lay.film_out_ld(l);
    int const rows = math::min(native_rows, width - j0);
    int const nin = lay.film_in(l);
    T const* dqb = dq + native_index(blk) * B * lay.ldf + j0;
    T const* inb = in + blk * in_block;
    int const ldf = lay.ldf, in_ld_ = in_ld, B_ = B, layer = l;
    NativeLayout const lay_ = lay;
    T* const grad_ = grad;
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, nin + 1), [&](int i) {
      T acc[native_rows] = {};
      for (int b = 0; b < B_; ++b) {
        T const x = i < nin ? inb[native_index(b) * in_ld_ + i] : T(1);
        for (int r = 0; r < native_rows; ++r)
          if (r < rows) acc[r] += dqb[native_index(b) * ldf + r] * x;
      }
      for (int r = 0; r < rows; ++r) store(lay_, layer, grad_, blk, j0 + r, i, acc[r]);
    });
  }

  void operator()(HostTile, int task) const {
    int const blk = task / jtiles, j0 = (task % jtiles) * native_rows;
    int const width = lay.film_out_ld(l);
    int const rows = math::min(native_rows, width - j0);
    int const nin = lay.film_in(l);
    T const* dqb = dq + native_index(blk) * B * lay.ldf + j0;
    T const* inb = in + blk * in_block;
    int const in_width = lay.film_in_ld(l);
    alignas(64) T c[native_rows * native_host_cols];
    for (int i0 = 0; i0 < in_width; i0 += native_host_cols) {
      int const cw = math::min(native_host_cols, in_width - i0);
      for (int e = 0; e < native_rows * cw; ++e) c[e] = T(0);
      native_host::gemm_outer_acc(rows, B, dqb, lay.ldf, nullptr, inb + i0, in_ld, cw, c, cw);
      for (int r = 0; r < rows; ++r)
        for (int i = 0; i < cw && i0 + i < nin; ++i) store(blk, j0 + r, i0 + i, c[r * cw + i]);
    }
    for (int r = 0; r < rows; ++r) {
      T s = 0;
      for (int b = 0; b < B; ++b) s += dqb[native_index(b) * lay.ldf + r];
      store(blk, j0 + r, nin, s);
    }
  }
};

/// Data gradient through FiLM layer l (l > 0) of every block, then through
/// the SiLU of layer l-1: dq_prev = (dq W) silu'(q_prev).
template <class T, class ExecSpace>
struct FilmBackwardDataFunctor {
  using member_type = typename Kokkos::TeamPolicy<ExecSpace>::member_type;
  NativeLayout lay;
  int l, B, tiles;
  T const* dq;        ///< (nb, B, ldf)
  T const* w;         ///< packed film_bwd(l) of block 0: [out_ld][in_ld]
  native_index w_block;
  T const* q_prev;    ///< pre-activations of layer l-1: (nb, B, ldf)
  T* dq_prev;         ///< (nb, B, ldf)

  KOKKOS_INLINE_FUNCTION void operator()(member_type const& team) const {
    int const blk = team.league_rank() / tiles, b0 = (team.league_rank() % tiles) * native_rows;
    int const rows = math::min(native_rows, B - b0);
    int const I = lay.film_out_ld(l), width = lay.film_in_ld(l), ldf = lay.ldf;
    native_index const base = (native_index(blk) * B + b0) * ldf;
    T const* a = dq + base;
    T const* wb = w + blk * w_block;
    T const* const q_ = q_prev;
    T* const dqp = dq_prev;
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, width), [&](int i) {
      T acc[native_rows] = {};
      for (int j = 0; j < I; ++j) {
        T const wv = wb[native_index(j) * width + i];
        for (int r = 0; r < native_rows; ++r)
          if (r < rows) acc[r] += a[native_index(r) * ldf + j] * wv;
      }
      for (int r = 0; r < rows; ++r) {
        native_index const at = base + native_index(r) * ldf + i;
        dqp[at] = acc[r] * silu_d(q_[at]);
      }
    });
  }

  void operator()(HostTile, int task) const {
    int const blk = task / tiles, b0 = (task % tiles) * native_rows;
    int const rows = math::min(native_rows, B - b0);
    int const I = lay.film_out_ld(l), width = lay.film_in_ld(l), ldf = lay.ldf;
    native_index const base = (native_index(blk) * B + b0) * ldf;
    alignas(64) T c[native_rows * native_host_cols];
    for (int i0 = 0; i0 < width; i0 += native_host_cols) {
      int const cw = math::min(native_host_cols, width - i0);
      native_host::gemm_rows(rows, 1, I, dq + base, ldf, nullptr, w + blk * w_block + i0, 0, width, cw, c, cw);
      native_host::silu_backward(rows, cw, c, cw, q_prev + base + i0, dq_prev + base + i0, ldf);
    }
  }
};

}  // namespace Impl
}  // namespace score
}  // namespace psgm

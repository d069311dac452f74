// Where the native backend keeps things: the canonical flat weight vector
// (the order of psgm::model::parameter_shapes, i.e. the PyTorch state_dict),
// the packed copies the kernels read, and the padded activation buffers.
//
// Activations are stored position-major, channels contiguous: h(b, n, o) at
// h[(b N + n) ldw + o], ldw = W rounded up to 64 bytes. The CPU micro-kernels
// then vectorise over output channels and the GPU kernels coalesce over them;
// the padding lanes hold zeros so a vector never straddles two rows.
//
// Packed weights, per residual block (all padding zero):
//   conv_fwd(c)  [K][W(in)][ldw(out)]   forward convolution c = 0, 1 (conv1, conv2)
//   conv_bwd(c)  [K][W(out)][ldw(in)]   its transpose, for the backward pass
//   conv_bias(c) [ldw]
//   film_fwd(l)  [in_l][out_ld_l]       FiLM layer l transposed (outputs contiguous)
//   film_bwd(l)  [out_ld_l][in_ld_l]    FiLM layer l (for the backward pass)
//   film_bias(l) [out_ld_l]
// The FiLM generator's last layer writes γ to columns [0, W) and β to
// columns [ldw, ldw + W) of its padded output, so both are padded rows.
#pragma once

#include <psgm/model/ModelDescription.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>

namespace psgm {
namespace score {
namespace Impl {

using native_index = std::ptrdiff_t;

KOKKOS_INLINE_FUNCTION constexpr int round_up(int n, int m) { return (n + m - 1) / m * m; }

/// Sizes, strides and offsets of one architecture, for one scalar type.
/// Plain data with device-callable accessors: the kernels carry it by value.
struct NativeLayout {
  int C = 0, N = 0, W = 0, K = 0, pad = 0, F = 0, cond_dim = 0, Z = 0, H = 0, L = 0, nb = 0;
  int ldw = 0;  ///< padded width of hidden activations
  int ldz = 0;  ///< padded length of z = [cond, embedding]
  int ldh = 0;  ///< padded FiLM hidden width
  int ldf = 0;  ///< row stride of FiLM activation buffers: max(ldh, 2 ldw)
  int Nx = 0;   ///< rows per sample of the extended gradient buffers: N + 2K + 1

  NativeLayout() = default;
  NativeLayout(model::FilmCnnConfig const& c, int lanes)
      : C(c.channels), N(c.num_points), W(c.width), K(c.kernel_size), pad((c.kernel_size - 1) / 2),
        F(c.num_frequencies), cond_dim(c.cond_dim), Z(c.z_dim()), H(c.film_hidden), L(c.film_layers),
        nb(c.num_blocks) {
    ldw = round_up(W, lanes);
    ldz = round_up(Z, lanes);
    ldh = round_up(H, lanes);
    ldf = ldh > 2 * ldw ? ldh : 2 * ldw;
    Nx = N + 2 * K + 1;
  }

  // ---------------------------------------------------------------- FiLM layer shapes
  KOKKOS_INLINE_FUNCTION int film_in(int l) const { return l == 0 ? Z : H; }
  KOKKOS_INLINE_FUNCTION int film_out(int l) const { return l == L - 1 ? 2 * W : H; }
  KOKKOS_INLINE_FUNCTION int film_in_ld(int l) const { return l == 0 ? ldz : ldh; }
  KOKKOS_INLINE_FUNCTION int film_out_ld(int l) const { return l == L - 1 ? 2 * ldw : ldh; }
  /// Padded column of canonical FiLM output j (γ then β for the last layer).
  KOKKOS_INLINE_FUNCTION int film_out_col(int l, int j) const {
    return (l == L - 1 && j >= W) ? ldw + (j - W) : j;
  }

  // ---------------------------------------------------------------- canonical offsets
  KOKKOS_INLINE_FUNCTION native_index lift_w() const { return 0; }
  KOKKOS_INLINE_FUNCTION native_index lift_b() const { return native_index(W) * C; }
  KOKKOS_INLINE_FUNCTION native_index conv_size() const { return native_index(W) * W * K; }
  KOKKOS_INLINE_FUNCTION native_index film_size() const {
    native_index s = 0;
    for (int l = 0; l < L; ++l) s += native_index(film_out(l)) * (film_in(l) + 1);
    return s;
  }
  KOKKOS_INLINE_FUNCTION native_index block_size() const { return 2 * (conv_size() + W) + film_size(); }
  KOKKOS_INLINE_FUNCTION native_index block(int b) const { return lift_b() + W + native_index(b) * block_size(); }
  /// Offsets within a block.
  KOKKOS_INLINE_FUNCTION native_index conv_w(int c) const { return native_index(c) * (conv_size() + W); }
  KOKKOS_INLINE_FUNCTION native_index conv_b(int c) const { return conv_w(c) + conv_size(); }
  KOKKOS_INLINE_FUNCTION native_index film_w(int l) const {
    native_index s = 2 * (conv_size() + W);
    for (int m = 0; m < l; ++m) s += native_index(film_out(m)) * (film_in(m) + 1);
    return s;
  }
  KOKKOS_INLINE_FUNCTION native_index film_b(int l) const { return film_w(l) + native_index(film_out(l)) * film_in(l); }
  KOKKOS_INLINE_FUNCTION native_index proj_w() const { return block(nb); }
  KOKKOS_INLINE_FUNCTION native_index proj_b() const { return proj_w() + native_index(C) * W; }
  KOKKOS_INLINE_FUNCTION native_index oa_w() const { return proj_b() + C; }
  KOKKOS_INLINE_FUNCTION native_index oa_b() const { return oa_w() + native_index(2 * C) * Z; }
  KOKKOS_INLINE_FUNCTION native_index num_parameters() const { return oa_b() + 2 * C; }

  // ---------------------------------------------------------------- packed offsets (within a block)
  KOKKOS_INLINE_FUNCTION native_index pconv_size() const { return native_index(K) * W * ldw; }
  KOKKOS_INLINE_FUNCTION native_index pconv_fwd(int c) const { return c * pconv_size(); }
  KOKKOS_INLINE_FUNCTION native_index pconv_bwd(int c) const { return (2 + c) * pconv_size(); }
  KOKKOS_INLINE_FUNCTION native_index pconv_bias(int c) const { return 4 * pconv_size() + native_index(c) * ldw; }
  KOKKOS_INLINE_FUNCTION native_index pfilm_layer_size(int l) const {
    return 2 * native_index(film_out_ld(l)) * film_in_ld(l) + film_out_ld(l);
  }
  KOKKOS_INLINE_FUNCTION native_index pfilm_fwd(int l) const {
    native_index s = 4 * pconv_size() + 2 * native_index(ldw);
    for (int m = 0; m < l; ++m) s += pfilm_layer_size(m);
    return s;
  }
  KOKKOS_INLINE_FUNCTION native_index pfilm_bwd(int l) const {
    return pfilm_fwd(l) + native_index(film_out_ld(l)) * film_in_ld(l);
  }
  KOKKOS_INLINE_FUNCTION native_index pfilm_bias(int l) const {
    return pfilm_bwd(l) + native_index(film_out_ld(l)) * film_in_ld(l);
  }
  KOKKOS_INLINE_FUNCTION native_index pblock_size() const { return pfilm_fwd(L); }
  KOKKOS_INLINE_FUNCTION native_index pblock(int b) const { return native_index(b) * pblock_size(); }
  /// The weights outside the blocks (lift; projection and output affine) are
  /// copied unchanged after the blocks, so that the packed buffer alone
  /// defines the network (and packing the EMA weights switches all of it).
  KOKKOS_INLINE_FUNCTION native_index pouter(native_index canonical) const {
    return canonical < block(0) ? pblock(nb) + canonical : pblock(nb) + block(0) + (canonical - proj_w());
  }
  KOKKOS_INLINE_FUNCTION native_index packed_size() const { return pblock(nb) + block(0) + (num_parameters() - proj_w()); }

  // ---------------------------------------------------------------- activation strides
  KOKKOS_INLINE_FUNCTION native_index hidden_sample() const { return native_index(N) * ldw; }
  KOKKOS_INLINE_FUNCTION native_index extended_sample() const { return native_index(Nx) * ldw; }
};

}  // namespace Impl
}  // namespace score
}  // namespace psgm

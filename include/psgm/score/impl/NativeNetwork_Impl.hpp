// Definitions of Impl::NativeNetwork (impl/NativeNetwork.hpp). Instantiated
// for float and double on every enabled execution space in
// src/score/native_network_eti.cpp; include this only for another space.
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/score/impl/NativeKernels.hpp>
#include <psgm/score/impl/NativeNetwork.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace psgm {
namespace score {
namespace Impl {

/// Samples per deterministic partial sum of a convolution's weight gradient:
/// fixed, so the result does not depend on the thread count.
inline constexpr int native_weight_grad_chunk = 16;

template <class ExecSpace, class Scalar>
NativeNetwork<ExecSpace, Scalar>::NativeNetwork(ExecSpace const& space, model::FilmCnnConfig const& config,
                                                NativeKernels kernels)
    : space_(space), config_(config), lay_(config, native_host::pad_lanes<Scalar>()) {
  config.validate();
  require(kernels != NativeKernels::host_tiles || host_space, "psgm::score::Native<", ExecSpace::name(),
          ">: NativeKernels::host_tiles runs only on host execution spaces; use automatic or portable");
  use_host_ = kernels == NativeKernels::host_tiles || (kernels == NativeKernels::automatic && host_space);
  NativeLayout const& l = lay_;
  params_ = vector_view(Kokkos::view_alloc(space, "psgm::score::native::parameters"), l.num_parameters());
  // Zero-initialised: the padding of the packed weights stays zero forever.
  packed_ = vector_view(Kokkos::view_alloc(space, "psgm::score::native::packed_weights"), l.packed_size());
  zeros_ = vector_view(Kokkos::view_alloc(space, "psgm::score::native::zeros"), l.ldw);

  // Row tables of the convolutions (docs/native_backend.md): forward rows
  // clamp(n + k - pad) by position and by tap, and for the transposed
  // convolution the row of the extended gradient buffer that tap k of
  // output m reads (da(n), an end sum, or the zero row).
  int const N = l.N, K = l.K, p = l.pad;
  std::vector<int> tab(3 * std::size_t(N) * K);
  for (int n = 0; n < N; ++n)
    for (int k = 0; k < K; ++k) {
      int const r = std::clamp(n + k - p, 0, N - 1);
      tab[std::size_t(n) * K + k] = r;
      tab[std::size_t(N) * K + std::size_t(k) * N + n] = r;
      int e;
      int const zero_row = N + 2 * K;
      if (n == 0)
        e = k <= p ? N + k : zero_row;
      else if (n == N - 1)
        e = k >= p ? N + K + k : zero_row;
      else {
        int const src = n + p - k;
        e = (src >= 0 && src < N) ? src : zero_row;
      }
      tab[2 * std::size_t(N) * K + std::size_t(n) * K + k] = e;
    }
  tables_ = Kokkos::View<int*, memory_space>(Kokkos::view_alloc(space, Kokkos::WithoutInitializing,
                                                                "psgm::score::native::conv_tables"),
                                             tab.size());
  Kokkos::View<int*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> tab_host(tab.data(), tab.size());
  Kokkos::deep_copy(space, tables_, tab_host);
  space.fence();  // tab_host goes out of scope
}

template <class ExecSpace, class Scalar>
void NativeNetwork<ExecSpace, Scalar>::set_vector(ExecSpace const& space, vector_view dst,
                                                  model::ParameterSet const& src) const {
  src.check_matches(config_);
  auto host = Kokkos::create_mirror_view(dst);
  std::size_t at = 0;
  for (auto const& v : src.values)
    for (double x : v) host(at++) = static_cast<Scalar>(x);
  Kokkos::deep_copy(space, dst, host);
  space.fence();  // the host mirror may be freed when this returns
}

template <class ExecSpace, class Scalar>
void NativeNetwork<ExecSpace, Scalar>::set_parameters(ExecSpace const& space, model::ParameterSet const& theta) {
  set_vector(space, params_, theta);
  pack(space);
}

template <class ExecSpace, class Scalar>
model::ParameterSet NativeNetwork<ExecSpace, Scalar>::to_parameter_set(ExecSpace const& space,
                                                                       vector_view values) const {
  auto host = Kokkos::create_mirror_view(values);
  Kokkos::deep_copy(space, host, values);
  space.fence();  // the host reads the copy
  model::ParameterSet set = model::ParameterSet::zeros(config_);
  set.dtype = std::is_same_v<Scalar, float> ? "float32" : "float64";
  std::size_t at = 0;
  for (auto& v : set.values)
    for (double& x : v) x = static_cast<double>(host(at++));
  return set;
}

template <class ExecSpace, class Scalar>
void NativeNetwork<ExecSpace, Scalar>::pack(ExecSpace const& space, vector_view weights) const {
  PackBlocksFunctor<Scalar> blocks{lay_, weights.data(), packed_.data()};
  Kokkos::parallel_for("psgm::score::native::pack_blocks",
                       Kokkos::RangePolicy<ExecSpace>(space, 0, lay_.nb * blocks.rows_per_block()), blocks);
  native_index const outer = lay_.block(0) + (lay_.num_parameters() - lay_.proj_w());
  Kokkos::parallel_for("psgm::score::native::pack_outer", Kokkos::RangePolicy<ExecSpace>(space, 0, outer),
                       PackOuterFunctor<Scalar>{lay_, weights.data(), packed_.data()});
}

template <class ExecSpace, class Scalar>
template <class Functor>
void NativeNetwork<ExecSpace, Scalar>::launch_tiles(ExecSpace const& space, char const* label, int tasks, int width,
                                                    Functor const& f) const {
  if (tasks <= 0) return;
  if constexpr (host_space) {
    if (use_host_) {
      Kokkos::parallel_for(label, Kokkos::RangePolicy<ExecSpace, HostTile>(space, 0, tasks), f);
      return;
    }
  }
  using policy_type = Kokkos::TeamPolicy<ExecSpace>;
  if constexpr (host_space) {
    Kokkos::parallel_for(label, policy_type(space, tasks, 1), f);
  } else {
    // One thread per channel, in whole warps.
    int const max = policy_type(space, tasks, 1).team_size_max(f, Kokkos::ParallelForTag());
    int const team = std::max(1, std::min(max, std::min(256, round_up(width, 32))));
    Kokkos::parallel_for(label, policy_type(space, tasks, team), f);
  }
}

// ====================================================================== workspaces

template <class ExecSpace, class Scalar>
void NativeNetwork<ExecSpace, Scalar>::reserve(int max_batch) {
  require(max_batch >= 0, "psgm::score::Native: reserve(", max_batch, "): the batch size must be >= 0");
  if (max_batch <= capacity_) return;
  NativeLayout const& l = lay_;
  native_index const B = max_batch;
  ExecSpace const& space = space_;
  auto alloc = [&](std::string const& label, native_index n) {
    return vector_view(Kokkos::view_alloc(space, Kokkos::WithoutInitializing, label), n);
  };
  // z's padding lanes are written by the embedding kernel; nothing else
  // needs initial values.
  z_ = alloc("psgm::score::native::z", B * l.ldz);
  oa_ = alloc("psgm::score::native::out_affine", B * 2 * l.C);
  fa_ = alloc("psgm::score::native::film_a", l.nb * B * l.ldf);
  fb_ = alloc("psgm::score::native::film_b", l.nb * B * l.ldf);
  gb_ = alloc("psgm::score::native::film_gamma_beta", l.nb * B * l.ldf);
  h_ = alloc("psgm::score::native::hidden", B * l.hidden_sample());
  u_ = alloc("psgm::score::native::hidden_inner", B * l.hidden_sample());
  xin_ = alloc("psgm::score::native::edm_input", B * l.C * l.N);
  tin_ = Kokkos::View<double*, memory_space>(
      Kokkos::view_alloc(space, Kokkos::WithoutInitializing, "psgm::score::native::time_input"), B);
  space.fence();  // the workspace is used on other instances
  capacity_ = max_batch;
}

template <class ExecSpace, class Scalar>
void NativeNetwork<ExecSpace, Scalar>::reserve_training(int max_batch) {
  reserve(max_batch);
  if (max_batch <= train_capacity_ && grad_.extent(0) > 0) return;
  NativeLayout const& l = lay_;
  native_index const B = std::max(max_batch, 1);
  ExecSpace const& space = space_;
  auto alloc = [&](std::string const& label, native_index n) {
    return vector_view(Kokkos::view_alloc(space, Kokkos::WithoutInitializing, label), n);
  };
  hs_ = alloc("psgm::score::native::train_hidden", (l.nb + 1) * B * l.hidden_sample());
  a1_ = alloc("psgm::score::native::train_conv1", l.nb * B * l.hidden_sample());
  a2_ = alloc("psgm::score::native::train_conv2", l.nb * B * l.hidden_sample());
  fpre_ = alloc("psgm::score::native::train_film_pre", l.L * l.nb * B * l.ldf);
  fpost_ = alloc("psgm::score::native::train_film_post", l.L * l.nb * B * l.ldf);
  proj_ = alloc("psgm::score::native::train_projection", B * l.C * l.N);
  F_ = alloc("psgm::score::native::train_output", B * l.C * l.N);
  dF_ = alloc("psgm::score::native::grad_output", B * l.C * l.N);
  doa_ = alloc("psgm::score::native::grad_out_affine", B * 2 * l.C);
  g_ = alloc("psgm::score::native::grad_hidden", B * l.hidden_sample());
  // The extended gradient buffers keep a zero row per sample: zero-initialised.
  dA_ = vector_view(Kokkos::view_alloc(space, "psgm::score::native::grad_conv_a"), B * l.extended_sample());
  dB_ = vector_view(Kokkos::view_alloc(space, "psgm::score::native::grad_conv_b"), B * l.extended_sample());
  dq_ = alloc("psgm::score::native::grad_film", 2 * l.nb * B * l.ldf);
  int const chunks = (int(B) + native_weight_grad_chunk - 1) / native_weight_grad_chunk;
  partial_ = alloc("psgm::score::native::grad_partial", native_index(chunks) * (l.K + 1) * l.W * l.ldw);
  if (grad_.extent(0) == 0) grad_ = vector_view(Kokkos::view_alloc(space, "psgm::score::native::gradient"), l.num_parameters());
  loss_ = Kokkos::View<double*, memory_space>(
      Kokkos::view_alloc(space, Kokkos::WithoutInitializing, "psgm::score::native::sample_loss"), B);
  space.fence();  // the workspace is used on other instances
  train_capacity_ = int(B);
}

// ====================================================================== forward

template <class ExecSpace, class Scalar>
void NativeNetwork<ExecSpace, Scalar>::film_forward(ExecSpace const& space, int B, Scalar const* z,
                                                    Scalar* const* pre, Scalar* const* post) const {
  NativeLayout const& l = lay_;
  if (l.nb == 0) return;
  int const tiles = (B + native_rows - 1) / native_rows;
  for (int layer = 0; layer < l.L; ++layer) {
    FilmForwardFunctor<Scalar, ExecSpace> f;
    f.in = layer == 0 ? z : post[layer - 1];
    f.in_block = layer == 0 ? 0 : native_index(B) * l.ldf;
    f.in_ld = layer == 0 ? l.ldz : l.ldf;
    f.I = l.film_in(layer);
    f.w = packed_.data() + l.pfilm_fwd(layer);
    f.bias = packed_.data() + l.pfilm_bias(layer);
    f.w_block = l.pblock_size();
    f.pre = pre ? pre[layer] : nullptr;
    f.out = post[layer];
    f.out_block = native_index(B) * l.ldf;
    f.out_ld = l.ldf;
    f.width = l.film_out_ld(layer);
    f.silu = layer < l.L - 1;
    f.B = B;
    f.tiles = tiles;
    launch_tiles(space, "psgm::score::native::film_forward", l.nb * tiles, f.width, f);
  }
}

template <class ExecSpace, class Scalar>
void NativeNetwork<ExecSpace, Scalar>::forward(ExecSpace const& space, int B, Scalar const* x, Scalar const* t,
                                               double const* td, Scalar const* cond, Scalar* out,
                                               native_index out_sb, native_index out_sc) const {
  if (B <= 0) return;
  if (B > capacity_) const_cast<NativeNetwork*>(this)->reserve(B);
  NativeLayout const& l = lay_;
  Scalar const* pk = packed_.data();
  Kokkos::parallel_for("psgm::score::native::embed", Kokkos::RangePolicy<ExecSpace>(space, 0, B),
                       EmbedFunctor<Scalar>{l, t, td, cond, z_.data(), pk + l.pouter(l.oa_w()),
                                            pk + l.pouter(l.oa_b()), oa_.data()});
  // FiLM generators: ping-pong through fa/fb, the last layer into gb.
  std::vector<Scalar*> post(std::size_t(std::max(l.L, 1)));
  for (int layer = 0; layer < l.L; ++layer)
    post[layer] = layer == l.L - 1 ? gb_.data() : (layer % 2 == 0 ? fa_.data() : fb_.data());
  film_forward(space, B, z_.data(), nullptr, post.data());
  Kokkos::parallel_for("psgm::score::native::lift", Kokkos::RangePolicy<ExecSpace>(space, 0, B * l.N),
                       LiftFunctor<Scalar>{l, x, pk + l.pouter(l.lift_w()), pk + l.pouter(l.lift_b()), h_.data()});
  int const tiles = (l.N + native_rows - 1) / native_rows;
  for (int blk = 0; blk < l.nb; ++blk) {
    Scalar const* pb = pk + l.pblock(blk);
    Scalar const* gb = gb_.data() + native_index(blk) * B * l.ldf;
    ConvForwardFunctor<Scalar, ExecSpace> c1{l, h_.data(), pb + l.pconv_fwd(0), pb + l.pconv_bias(0), gb,
                                             tables_.data(), nullptr, u_.data(), nullptr, tiles};
    launch_tiles(space, "psgm::score::native::conv1_film_silu", B * tiles, l.ldw, c1);
    ConvForwardFunctor<Scalar, ExecSpace> c2{l, u_.data(), pb + l.pconv_fwd(1), pb + l.pconv_bias(1), gb,
                                             tables_.data(), nullptr, h_.data(), h_.data(), tiles};
    launch_tiles(space, "psgm::score::native::conv2_film_silu_residual", B * tiles, l.ldw, c2);
  }
  Kokkos::parallel_for("psgm::score::native::project", Kokkos::RangePolicy<ExecSpace>(space, 0, B * l.N),
                       ProjectFunctor<Scalar>{l, h_.data(), pk + l.pouter(l.proj_w()), pk + l.pouter(l.proj_b()),
                                              oa_.data(), nullptr, out, out_sb, out_sc});
}

template <class ExecSpace, class Scalar>
void NativeNetwork<ExecSpace, Scalar>::edm_score(ExecSpace const& space, int B, model::EdmConfig const& edm,
                                                 Scalar const* x, Scalar const* sigma, Scalar const* cond,
                                                 Scalar* out) const {
  if (B <= 0) return;
  if (B > capacity_) const_cast<NativeNetwork*>(this)->reserve(B);
  NativeLayout const& l = lay_;
  Kokkos::parallel_for("psgm::score::native::edm_precondition", Kokkos::RangePolicy<ExecSpace>(space, 0, B),
                       EdmInputFunctor<Scalar, model::EdmConfig>{edm, l.C, l.N, x, sigma, xin_.data(), tin_.data()});
  forward(space, B, xin_.data(), nullptr, tin_.data(), cond, out, native_index(l.C) * l.N, l.N);
  Kokkos::parallel_for("psgm::score::native::edm_score", Kokkos::RangePolicy<ExecSpace>(space, 0, B),
                       EdmScoreFunctor<Scalar, model::EdmConfig>{edm, l.C, l.N, x, sigma, out});
}

// ====================================================================== training

template <class ExecSpace, class Scalar>
void NativeNetwork<ExecSpace, Scalar>::forward_stored(ExecSpace const& space, int B, Scalar const* x,
                                                      double const* td, Scalar const* cond) const {
  NativeLayout const& l = lay_;
  Scalar const* pk = packed_.data();
  native_index const fl = native_index(l.nb) * B * l.ldf;  // one FiLM layer of every block
  native_index const hb = native_index(B) * l.hidden_sample();
  Kokkos::parallel_for("psgm::score::native::embed", Kokkos::RangePolicy<ExecSpace>(space, 0, B),
                       EmbedFunctor<Scalar>{l, nullptr, td, cond, z_.data(), pk + l.pouter(l.oa_w()),
                                            pk + l.pouter(l.oa_b()), oa_.data()});
  std::vector<Scalar*> pre(std::size_t(std::max(l.L, 1))), post(std::size_t(std::max(l.L, 1)));
  for (int layer = 0; layer < l.L; ++layer) {
    pre[layer] = fpre_.data() + layer * fl;
    post[layer] = fpost_.data() + layer * fl;
  }
  film_forward(space, B, z_.data(), pre.data(), post.data());
  Kokkos::parallel_for("psgm::score::native::lift", Kokkos::RangePolicy<ExecSpace>(space, 0, B * l.N),
                       LiftFunctor<Scalar>{l, x, pk + l.pouter(l.lift_w()), pk + l.pouter(l.lift_b()), hs_.data()});
  int const tiles = (l.N + native_rows - 1) / native_rows;
  for (int blk = 0; blk < l.nb; ++blk) {
    Scalar const* pb = pk + l.pblock(blk);
    Scalar const* gb = post[l.L - 1] + native_index(blk) * B * l.ldf;
    ConvForwardFunctor<Scalar, ExecSpace> c1{l, hs_.data() + blk * hb, pb + l.pconv_fwd(0), pb + l.pconv_bias(0),
                                             gb, tables_.data(), a1_.data() + blk * hb, u_.data(), nullptr, tiles};
    launch_tiles(space, "psgm::score::native::conv1_film_silu", B * tiles, l.ldw, c1);
    ConvForwardFunctor<Scalar, ExecSpace> c2{l, u_.data(), pb + l.pconv_fwd(1), pb + l.pconv_bias(1), gb,
                                             tables_.data(), a2_.data() + blk * hb, hs_.data() + (blk + 1) * hb,
                                             hs_.data() + blk * hb, tiles};
    launch_tiles(space, "psgm::score::native::conv2_film_silu_residual", B * tiles, l.ldw, c2);
  }
  Kokkos::parallel_for("psgm::score::native::project", Kokkos::RangePolicy<ExecSpace>(space, 0, B * l.N),
                       ProjectFunctor<Scalar>{l, hs_.data() + l.nb * hb, pk + l.pouter(l.proj_w()),
                                              pk + l.pouter(l.proj_b()), oa_.data(), proj_.data(), F_.data(),
                                              native_index(l.C) * l.N, l.N});
}

template <class ExecSpace, class Scalar>
void NativeNetwork<ExecSpace, Scalar>::dsm(ExecSpace const& space, int B, Scalar const* x, double const* t,
                                           Scalar const* cond, Scalar const* a, Scalar const* y,
                                           bool gradient) const {
  require(B >= 1 && B <= train_capacity_, "psgm::score::Native: a training batch of ", B,
          " samples needs reserve(", B, ") first (reserved: ", train_capacity_, ")");
  NativeLayout const& l = lay_;
  forward_stored(space, B, x, t, cond);
  Kokkos::parallel_for("psgm::score::native::dsm_loss", Kokkos::RangePolicy<ExecSpace>(space, 0, B),
                       LossFunctor<Scalar>{l, B, F_.data(), a, y, gradient ? proj_.data() : nullptr, dF_.data(),
                                           doa_.data(), loss_.data()});
  if (!gradient) return;

  Scalar* grad = grad_.data();
  native_index const fl = native_index(l.nb) * B * l.ldf;
  native_index const hb = native_index(B) * l.hidden_sample();
  Scalar const* h_last = hs_.data() + l.nb * hb;
  // Output layer (docs/native_backend.md, "Backward pass").
  Kokkos::parallel_for("psgm::score::native::grad_out_affine",
                       Kokkos::RangePolicy<ExecSpace>(space, 0, 2 * l.C * (l.Z + 1)),
                       OutAffineGradFunctor<Scalar>{l, B, doa_.data(), z_.data(), grad});
  Kokkos::parallel_for("psgm::score::native::grad_projection",
                       Kokkos::RangePolicy<ExecSpace>(space, 0, l.C * (l.W + 1)),
                       ProjGradFunctor<Scalar>{l, B, dF_.data(), oa_.data(), h_last, grad});
  Kokkos::parallel_for("psgm::score::native::backward_projection", Kokkos::RangePolicy<ExecSpace>(space, 0, B * l.N),
                       ProjBackwardFunctor<Scalar>{l, dF_.data(), oa_.data(), packed_.data() + l.pouter(l.proj_w()),
                                                   g_.data()});

  // Residual blocks, last to first; g holds dL/dh of the current block's output.
  Scalar* dgb = dq_.data();  // (dγ, dβ) of every block, the last FiLM layer's output gradient
  Scalar const* gbs = fpost_.data() + (l.L - 1) * fl;
  int const chunks = (B + native_weight_grad_chunk - 1) / native_weight_grad_chunk;
  int const itiles = (l.W + native_rows - 1) / native_rows;
  int const wg_tasks = chunks * (l.K + 1) * itiles;
  auto weight_grad = [&](Scalar const* in, Scalar const* da, Scalar* gw, Scalar* gbias, char const* label,
                         char const* reduce_label) {
    ConvWeightGradFunctor<Scalar, ExecSpace> wg{l, B, native_weight_grad_chunk, in, da,
                                                tables_.data() + native_index(l.N) * l.K, partial_.data(), itiles};
    launch_tiles(space, label, wg_tasks, l.ldw, wg);
    Kokkos::parallel_for(reduce_label, Kokkos::RangePolicy<ExecSpace>(space, 0, l.W * l.W * l.K + l.W),
                         ConvWeightGradReduceFunctor<Scalar>{l, chunks, partial_.data(), gw, gbias});
  };
  for (int blk = l.nb - 1; blk >= 0; --blk) {
    Scalar const* pk = packed_.data() + l.pblock(blk);
    native_index const base = l.block(blk);
    Scalar const* gb = gbs + native_index(blk) * B * l.ldf;
    Scalar* dg = dgb + native_index(blk) * B * l.ldf;
    Scalar const* a1 = a1_.data() + blk * hb;
    BlockOutputBackwardFunctor<Scalar, ExecSpace> ob{
        l, g_.data(), a1, a2_.data() + blk * hb, gb, zeros_.data(), dA_.data(), u_.data(), dg};
    launch_tiles(space, "psgm::score::native::backward_film_silu2", B, l.ldw, ob);
    weight_grad(u_.data(), dA_.data(), grad + base + l.conv_w(1), grad + base + l.conv_b(1),
                "psgm::score::native::grad_conv2", "psgm::score::native::grad_conv2_reduce");
    ConvBackwardDataFunctor<Scalar, ExecSpace> bd2{l,  dA_.data(), pk + l.pconv_bwd(1),
                                                   tables_.data() + 2 * native_index(l.N) * l.K,
                                                   true, a1, gb, dB_.data(), dg, nullptr};
    launch_tiles(space, "psgm::score::native::backward_conv2_film_silu1", B, l.ldw, bd2);
    weight_grad(hs_.data() + blk * hb, dB_.data(), grad + base + l.conv_w(0), grad + base + l.conv_b(0),
                "psgm::score::native::grad_conv1", "psgm::score::native::grad_conv1_reduce");
    ConvBackwardDataFunctor<Scalar, ExecSpace> bd1{l,     dB_.data(), pk + l.pconv_bwd(0),
                                                   tables_.data() + 2 * native_index(l.N) * l.K,
                                                   false, nullptr, nullptr, nullptr, nullptr, g_.data()};
    launch_tiles(space, "psgm::score::native::backward_conv1_residual", B, l.ldw, bd1);
  }
  Kokkos::parallel_for("psgm::score::native::grad_lift", Kokkos::RangePolicy<ExecSpace>(space, 0, l.W * (l.C + 1)),
                       LiftGradFunctor<Scalar>{l, B, g_.data(), x, grad});

  // FiLM generators of every block, last layer to first.
  if (l.nb == 0) return;
  Scalar* dq = dgb;
  Scalar* dq_other = dq_.data() + fl;
  int const btiles = (B + native_rows - 1) / native_rows;
  for (int layer = l.L - 1; layer >= 0; --layer) {
    FilmWeightGradFunctor<Scalar, ExecSpace> wg;
    wg.lay = l;
    wg.l = layer;
    wg.B = B;
    wg.dq = dq;
    wg.in = layer == 0 ? z_.data() : fpost_.data() + (layer - 1) * fl;
    wg.in_block = layer == 0 ? 0 : native_index(B) * l.ldf;
    wg.in_ld = layer == 0 ? l.ldz : l.ldf;
    wg.grad = grad;
    wg.jtiles = (l.film_out_ld(layer) + native_rows - 1) / native_rows;
    launch_tiles(space, "psgm::score::native::grad_film", l.nb * wg.jtiles, l.film_in(layer) + 1, wg);
    if (layer == 0) break;
    FilmBackwardDataFunctor<Scalar, ExecSpace> bd{l,
                                                  layer,
                                                  B,
                                                  btiles,
                                                  dq,
                                                  packed_.data() + l.pfilm_bwd(layer),
                                                  l.pblock_size(),
                                                  fpre_.data() + (layer - 1) * fl,
                                                  dq_other};
    launch_tiles(space, "psgm::score::native::backward_film", l.nb * btiles, l.film_in_ld(layer), bd);
    std::swap(dq, dq_other);
  }
}

}  // namespace Impl
}  // namespace score
}  // namespace psgm

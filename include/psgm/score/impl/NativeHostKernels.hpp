// Register-blocked CPU micro-kernels of the native score backend
// (src/score/native_host_kernels.cpp). Host-only: the Kokkos functors of
// impl/NativeKernels.hpp call them from their host-space code path; device
// spaces use the portable per-thread kernels in the same file.
//
// Every operation of the FiLM-CNN that carries flops is one of two small
// matrix products on a tile of at most `max_rows` rows and `width` columns:
//
//   gemm_rows:      c[r][o]  = sum_k sum_i a[row(r, k)][i] * b[k][i][o]
//                   (convolution: rows are grid points, k the taps, i the
//                   input channels; a FiLM linear layer: rows are samples, K = 1)
//   gemm_outer_acc: c[r][o] += sum_s a[row(s)][r] * b[s][o]
//                   (weight gradients: a sum of outer products over samples
//                   and grid points)
//
// with row(.) given by an index table, so replicate padding and the
// transposed convolution of the backward pass cost no copies. The epilogues
// apply bias, FiLM, SiLU and residual adds to a finished tile while it is in
// L1 (docs/design.md §5). `width` and all leading dimensions must be multiples
// of `pad_lanes<T>()` (64 bytes), which the native backend guarantees by
// padding channel dimensions with zeros.
//
// The kernels are compiled for AVX-512, AVX2+FMA and baseline x86-64 (or
// the compiler's baseline elsewhere) and dispatched once at run time on what
// the CPU supports; see docs/native_backend.md for the measurements behind
// the tile shape.
#pragma once

#include <cstddef>

namespace psgm {
namespace score {
namespace Impl {
namespace native_host {

/// Rows of one micro-kernel tile (grid points, or samples).
inline constexpr int max_rows = 6;
/// Channel dimensions are padded to multiples of this many bytes.
inline constexpr int pad_bytes = 64;
template <class T>
constexpr int pad_lanes() {
  return pad_bytes / static_cast<int>(sizeof(T));
}

/// Which instruction set the dispatcher chose ("avx512", "avx2", "baseline", "scalar").
char const* isa_name();

// c[r*ldc + o] = sum_{k<K} sum_{i<I} a[idx[r*K+k]*lda + i] * b[k*ldk + i*ldb + o],
// r < rows <= max_rows, o < width. idx == nullptr means idx[r*K+k] = r*K+k.
void gemm_rows(int rows, int K, int I, float const* a, std::ptrdiff_t lda, int const* idx, float const* b,
               std::ptrdiff_t ldk, std::ptrdiff_t ldb, int width, float* c, std::ptrdiff_t ldc);
void gemm_rows(int rows, int K, int I, double const* a, std::ptrdiff_t lda, int const* idx, double const* b,
               std::ptrdiff_t ldk, std::ptrdiff_t ldb, int width, double* c, std::ptrdiff_t ldc);

// c[r*ldc + o] += sum_{s<S} a[idx[s]*lda + r] * b[s*ldb + o], r < rows <= max_rows,
// o < width. idx == nullptr means idx[s] = s.
void gemm_outer_acc(int rows, int S, float const* a, std::ptrdiff_t lda, int const* idx, float const* b,
                    std::ptrdiff_t ldb, int width, float* c, std::ptrdiff_t ldc);
void gemm_outer_acc(int rows, int S, double const* a, std::ptrdiff_t lda, int const* idx, double const* b,
                    std::ptrdiff_t ldb, int width, double* c, std::ptrdiff_t ldc);

// FiLM + SiLU epilogue of a convolution tile (rows r < rows, columns o < width):
//   a = c + bias;  pre = a (if pre);  y = silu(a (1 + gamma) + beta);
//   out = residual + y (if residual) else y.
// pre, out and residual have leading dimension ld; bias, gamma, beta are rows
// of `width` values. out may alias residual.
void film_silu(int rows, int width, float const* c, std::ptrdiff_t ldc, float const* bias, float const* gamma,
               float const* beta, float* pre, float* out, float const* residual, std::ptrdiff_t ld);
void film_silu(int rows, int width, double const* c, std::ptrdiff_t ldc, double const* bias, double const* gamma,
               double const* beta, double* pre, double* out, double const* residual, std::ptrdiff_t ld);

// Epilogue of a linear layer: q = c + bias; pre = q (if pre); out = silu(q) if silu else q.
void bias_act(int rows, int width, float const* c, std::ptrdiff_t ldc, float const* bias, bool silu, float* pre,
              float* out, std::ptrdiff_t ld);
void bias_act(int rows, int width, double const* c, std::ptrdiff_t ldc, double const* bias, bool silu, double* pre,
              double* out, std::ptrdiff_t ld);

// Backward of y = silu(a (1 + gamma) + beta) given dy:
//   dp = dy silu'(p);  da = dp (1 + gamma);  dgamma += dp a;  dbeta += dp   (summed over rows)
// da may alias dy. dgamma, dbeta are rows of `width` accumulators.
void film_silu_backward(int rows, int width, float const* dy, std::ptrdiff_t lddy, float const* a, float const* gamma,
                        float const* beta, float* da, float* dgamma, float* dbeta, std::ptrdiff_t ld);
void film_silu_backward(int rows, int width, double const* dy, std::ptrdiff_t lddy, double const* a,
                        double const* gamma, double const* beta, double* da, double* dgamma, double* dbeta,
                        std::ptrdiff_t ld);

// Backward of y = silu(q): dq = dy silu'(q) (dq may alias dy).
void silu_backward(int rows, int width, float const* dy, std::ptrdiff_t lddy, float const* q, float* dq,
                   std::ptrdiff_t ld);
void silu_backward(int rows, int width, double const* dy, std::ptrdiff_t lddy, double const* q, double* dq,
                   std::ptrdiff_t ld);

}  // namespace native_host
}  // namespace Impl
}  // namespace score
}  // namespace psgm

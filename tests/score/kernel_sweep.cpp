// The native backend's CPU micro-kernels (src/score/native_host_kernels.cpp,
// compiled into this program from their source) against plain loops, over
// every shape class the contract of psgm/score/impl/NativeHostKernels.hpp
// allows: 1 to max_rows rows; widths of 1 to 9 padded vectors, so every
// column tail of every instruction-set variant; 1 to 3 taps; several input
// counts; with and without index tables (the largest row last); tight and
// loose leading dimensions; the aliasing the contract permits.
//
// Every buffer holds exactly the elements the kernel may touch, so in a
// sanitized build (PSGM_SANITIZE, the alt stage of scripts/test)
// AddressSanitizer stops at the first access outside it and
// UndefinedBehaviorSanitizer at undefined arithmetic; the gaps between rows
// (leading dimension > width) hold NaN sentinels that must survive. libpsgm's
// own copy of these kernels is not instrumented in that build
// (src/score/CMakeLists.txt): this program is where the sanitizers see them.
//
// The variant is the one PSGM_HOST_ISA names (ctest runs baseline, avx2 and
// avx512); exit status 77 (skipped) when the CPU lacks it.
#include <psgm/core/impl/HostIsa.hpp>
#include <psgm/score/impl/NativeHostKernels.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>

namespace nh = psgm::score::Impl::native_host;
using idx_t = std::ptrdiff_t;

namespace {

std::mt19937_64 rng(20261205);

/// Exactly n elements on the heap (the sanitizer's redzone starts at element
/// n), uniform in [-scale, scale].
template <class T>
struct Buffer {
  std::unique_ptr<T[]> p;
  idx_t n;
  Buffer(idx_t n_, double scale) : p(new T[n_]), n(n_) {
    std::uniform_real_distribution<double> u(-scale, scale);
    for (idx_t i = 0; i < n; ++i) p[i] = T(u(rng));
  }
  T* data() { return p.get(); }
  T const* data() const { return p.get(); }
  T& operator[](idx_t i) { return p[i]; }
  T operator[](idx_t i) const { return p[i]; }
};

/// A (rows, width) block at leading dimension ld: the elements of the row
/// gaps (ld > width) are set to NaN, which the kernels must not overwrite.
template <class T>
Buffer<T> block(int rows, int width, idx_t ld, double scale) {
  Buffer<T> b((rows - 1) * ld + width, scale);
  for (int r = 0; r + 1 < rows; ++r)
    for (idx_t o = width; o < ld; ++o) b[r * ld + o] = std::numeric_limits<T>::quiet_NaN();
  return b;
}

struct Report {
  long checks = 0, failures = 0;
  void fail(std::string const& what) {
    if (++failures <= 20) std::printf("FAIL %s\n", what.c_str());
  }
};
Report report;

template <class T>
char const* type_name() {
  return sizeof(T) == 4 ? "float" : "double";
}

/// got against the double-precision reference ref, whose terms sum to
/// `magnitude` in absolute value (the scale of the rounding error).
template <class T>
void expect_near(T got, double ref, double magnitude, std::string const& where) {
  ++report.checks;
  double const eps = std::numeric_limits<T>::epsilon();
  if (!(std::abs(double(got) - ref) <= 64 * eps * (magnitude + 1.0)))
    report.fail(where + ": got " + std::to_string(double(got)) + ", expected " + std::to_string(ref));
}

/// The NaN sentinels of block() are still there.
template <class T>
void expect_gaps(Buffer<T> const& b, int rows, int width, idx_t ld, std::string const& where) {
  for (int r = 0; r + 1 < rows; ++r)
    for (idx_t o = width; o < ld; ++o) {
      ++report.checks;
      if (!std::isnan(b[r * ld + o])) report.fail(where + ": wrote into the gap after row " + std::to_string(r));
    }
}

std::string shape(char const* kernel, char const* type, int rows, int width, std::string const& more) {
  return std::string(kernel) + "<" + type + "> rows " + std::to_string(rows) + " width " + std::to_string(width) +
         " " + more;
}

// c[r*ldc + o] = sum_k sum_i a[idx[r*K+k]*lda + i] * b[k*ldk + i*ldb + o]
template <class T>
void sweep_gemm_rows() {
  int const L = nh::pad_lanes<T>();
  for (int rows = 1; rows <= nh::max_rows; ++rows)
    for (int wv = 1; wv <= 9; ++wv)
      for (int K : {1, 2, 3})
        for (int I : {1, 3, 17})
          for (int indexed = 0; indexed < 2; ++indexed)
            for (int loose = 0; loose < 2; ++loose) {
              int const width = wv * L;
              idx_t const lda = ((I + L - 1) / L + loose) * L, ldb = width + loose * L, ldk = I * ldb + loose * L,
                          ldc = width + loose * L;
              // The rows of a: with a table, a permutation of rows*K + 2 rows
              // that uses the last one; without, row(r, k) = r K + k.
              int const arows = indexed ? rows * K + 2 : rows * K;
              Buffer<int> idx(rows * K, 0.0);
              for (int j = 0; j < rows * K; ++j) idx[j] = indexed ? (j * 7 + 3) % arows : j;
              if (indexed) idx[rows * K - 1] = arows - 1;
              Buffer<T> a((arows - 1) * lda + I, 1.0);  // the last row: only its I inputs are read
              Buffer<T> b((K - 1) * ldk + (I - 1) * ldb + width, 1.0);
              Buffer<T> c = block<T>(rows, width, ldc, 1.0);
              nh::gemm_rows(rows, K, I, a.data(), lda, indexed ? idx.data() : nullptr, b.data(), ldk, ldb, width,
                            c.data(), ldc);
              std::string const where =
                  shape("gemm_rows", type_name<T>(), rows, width,
                        "K " + std::to_string(K) + " I " + std::to_string(I) + (indexed ? " indexed" : "") +
                            (loose ? " loose" : ""));
              for (int r = 0; r < rows; ++r)
                for (int o = 0; o < width; ++o) {
                  double ref = 0, mag = 0;
                  for (int k = 0; k < K; ++k)
                    for (int i = 0; i < I; ++i) {
                      double const t = double(a[idx[r * K + k] * lda + i]) * double(b[k * ldk + i * ldb + o]);
                      ref += t;
                      mag += std::abs(t);
                    }
                  expect_near(c[r * ldc + o], ref, mag, where);
                }
              expect_gaps(c, rows, width, ldc, where);
            }
}

// c[r*ldc + o] += sum_s a[idx[s]*lda + r] * b[s*ldb + o]
template <class T>
void sweep_gemm_outer() {
  int const L = nh::pad_lanes<T>();
  for (int rows = 1; rows <= nh::max_rows; ++rows)
    for (int wv = 1; wv <= 9; ++wv)
      for (int S : {1, 2, 7})
        for (int indexed = 0; indexed < 2; ++indexed)
          for (int loose = 0; loose < 2; ++loose) {
            int const width = wv * L;
            idx_t const lda = (1 + loose) * L, ldb = width + loose * L, ldc = width + loose * L;
            int const arows = indexed ? S + 2 : S;
            Buffer<int> idx(S, 0.0);
            for (int s = 0; s < S; ++s) idx[s] = indexed ? (s * 5 + 1) % arows : s;
            if (indexed) idx[S - 1] = arows - 1;
            Buffer<T> a((arows - 1) * lda + rows, 1.0);  // the last row: only its first `rows` values are read
            Buffer<T> b((S - 1) * ldb + width, 1.0);
            Buffer<T> c = block<T>(rows, width, ldc, 1.0);
            Buffer<T> c0 = block<T>(rows, width, ldc, 0.0);
            for (idx_t j = 0; j < c.n; ++j) c0[j] = c[j];
            nh::gemm_outer_acc(rows, S, a.data(), lda, indexed ? idx.data() : nullptr, b.data(), ldb, width, c.data(),
                               ldc);
            std::string const where = shape("gemm_outer_acc", type_name<T>(), rows, width,
                                            "S " + std::to_string(S) + (indexed ? " indexed" : "") +
                                                (loose ? " loose" : ""));
            for (int r = 0; r < rows; ++r)
              for (int o = 0; o < width; ++o) {
                double ref = c0[r * ldc + o], mag = std::abs(ref);
                for (int s = 0; s < S; ++s) {
                  double const t = double(a[idx[s] * lda + r]) * double(b[s * ldb + o]);
                  ref += t;
                  mag += std::abs(t);
                }
                expect_near(c[r * ldc + o], ref, mag, where);
              }
            expect_gaps(c, rows, width, ldc, where);
          }
}

double silu(double x) { return x / (1.0 + std::exp(-x)); }
double dsilu(double x) {
  double const s = 1.0 / (1.0 + std::exp(-x));
  return s * (1.0 + x * (1.0 - s));
}

// The epilogues, with inputs in [-8, 8] (both tails of the sigmoid).
template <class T>
void sweep_epilogues() {
  int const L = nh::pad_lanes<T>();
  for (int rows = 1; rows <= nh::max_rows; ++rows)
    for (int wv = 1; wv <= 5; ++wv)
      for (int loose = 0; loose < 2; ++loose) {
        int const width = wv * L;
        idx_t const ldc = width + loose * L, ld = width + 2 * loose * L;
        Buffer<T> c = block<T>(rows, width, ldc, 8.0);
        Buffer<T> bias(width, 1.0), gamma(width, 0.5), beta(width, 1.0);
        auto const film = [&](int r, int o) {
          return (double(c[r * ldc + o]) + double(bias[o])) * (1.0 + double(gamma[o])) + double(beta[o]);
        };
        // film_silu: with and without pre, residual, and out aliasing residual.
        for (int variant = 0; variant < 4; ++variant) {
          bool const with_pre = variant & 1, with_residual = variant >= 2, aliased = variant == 3;
          Buffer<T> pre = block<T>(rows, width, ld, 0.0), out = block<T>(rows, width, ld, 0.0),
                    residual = block<T>(rows, width, ld, 1.0), residual0 = block<T>(rows, width, ld, 0.0);
          for (idx_t j = 0; j < residual.n; ++j) residual0[j] = residual[j];
          T* out_ptr = aliased ? residual.data() : out.data();
          nh::film_silu(rows, width, c.data(), ldc, bias.data(), gamma.data(), beta.data(),
                        with_pre ? pre.data() : nullptr, out_ptr, with_residual ? residual.data() : nullptr, ld);
          std::string const where = shape("film_silu", type_name<T>(), rows, width,
                                          std::string(with_pre ? "pre " : "") + (with_residual ? "residual " : "") +
                                              (aliased ? "aliased " : "") + (loose ? "loose" : ""));
          Buffer<T> const& o_buf = aliased ? residual : out;
          for (int r = 0; r < rows; ++r)
            for (int o = 0; o < width; ++o) {
              double const a = double(c[r * ldc + o]) + double(bias[o]);
              double const y = silu(film(r, o)) + (with_residual ? double(residual0[r * ld + o]) : 0.0);
              expect_near(o_buf[r * ld + o], y, std::abs(y) + 8.0, where);
              if (with_pre) expect_near(pre[r * ld + o], a, std::abs(a), where + " (pre)");
            }
          expect_gaps(o_buf, rows, width, ld, where);
          if (with_pre) expect_gaps(pre, rows, width, ld, where + " (pre)");
        }
        // bias_act, with and without pre and SiLU.
        for (int variant = 0; variant < 4; ++variant) {
          bool const with_pre = variant & 1, with_silu = variant >= 2;
          Buffer<T> pre = block<T>(rows, width, ld, 0.0), out = block<T>(rows, width, ld, 0.0);
          nh::bias_act(rows, width, c.data(), ldc, bias.data(), with_silu, with_pre ? pre.data() : nullptr,
                       out.data(), ld);
          std::string const where = shape("bias_act", type_name<T>(), rows, width,
                                          std::string(with_pre ? "pre " : "") + (with_silu ? "silu " : "") +
                                              (loose ? "loose" : ""));
          for (int r = 0; r < rows; ++r)
            for (int o = 0; o < width; ++o) {
              double const q = double(c[r * ldc + o]) + double(bias[o]);
              expect_near(out[r * ld + o], with_silu ? silu(q) : q, std::abs(q) + 1.0, where);
              if (with_pre) expect_near(pre[r * ld + o], q, std::abs(q), where + " (pre)");
            }
          expect_gaps(out, rows, width, ld, where);
        }
        // film_silu_backward, da apart from dy and aliasing it (lddy = ld).
        for (int aliased = 0; aliased < 2; ++aliased) {
          idx_t const lddy = aliased ? ld : width + loose * L;
          Buffer<T> dy = block<T>(rows, width, lddy, 1.0), dy0 = block<T>(rows, width, lddy, 0.0);
          for (idx_t j = 0; j < dy.n; ++j) dy0[j] = dy[j];
          Buffer<T> a = block<T>(rows, width, ld, 8.0), da = block<T>(rows, width, ld, 0.0);
          Buffer<T> dgamma(width, 1.0), dbeta(width, 1.0), dgamma0(width, 0.0), dbeta0(width, 0.0);
          for (int o = 0; o < width; ++o) dgamma0[o] = dgamma[o], dbeta0[o] = dbeta[o];
          T* da_ptr = aliased ? dy.data() : da.data();
          nh::film_silu_backward(rows, width, dy.data(), lddy, a.data(), gamma.data(), beta.data(), da_ptr,
                                 dgamma.data(), dbeta.data(), ld);
          std::string const where = shape("film_silu_backward", type_name<T>(), rows, width,
                                          std::string(aliased ? "aliased " : "") + (loose ? "loose" : ""));
          Buffer<T> const& da_buf = aliased ? dy : da;
          for (int o = 0; o < width; ++o) {
            double dg = dgamma0[o], db = dbeta0[o], mag = std::abs(dg) + std::abs(db);
            for (int r = 0; r < rows; ++r) {
              double const av = a[r * ld + o];
              double const p = av * (1.0 + double(gamma[o])) + double(beta[o]);
              double const dp = double(dy0[r * lddy + o]) * dsilu(p);
              dg += dp * av;
              db += dp;
              mag += std::abs(dp * av) + std::abs(dp);
              expect_near(da_buf[r * ld + o], dp * (1.0 + double(gamma[o])), std::abs(dp) * 2 + 1.0, where);
            }
            expect_near(dgamma[o], dg, mag * 8, where + " (dgamma)");
            expect_near(dbeta[o], db, mag, where + " (dbeta)");
          }
          expect_gaps(da_buf, rows, width, ld, where);
        }
        // silu_backward.
        {
          idx_t const lddy = width + loose * L;
          Buffer<T> dy = block<T>(rows, width, lddy, 1.0), q = block<T>(rows, width, ld, 8.0),
                    dq = block<T>(rows, width, ld, 0.0);
          nh::silu_backward(rows, width, dy.data(), lddy, q.data(), dq.data(), ld);
          std::string const where = shape("silu_backward", type_name<T>(), rows, width, loose ? "loose" : "");
          for (int r = 0; r < rows; ++r)
            for (int o = 0; o < width; ++o)
              expect_near(dq[r * ld + o], double(dy[r * lddy + o]) * dsilu(double(q[r * ld + o])), 2.0, where);
          expect_gaps(dq, rows, width, ld, where);
        }
      }
}

}  // namespace

int main() {
  char const* requested = std::getenv("PSGM_HOST_ISA");
  std::string const isa = nh::isa_name();
  bool const any = requested == nullptr || *requested == '\0';
  // A build without vector extensions has one variant, "scalar": the baseline test runs it.
  bool const runs = any || isa == requested || (isa == "scalar" && std::strcmp(requested, "baseline") == 0);
  if (!runs) {
    std::printf("skipped: PSGM_HOST_ISA=%s, but this CPU (or build) runs %s\n", requested, isa.c_str());
    return 77;
  }
  sweep_gemm_rows<float>();
  sweep_gemm_rows<double>();
  sweep_gemm_outer<float>();
  sweep_gemm_outer<double>();
  sweep_epilogues<float>();
  sweep_epilogues<double>();
  std::printf("native micro-kernels, variant %s: %ld checks, %ld failures\n", isa.c_str(), report.checks,
              report.failures);
  return report.failures == 0 ? 0 : 1;
}

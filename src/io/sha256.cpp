#include "Sha256.hpp"

#include <psgm/core/Error.hpp>

#include <algorithm>
#include <cstring>

// The SHA-NI path: GCC/Clang on x86-64 compiling for the host (not nvcc or
// hipcc, which see this unit in device builds), with function-level target
// attributes so that the rest of libpsgm needs no -msha.
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) && !defined(__CUDACC__) && \
    !defined(__HIPCC__) && !defined(__INTEL_COMPILER) && !defined(__NVCOMPILER)
#define PSGM_SHA_NI 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define PSGM_SHA_NI 0
#endif

namespace psgm {
namespace io {
namespace Impl {

namespace {

constexpr std::uint32_t round_constants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

inline std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

#if PSGM_SHA_NI
/// CPUID: SHA (leaf 7, EBX bit 29), SSSE3 and SSE4.1 (leaf 1, ECX bits 9, 19).
bool cpu_has_sha_ni() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  bool const sse = (c & (1u << 9)) && (c & (1u << 19));
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  return sse && (b & (1u << 29));
}

/// `count` 64-byte blocks with the SHA extensions (Intel's SHA-NI
/// instruction sequence): the state as ABEF/CDGH, four rounds per group, the
/// message schedule by sha256msg1/msg2.
__attribute__((target("sha,sse4.1,ssse3"))) void compress_sha_ni(std::uint32_t* state, unsigned char const* data,
                                                                  std::size_t count) {
  __m128i const byteswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  __m128i tmp = _mm_loadu_si128(reinterpret_cast<__m128i const*>(state));           // DCBA
  __m128i state1 = _mm_loadu_si128(reinterpret_cast<__m128i const*>(state + 4));    // HGFE
  tmp = _mm_shuffle_epi32(tmp, 0xB1);                                                 // CDAB
  state1 = _mm_shuffle_epi32(state1, 0x1B);                                           // EFGH
  __m128i state0 = _mm_alignr_epi8(tmp, state1, 8);                                   // ABEF
  state1 = _mm_blend_epi16(state1, tmp, 0xF0);                                        // CDGH
  for (; count > 0; --count, data += 64) {
    __m128i const abef = state0, cdgh = state1;
    __m128i w[4];
    for (int g = 0; g < 16; ++g) {
      __m128i& x = w[g % 4];
      if (g < 4)
        x = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<__m128i const*>(data + 16 * g)), byteswap);
      else  // w[t..t+3] from w[t-16..t-1]
        x = _mm_sha256msg2_epu32(
            _mm_add_epi32(_mm_sha256msg1_epu32(x, w[(g + 1) % 4]), _mm_alignr_epi8(w[(g + 3) % 4], w[(g + 2) % 4], 4)),
            w[(g + 3) % 4]);
      __m128i m = _mm_add_epi32(x, _mm_loadu_si128(reinterpret_cast<__m128i const*>(round_constants + 4 * g)));
      state1 = _mm_sha256rnds2_epu32(state1, state0, m);
      m = _mm_shuffle_epi32(m, 0x0E);
      state0 = _mm_sha256rnds2_epu32(state0, state1, m);
    }
    state0 = _mm_add_epi32(state0, abef);
    state1 = _mm_add_epi32(state1, cdgh);
  }
  tmp = _mm_shuffle_epi32(state0, 0x1B);        // FEBA
  state1 = _mm_shuffle_epi32(state1, 0xB1);     // DCHG
  state0 = _mm_blend_epi16(tmp, state1, 0xF0);  // DCBA
  state1 = _mm_alignr_epi8(state1, tmp, 8);     // HGFE
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state), state0);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state + 4), state1);
}
#endif

}  // namespace

bool Sha256::accelerated_available() {
#if PSGM_SHA_NI
  static bool const available = cpu_has_sha_ni();
  return available;
#else
  return false;
#endif
}

Sha256::Sha256(bool accelerated)
    : state_{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19},
      accelerated_(accelerated && accelerated_available()) {}

void Sha256::compress(unsigned char const* blocks, std::size_t count) {
#if PSGM_SHA_NI
  if (accelerated_) {
    compress_sha_ni(state_.data(), blocks, count);
    return;
  }
#endif
  for (; count > 0; --count, blocks += 64) compress_portable(blocks);
}

void Sha256::compress_portable(unsigned char const* block) {
  std::uint32_t w[64];
  for (int t = 0; t < 16; ++t)
    w[t] = (std::uint32_t(block[4 * t]) << 24) | (std::uint32_t(block[4 * t + 1]) << 16) |
           (std::uint32_t(block[4 * t + 2]) << 8) | std::uint32_t(block[4 * t + 3]);
  for (int t = 16; t < 64; ++t) {
    std::uint32_t const s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
    std::uint32_t const s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
    w[t] = w[t - 16] + s0 + w[t - 7] + s1;
  }
  std::uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
  std::uint32_t e = state_[4], f = state_[5], g = state_[6], h = state_[7];
  for (int t = 0; t < 64; ++t) {
    std::uint32_t const S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
    std::uint32_t const ch = (e & f) ^ (~e & g);
    std::uint32_t const t1 = h + S1 + ch + round_constants[t] + w[t];
    std::uint32_t const S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
    std::uint32_t const maj = (a & b) ^ (a & c) ^ (b & c);
    std::uint32_t const t2 = S0 + maj;
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  state_[0] += a;
  state_[1] += b;
  state_[2] += c;
  state_[3] += d;
  state_[4] += e;
  state_[5] += f;
  state_[6] += g;
  state_[7] += h;
}

void Sha256::update(void const* data, std::size_t bytes) {
  require(!finished_, "psgm::io::Impl::Sha256::update called after hex_digest");
  auto const* p = static_cast<unsigned char const*>(data);
  total_bytes_ += bytes;
  if (buffered_ > 0) {
    std::size_t const take = std::min(bytes, buffer_.size() - buffered_);
    std::memcpy(buffer_.data() + buffered_, p, take);
    buffered_ += take;
    p += take;
    bytes -= take;
    if (buffered_ < buffer_.size()) return;
    compress(buffer_.data(), 1);
    buffered_ = 0;
  }
  std::size_t const blocks = bytes / 64;
  if (blocks > 0) compress(p, blocks);
  p += 64 * blocks;
  bytes -= 64 * blocks;
  if (bytes > 0) {
    std::memcpy(buffer_.data(), p, bytes);
    buffered_ = bytes;
  }
}

std::string Sha256::hex_digest() {
  require(!finished_, "psgm::io::Impl::Sha256::hex_digest called twice");
  std::uint64_t const bit_length = total_bytes_ * 8;
  // Padding: 0x80, zeros up to 56 mod 64, then the message length in bits (big-endian).
  unsigned char pad[72] = {0x80};
  std::size_t const pad_bytes = (buffered_ < 56 ? 56 - buffered_ : 120 - buffered_);
  unsigned char length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(bit_length >> (56 - 8 * i));
  update(pad, pad_bytes);
  update(length, 8);
  finished_ = true;
  static char const digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (std::uint32_t word : state_)
    for (int shift = 28; shift >= 0; shift -= 4) out.push_back(digits[(word >> shift) & 0xf]);
  return out;
}

std::string sha256_hex(std::string const& bytes, bool accelerated) {
  Sha256 h(accelerated);
  h.update(bytes);
  return h.hex_digest();
}

}  // namespace Impl
}  // namespace io
}  // namespace psgm

// The SHA-256 behind DatasetReader::content_sha256, against the FIPS 180-4 /
// NIST example digests, and invariant to how the input is split.
#include "../../src/io/Sha256.hpp"

#include <psgm/core/Error.hpp>

#include <psgm_test.hpp>

#include <cstdint>
#include <iostream>
#include <string>

using psgm::io::Impl::Sha256;
using psgm::io::Impl::sha256_hex;

TEST_CASE("SHA-256 reproduces the FIPS 180-4 examples", "[io][sha256]") {
  // Both paths: the SHA-NI one where this CPU has it (else the same portable code twice).
  std::cout << "SHA-256: SHA-NI " << (Sha256::accelerated_available() ? "available" : "not available") << '\n';
  for (bool accelerated : {true, false}) {
    INFO("accelerated " << accelerated);
    CHECK(sha256_hex("", accelerated) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abc", accelerated) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", accelerated) ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
                     "mnopqrstnopqrstu",
                     accelerated) == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    CHECK(sha256_hex(std::string(1000000, 'a'), accelerated) ==
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  }
}

TEST_CASE("SHA-256: the SHA-NI path equals the portable code on every length", "[io][sha256]") {
  std::string text;
  std::uint32_t x = 12345;
  for (int i = 0; i < 70000; ++i) {
    x = x * 1664525u + 1013904223u;
    text.push_back(static_cast<char>(x >> 24));
  }
  for (std::size_t len = 0; len <= 300; ++len)
    CHECK(sha256_hex(text.substr(0, len), true) == sha256_hex(text.substr(0, len), false));
  CHECK(sha256_hex(text, true) == sha256_hex(text, false));
  // Many blocks per update call, and odd splits between calls.
  Sha256 a(true), b(false);
  for (std::size_t pos = 0, piece = 1; pos < text.size(); pos += piece, piece = piece * 3 % 1000 + 1) {
    std::size_t const n = std::min(piece, text.size() - pos);
    a.update(text.data() + pos, n);
    b.update(text.data() + pos, n);
  }
  CHECK(a.hex_digest() == b.hex_digest());
}

TEST_CASE("SHA-256 does not depend on how the input is split", "[io][sha256]") {
  std::string text;
  for (int i = 0; i < 1000; ++i) text.push_back(static_cast<char>((i * 131 + 7) % 256));
  std::string const whole = sha256_hex(text);
  for (std::size_t piece : {1u, 3u, 55u, 56u, 63u, 64u, 65u, 127u, 999u}) {
    Sha256 h;
    for (std::size_t pos = 0; pos < text.size(); pos += piece) h.update(text.data() + pos, std::min(piece, text.size() - pos));
    CHECK(h.hex_digest() == whole);
  }
  // Padding boundaries: 55, 56 and 64-byte messages take one or two final blocks.
  CHECK(sha256_hex(std::string(55, 'x')) != sha256_hex(std::string(56, 'x')));
  Sha256 h;
  h.update("abc");
  h.hex_digest();
  CHECK_THROWS_AS(h.update("more"), psgm::InvalidArgument);
}

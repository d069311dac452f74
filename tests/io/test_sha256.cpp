// The SHA-256 behind DatasetReader::content_sha256, against the FIPS 180-4 /
// NIST example digests, and invariant to how the input is split.
#include "../../src/io/Sha256.hpp"

#include <psgm/core/Error.hpp>

#include <psgm_test.hpp>

#include <string>

using psgm::io::Impl::Sha256;
using psgm::io::Impl::sha256_hex;

TEST_CASE("SHA-256 reproduces the FIPS 180-4 examples", "[io][sha256]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
                   "mnopqrstnopqrstu") == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  CHECK(sha256_hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
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

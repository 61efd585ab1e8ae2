// Known-answer tests for crypto/digest.hpp. Expected values are the published RFC vectors,
// recomputed independently with Python's hashlib/hmac and `openssl kdf`.
#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/digest.hpp"
#include "crypto/error.hpp"
#include "crypto/hex.hpp"
#include "tests/support/catch_result.hpp"

namespace crypto = durationd::crypto;

namespace {

std::span<const std::byte> bytes_of(std::string_view text) {
  return std::as_bytes(std::span<const char>(text.data(), text.size()));
}

std::vector<std::byte> repeat(unsigned char value, std::size_t count) {
  return std::vector<std::byte>(count, std::byte{value});
}

std::vector<std::byte> counting(unsigned char first, unsigned char last) {
  std::vector<std::byte> out;
  for (unsigned value = first; value <= last; ++value) out.push_back(std::byte(value));
  return out;
}

std::string hex_of(const crypto::SecretBytes& secret) {
  return std::string(crypto::hex_encode(secret).view());
}

}  // namespace

TEST_CASE("sha256 matches FIPS 180-2 vectors", "[crypto][digest]") {
  const auto abc = crypto::sha256(bytes_of("abc"));
  REQUIRE(abc);
  CHECK(crypto::to_hex(*abc) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

  const auto empty = crypto::sha256({});
  REQUIRE(empty);
  CHECK(crypto::to_hex(*empty) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("hmac_sha256 matches RFC 4231 test cases 1 and 2", "[crypto][digest]") {
  const auto key1 = repeat(0x0b, 20);
  const auto tc1 = crypto::hmac_sha256(key1, bytes_of("Hi There"));
  REQUIRE(tc1);
  CHECK(crypto::to_hex(*tc1) == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");

  const auto tc2 = crypto::hmac_sha256(bytes_of("Jefe"), bytes_of("what do ya want for nothing?"));
  REQUIRE(tc2);
  CHECK(crypto::to_hex(*tc2) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("HmacSha256 fed in pieces equals the one-shot MAC", "[crypto][digest]") {
  auto mac = crypto::HmacSha256::create(bytes_of("Jefe"));
  REQUIRE(mac);
  REQUIRE(mac->update(bytes_of("what do ya ")));
  REQUIRE(mac->update({}));
  REQUIRE(mac->update(bytes_of("want for nothing?")));
  const auto tag = mac->final();
  REQUIRE(tag);
  CHECK(crypto::to_hex(*tag) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

  SECTION("a spent MAC refuses further use") {
    const auto again = mac->update(bytes_of("x"));
    REQUIRE_FALSE(again);
    CHECK(again.error().code == crypto::Errc::invalid_argument);
    CHECK_FALSE(mac->final());
  }
  SECTION("a moved-from MAC refuses use") {
    auto fresh = crypto::HmacSha256::create(bytes_of("Jefe"));
    REQUIRE(fresh);
    crypto::HmacSha256 target = std::move(*fresh);
    CHECK_FALSE(fresh->update(bytes_of("x")));
    CHECK(target.update(bytes_of("x")));
    CHECK(target.final());
  }
}

TEST_CASE("hmac_sha256 refuses an empty key", "[crypto][digest]") {
  const auto tag = crypto::hmac_sha256({}, bytes_of("data"));
  REQUIRE_FALSE(tag);
  CHECK(tag.error().code == crypto::Errc::invalid_argument);
}

TEST_CASE("hkdf_sha256 matches RFC 5869", "[crypto][digest]") {
  const auto ikm = crypto::SecretBytes::copy_of(std::span<const std::byte>(repeat(0x0b, 22)));

  SECTION("test case 1") {
    const auto salt = counting(0x00, 0x0c);
    const auto info_bytes = counting(0xf0, 0xf9);
    const std::string info(reinterpret_cast<const char*>(info_bytes.data()), info_bytes.size());
    const auto okm = crypto::hkdf_sha256(ikm, salt, info, 42);
    REQUIRE(okm);
    CHECK(okm->size() == 42);
    CHECK(hex_of(*okm) ==
          "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  }
  SECTION("test case 3: no salt, no info") {
    const auto okm = crypto::hkdf_sha256(ikm, {}, "", 42);
    REQUIRE(okm);
    CHECK(hex_of(*okm) ==
          "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
  }
  SECTION("lengths outside 1..8160 and empty key material are refused") {
    CHECK(crypto::hkdf_sha256(ikm, {}, "x", 0).error().code == crypto::Errc::invalid_argument);
    CHECK(crypto::hkdf_sha256(ikm, {}, "x", 8161).error().code == crypto::Errc::invalid_argument);
    CHECK(crypto::hkdf_sha256(ikm, {}, "x", 8160));
    CHECK(crypto::hkdf_sha256(crypto::SecretBytes(), {}, "x", 32).error().code ==
          crypto::Errc::invalid_argument);
  }
}

TEST_CASE("pbkdf2_hmac_sha512 matches an independent computation", "[crypto][digest]") {
  // python3: hashlib.pbkdf2_hmac("sha512", b"correct horse battery staple",
  //          b"durationd-salt-0123", 256000, 32); `openssl kdf ... PBKDF2` agrees.
  const auto key =
      crypto::pbkdf2_hmac_sha512("correct horse battery staple", bytes_of("durationd-salt-0123"),
                                 crypto::kKdfIterations, crypto::kKeyBytes);
  REQUIRE(key);
  CHECK(hex_of(*key) == "078da01de6f2ff06aa9d260e3a291f309c54b33e88d33aa35f8d1c074419c379");

  // The same, extended from RFC 6070's long password/salt pair, 64 bytes of output.
  const auto longer = crypto::pbkdf2_hmac_sha512(
      "passwordPASSWORDpassword", bytes_of("saltSALTsaltSALTsaltSALTsaltSALTsalt"), 256000, 64);
  REQUIRE(longer);
  CHECK(hex_of(*longer) ==
        "a7ab86d696bd78983c80db30d34c992b50500b8703bfcda3095284a0a957b396"
        "ca56797cb4d3abc8800c6c91c2d9802ffd56c15e55bbb18f738e876bec2b0b25");
}

TEST_CASE("pbkdf2_hmac_sha512 refuses weak parameters", "[crypto][digest]") {
  const auto salt = repeat(0x5a, crypto::kSaltBytes);
  const std::string_view passphrase = "a passphrase of some length";

  const auto few = crypto::pbkdf2_hmac_sha512(passphrase, salt, 1000, 32);
  REQUIRE_FALSE(few);
  CHECK(few.error().code == crypto::Errc::iterations_out_of_range);

  const auto short_salt = crypto::pbkdf2_hmac_sha512(
      passphrase, std::span<const std::byte>(salt).first(crypto::kSaltBytes - 1),
      crypto::kKdfIterations, 32);
  REQUIRE_FALSE(short_salt);
  CHECK(short_salt.error().code == crypto::Errc::invalid_argument);

  CHECK(crypto::pbkdf2_hmac_sha512("", salt, crypto::kKdfIterations, 32).error().code ==
        crypto::Errc::invalid_argument);
  CHECK(crypto::pbkdf2_hmac_sha512(passphrase, salt, crypto::kKdfIterations, 15).error().code ==
        crypto::Errc::invalid_argument);
  CHECK(crypto::pbkdf2_hmac_sha512(passphrase, salt, crypto::kKdfIterations, 65).error().code ==
        crypto::Errc::invalid_argument);

  // No refusal repeats the passphrase.
  for (const auto& error : {few.error(), short_salt.error()}) {
    CHECK(error.message.find(passphrase) == std::string::npos);
  }
}

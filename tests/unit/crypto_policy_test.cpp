#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <string>

#include "crypto/algorithm_policy.hpp"
#include "crypto/digest.hpp"
#include "crypto/error.hpp"
#include "tests/support/catch_result.hpp"

namespace crypto = durationd::crypto;

TEST_CASE("weak algorithms are forbidden in every spelling", "[crypto][policy]") {
  const auto [name, why] = GENERATE(table<std::string, std::string>({
      {"MD5", "MD5"},
      {"md5", "MD5"},
      {"hmac-md5", "MD5"},
      {"PBKDF2-HMAC-MD5", "MD5"},
      {"SHA-1", "SHA-1"},
      {"sha1", "SHA-1"},
      {"SHA1", "SHA-1"},
      {"sha", "SHA-1"},
      {"HMAC-SHA1", "SHA-1"},
      {"hmac(sha-1)", "SHA-1"},
      {"pbkdf2-hmac-sha1", "SHA-1"},
      {"DES", "DES"},
      {"des-cbc", "DES"},
      {"DES_ECB", "DES"},
      {"3DES", "3DES"},
      {"TripleDES", "3DES"},
      {"triple-des", "3DES"},
      {"DES-EDE3", "3DES"},
      {"des-ede3-cbc", "3DES"},
      {"des3", "3DES"},
      {"RC4", "RC4"},
      {"rc4-40", "RC4"},
      {"ARCFOUR", "RC4"},
  }));
  const auto checked = crypto::check_algorithm_allowed(name);
  INFO(name);
  REQUIRE_FALSE(checked);
  CHECK(checked.error().code == crypto::Errc::algorithm_forbidden);
  CHECK(checked.error().message.find("algorithm \"" + name + "\" is forbidden: " + why + " ") == 0);
}

TEST_CASE("the allowed algorithms pass in common spellings", "[crypto][policy]") {
  const std::string name = GENERATE(
      "sha256", "SHA-256", "SHA2-256", "sha512", "SHA-512", "hmac-sha256", "HMAC-SHA256",
      "HMAC(SHA-256)", "hmac-sha512", "pbkdf2-hmac-sha512", "PBKDF2-HMAC-SHA512", "hkdf-sha256",
      "HKDF-SHA256", "aes-256-cbc", "AES-256-CBC", "aes_256_gcm", "AES-256-GCM");
  INFO(name);
  CHECK(crypto::check_algorithm_allowed(name));
}

TEST_CASE("algorithms the policy does not list are refused", "[crypto][policy]") {
  const std::string name =
      GENERATE("", "blake2b", "aes-128-cbc", "chacha20-poly1305", "sha384", "hmac-sha3-256");
  INFO(name);
  const auto checked = crypto::check_algorithm_allowed(name);
  REQUIRE_FALSE(checked);
  CHECK(checked.error().code == crypto::Errc::algorithm_unknown);
  CHECK(checked.error().message.find("is not allowed; allowed: SHA-256") != std::string::npos);
}

TEST_CASE("a refusal stays on one line", "[crypto][policy]") {
  const auto checked = crypto::check_algorithm_allowed("md5\n\x1b[2Jevil");
  REQUIRE_FALSE(checked);
  CHECK(checked.error().message.find('\n') == std::string::npos);
  CHECK(checked.error().message.find('\x1b') == std::string::npos);
}

TEST_CASE("KDF iterations may only be raised and only within reason", "[crypto][policy]") {
  CHECK(crypto::check_kdf_iterations(crypto::kKdfIterations).value() == crypto::kKdfIterations);
  CHECK(crypto::check_kdf_iterations(256'000).value() == 256'000U);
  CHECK(crypto::check_kdf_iterations(1'000'000).value() == 1'000'000U);
  CHECK(crypto::check_kdf_iterations(10'000'000).value() == 10'000'000U);

  for (const std::uint64_t bad :
       {std::uint64_t{0}, std::uint64_t{1000}, std::uint64_t{255'999}, std::uint64_t{10'000'001},
        std::numeric_limits<std::uint64_t>::max()}) {
    INFO(bad);
    const auto checked = crypto::check_kdf_iterations(bad);
    REQUIRE_FALSE(checked);
    CHECK(checked.error().code == crypto::Errc::iterations_out_of_range);
  }
  CHECK(crypto::check_kdf_iterations(255'999).error().message ==
        "KDF iterations 255999 are below the minimum of 256000");
}

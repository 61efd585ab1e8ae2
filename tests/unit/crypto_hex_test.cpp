#include <catch2/catch.hpp>
#include <string>
#include <string_view>

#include "crypto/hex.hpp"

namespace crypto = durationd::crypto;

TEST_CASE("to_hex writes lower-case pairs", "[crypto][hex]") {
  const std::byte bytes[] = {std::byte{0x00}, std::byte{0x09}, std::byte{0x0a}, std::byte{0xab},
                             std::byte{0xff}};
  CHECK(crypto::to_hex(bytes) == "00090aabff");
  CHECK(crypto::to_hex({}).empty());
}

TEST_CASE("hex_encode agrees with a table lookup for every byte value", "[crypto][hex]") {
  constexpr std::string_view kDigits = "0123456789abcdef";
  auto secret = crypto::SecretBytes::zeroed(256);
  std::string expected;
  for (unsigned value = 0; value < 256; ++value) {
    secret.span()[value] = std::byte(value);
    expected += kDigits[value >> 4U];
    expected += kDigits[value & 0x0fU];
  }
  const auto hex = crypto::hex_encode(secret);
  CHECK(hex.size() == 512);
  CHECK(hex.view() == expected);
  CHECK(crypto::hex_encode(crypto::SecretBytes()).empty());
}

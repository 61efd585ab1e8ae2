#include "crypto/hex.hpp"

namespace durationd::crypto {
namespace {

// Maps 0..15 to '0'..'9','a'..'f' without a table lookup or a branch (libsodium's
// sodium_bin2hex technique): when nibble < 10, (nibble - 10) wraps and its bits 8..15
// are all ones, adding 0xd9 which turns 'a' - 10 + nibble into '0' + nibble mod 256.
char hex_digit(unsigned nibble) noexcept {
  const unsigned below_ten_mask = ((nibble - 10U) >> 8U) & 0xffU;
  return static_cast<char>((87U + nibble + (below_ten_mask & 0xd9U)) & 0xffU);
}

void encode(std::span<const std::byte> in, char* out) noexcept {
  for (const std::byte b : in) {
    const auto value = static_cast<unsigned>(b);
    *out++ = hex_digit(value >> 4U);
    *out++ = hex_digit(value & 0x0fU);
  }
}

}  // namespace

SecretBytes hex_encode(const SecretBytes& secret) {
  SecretBytes hex = SecretBytes::zeroed(secret.size() * 2);
  encode(secret.span(), reinterpret_cast<char*>(hex.data()));
  return hex;
}

std::string to_hex(std::span<const std::byte> public_bytes) {
  std::string hex(public_bytes.size() * 2, '\0');
  encode(public_bytes, hex.data());
  return hex;
}

}  // namespace durationd::crypto

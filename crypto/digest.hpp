// Hashes, MACs and key derivation: SHA-256, HMAC-SHA256, HKDF-SHA256 and
// PBKDF2-HMAC-SHA512, all computed by OpenSSL 3's EVP interfaces.
#pragma once

#include <openssl/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "crypto/error.hpp"
#include "crypto/secret_bytes.hpp"

namespace durationd::crypto {

// PBKDF2 cost used to turn the passphrase into the database key (algorithm_policy.hpp's
// floor; a configuration may raise it).
inline constexpr std::uint32_t kKdfIterations = 256'000;
// Size of derived database keys: AES-256.
inline constexpr std::size_t kKeyBytes = 32;
// Size of random salts: 128 bits, as NIST SP 800-132 asks.
inline constexpr std::size_t kSaltBytes = 16;

inline constexpr std::size_t kSha256Bytes = 32;
using Sha256Digest = std::array<std::byte, kSha256Bytes>;

// SHA-256 of `data`. Fails only if OpenSSL does (no memory, broken provider).
Result<Sha256Digest> sha256(std::span<const std::byte> data);

// HMAC-SHA256 of `data` under `key`. An empty key is refused (Errc::invalid_argument):
// it is always a bug. The tag is not treated as secret; compare tags with
// equal_constant_time().
Result<Sha256Digest> hmac_sha256(std::span<const std::byte> key, std::span<const std::byte> data);

// Incremental HMAC-SHA256, for MACing several fields without concatenating them into a
// temporary buffer. Give variable-length fields a length prefix, or ("ab", "c") and
// ("a", "bc") get the same tag. Move-only; one thread at a time. OpenSSL keeps its own
// copy of the key and wipes it when this object is destroyed.
class HmacSha256 {
 public:
  static Result<HmacSha256> create(std::span<const std::byte> key);

  // Feeds more data; may be called any number of times before final().
  Result<void> update(std::span<const std::byte> data);
  // Returns the tag. The object is spent afterwards: update() and final() then fail
  // with Errc::invalid_argument, as they do on a moved-from object.
  Result<Sha256Digest> final();

 private:
  struct CtxFree {
    void operator()(EVP_MAC_CTX* ctx) const noexcept;
  };
  explicit HmacSha256(std::unique_ptr<EVP_MAC_CTX, CtxFree> ctx) noexcept;

  std::unique_ptr<EVP_MAC_CTX, CtxFree> ctx_;  // null once spent or moved from
};

// HKDF-SHA256 (RFC 5869, extract then expand) of `ikm`: `length` bytes, 1..8160
// (255 * 32). An empty salt means RFC 5869's default (32 zero bytes). `info` binds the
// output to its purpose, e.g. "durationd cache db key v1"; it is not secret.
Result<SecretBytes> hkdf_sha256(const SecretBytes& ikm, std::span<const std::byte> salt,
                                std::string_view info, std::size_t length);

// PBKDF2-HMAC-SHA512 (RFC 8018) of `passphrase`: `length` bytes, 16..64 (more than one
// SHA-512 block would cost the defender more and an attacker nothing). The salt must be
// at least kSaltBytes long, and `iterations` must pass check_kdf_iterations(), so no
// caller can derive a key with a weaker cost by mistake. An empty passphrase is refused.
Result<SecretBytes> pbkdf2_hmac_sha512(std::string_view passphrase, std::span<const std::byte> salt,
                                       std::uint32_t iterations, std::size_t length);

}  // namespace durationd::crypto

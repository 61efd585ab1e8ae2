// Cryptographically secure random bytes from OpenSSL's DRBGs.
#pragma once

#include <cstddef>
#include <span>

#include "crypto/error.hpp"
#include "crypto/secret_bytes.hpp"

namespace durationd::crypto {

// Fills `out` from OpenSSL's public DRBG (RAND_bytes): for values that may be seen, such
// as salts and nonces. On failure the contents of `out` are unspecified and must not be
// used. Thread-safe.
Result<void> random_bytes(std::span<std::byte> out);

// `size` bytes from OpenSSL's private DRBG (RAND_priv_bytes), kept apart from the public
// one so values that are published never share generator state with keys. Thread-safe.
Result<SecretBytes> random_secret(std::size_t size);

}  // namespace durationd::crypto

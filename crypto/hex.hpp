// Lower-case hexadecimal encoding, for secrets (SQLCipher's raw key "x'<64 hex>'") and
// for public values (digests in logs and tests).
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "crypto/secret_bytes.hpp"

namespace durationd::crypto {

// The hex of a key is as secret as the key: it stays in SecretBytes (2 * size bytes).
// Table-free and branch-free per byte, so its timing does not depend on the secret.
// Throws std::bad_alloc like SecretBytes::zeroed.
SecretBytes hex_encode(const SecretBytes& secret);

// For public data only (digests, salts, MAC tags): the result is an ordinary string
// that is never wiped. Never pass key or passphrase material.
std::string to_hex(std::span<const std::byte> public_bytes);

}  // namespace durationd::crypto

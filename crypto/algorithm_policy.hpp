// The one place that says which cryptographic algorithms and KDF costs durationd accepts.
//
// Allowed: SHA-256, SHA-512, HMAC-SHA256, HMAC-SHA512, PBKDF2-HMAC-SHA512, HKDF-SHA256,
// AES-256-CBC, AES-256-GCM. Forbidden, whatever the spelling: MD5 (and MD4/MD2), SHA-1,
// DES, 3DES, RC4. Anything else is refused as unknown: the list grows by review, not by
// accident.
//
// SQLCipher 3.4.1, the version Debian 12 ships, is the one place where SHA-1 still runs,
// and we say so plainly:
//  - It authenticates each page with HMAC-SHA1, and 3.4.1 has no pragma to change that
//    (cipher_hmac_algorithm is a SQLCipher 4 feature). HMAC-SHA1 as a page MAC does not
//    rely on SHA-1's collision resistance, which is what is broken; HMAC-SHA1 remains a
//    sound PRF/MAC. It is not a use this policy lets our own code make.
//  - Its own passphrase KDF is PBKDF2-HMAC-SHA1 with 64,000 iterations, also fixed in
//    3.4.1. We never give SQLCipher a passphrase: we derive a raw 256-bit key ourselves
//    with PBKDF2-HMAC-SHA512 (kKdfIterations in digest.hpp) and hand it over as
//    x'<64 hex>', so SQLCipher's SHA-1 KDF is never used.
//  - Page encryption is AES-256-CBC with a random IV per page write.
#pragma once

#include <cstdint>
#include <string_view>

#include "crypto/error.hpp"

namespace durationd::crypto {

// Floor for PBKDF2 iterations: configuration may raise the cost, never lower it.
inline constexpr std::uint32_t kMinKdfIterations = 256'000;
// Sanity cap: beyond this a typo (an extra zero or two) would stall every start.
inline constexpr std::uint32_t kMaxKdfIterations = 10'000'000;

// Succeeds when `name` is an allowed algorithm. Case and every character other than an
// ASCII letter or digit are ignored, so "SHA-256", "sha256" and "HMAC(SHA-256)" match.
// A forbidden algorithm is refused wherever it appears in the name ("HMAC-SHA1",
// "PBKDF2-HMAC-MD5", "DES-EDE3-CBC").
// Refusals say which algorithm and why (Errc::algorithm_forbidden for the known-weak ones,
// Errc::algorithm_unknown otherwise). Pure; thread-safe.
Result<void> check_algorithm_allowed(std::string_view name);

// Returns `iterations` when kMinKdfIterations <= iterations <= kMaxKdfIterations, else
// Errc::iterations_out_of_range. Pure; thread-safe.
Result<std::uint32_t> check_kdf_iterations(std::uint64_t iterations);

}  // namespace durationd::crypto

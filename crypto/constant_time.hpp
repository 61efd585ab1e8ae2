// Comparison of secrets and MAC tags whose timing does not reveal where they differ.
#pragma once

#include <openssl/crypto.h>

#include <cstddef>
#include <span>

namespace durationd::crypto {

// True when `a` and `b` hold the same bytes. The time taken depends only on the lengths,
// which are treated as public: different lengths return false at once.
inline bool equal_constant_time(std::span<const std::byte> a,
                                std::span<const std::byte> b) noexcept {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace durationd::crypto

#include "crypto/random.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <climits>

#include "crypto/detail/openssl_error.hpp"

namespace durationd::crypto {
namespace {

using Generator = int (*)(unsigned char*, int);

// OpenSSL takes an int length: large requests go in chunks.
Result<void> fill(Generator generate, std::span<std::byte> out) {
  while (!out.empty()) {
    const std::size_t chunk = std::min<std::size_t>(out.size(), INT_MAX);
    if (generate(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(chunk)) != 1) {
      return detail::openssl_error("the random generator failed", Errc::random_unavailable);
    }
    out = out.subspan(chunk);
  }
  return {};
}

}  // namespace

Result<void> random_bytes(std::span<std::byte> out) {
  return fill(&RAND_bytes, out);
}

Result<SecretBytes> random_secret(std::size_t size) {
  SecretBytes secret = SecretBytes::zeroed(size);
  if (auto filled = fill(&RAND_priv_bytes, secret.span()); !filled) return filled.error();
  return secret;
}

}  // namespace durationd::crypto

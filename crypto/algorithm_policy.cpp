#include "crypto/algorithm_policy.hpp"

#include <array>
#include <string>

#include "crypto/detail/printable.hpp"

namespace durationd::crypto {
namespace {

// Normalized spellings (see normalize) of the allowed algorithms. OpenSSL also names the
// SHA-2 family "SHA2-256"/"SHA2-512", hence the "sha2..." entries.
constexpr std::array<std::string_view, 14> kAllowed{
    "sha256",      "sha2256",        "sha512",      "sha2512",          "hmacsha256",
    "hmacsha2256", "hmacsha512",     "hmacsha2512", "pbkdf2hmacsha512", "pbkdf2sha512",
    "hkdfsha256",  "hkdfhmacsha256", "aes256cbc",   "aes256gcm",
};

constexpr std::string_view kAllowedList =
    "SHA-256, SHA-512, HMAC-SHA256, HMAC-SHA512, PBKDF2-HMAC-SHA512, HKDF-SHA256, "
    "AES-256-CBC, AES-256-GCM";

struct Forbidden {
  std::string_view token;  // refused wherever it appears in the normalized name
  std::string_view reason;
};

// Order matters: the Triple DES spellings must be tried before plain "des".
constexpr std::array kForbidden{
    Forbidden{"md5", "MD5 is broken (practical collisions)"},
    Forbidden{"md4", "MD4 is broken (practical collisions)"},
    Forbidden{"md2", "MD2 is broken (preimage and collision attacks)"},
    Forbidden{"sha1", "SHA-1 is broken (practical collisions)"},
    Forbidden{"3des", "3DES has a 64-bit block (Sweet32) and is withdrawn by NIST"},
    Forbidden{"tripledes", "3DES has a 64-bit block (Sweet32) and is withdrawn by NIST"},
    Forbidden{"desede", "3DES has a 64-bit block (Sweet32) and is withdrawn by NIST"},
    Forbidden{"des3", "3DES has a 64-bit block (Sweet32) and is withdrawn by NIST"},
    Forbidden{"tdea", "3DES has a 64-bit block (Sweet32) and is withdrawn by NIST"},
    Forbidden{"des", "DES has a 56-bit key that can be searched exhaustively"},
    Forbidden{"rc4", "RC4 has exploitable keystream biases"},
    Forbidden{"arcfour", "RC4 has exploitable keystream biases"},
    Forbidden{"arc4", "RC4 has exploitable keystream biases"},
};

// Lower-case ASCII letters and digits only; everything else is punctuation to ignore.
std::string normalize(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (const char c : name) {
    if (c >= 'A' && c <= 'Z') {
      out += static_cast<char>(c - 'A' + 'a');
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      out += c;
    }
  }
  return out;
}

std::string quoted(std::string_view name) {
  return "algorithm \"" + detail::printable(name, 64) + "\"";
}

}  // namespace

Result<void> check_algorithm_allowed(std::string_view name) {
  const std::string normalized = normalize(name);
  // "SHA" alone is SHA-0/SHA-1 in older naming.
  if (normalized == "sha") {
    return Error{Errc::algorithm_forbidden,
                 quoted(name) + " is forbidden: SHA-1 is broken (practical collisions)"};
  }
  for (const Forbidden& forbidden : kForbidden) {
    if (normalized.find(forbidden.token) != std::string::npos) {
      return Error{Errc::algorithm_forbidden,
                   quoted(name) + " is forbidden: " + std::string(forbidden.reason)};
    }
  }
  for (const std::string_view allowed : kAllowed) {
    if (normalized == allowed) return {};
  }
  return Error{Errc::algorithm_unknown,
               quoted(name) + " is not allowed; allowed: " + std::string(kAllowedList)};
}

Result<std::uint32_t> check_kdf_iterations(std::uint64_t iterations) {
  if (iterations < kMinKdfIterations) {
    return Error{Errc::iterations_out_of_range, "KDF iterations " + std::to_string(iterations) +
                                                    " are below the minimum of " +
                                                    std::to_string(kMinKdfIterations)};
  }
  if (iterations > kMaxKdfIterations) {
    return Error{Errc::iterations_out_of_range, "KDF iterations " + std::to_string(iterations) +
                                                    " are above the maximum of " +
                                                    std::to_string(kMaxKdfIterations)};
  }
  return static_cast<std::uint32_t>(iterations);
}

}  // namespace durationd::crypto

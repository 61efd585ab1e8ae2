#include "crypto/digest.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <string>
#include <utility>

#include "crypto/algorithm_policy.hpp"
#include "crypto/detail/openssl_error.hpp"

namespace durationd::crypto {
namespace {

static_assert(kKdfIterations >= kMinKdfIterations && kKdfIterations <= kMaxKdfIterations);

constexpr std::size_t kMaxHkdfBytes = 255 * kSha256Bytes;
constexpr std::size_t kMinPbkdf2Bytes = 16;
constexpr std::size_t kMaxPbkdf2Bytes = 64;

struct KdfFree {
  void operator()(EVP_KDF* kdf) const noexcept { EVP_KDF_free(kdf); }
};
struct KdfCtxFree {
  // Frees and wipes the context, including OpenSSL's copies of key and passphrase.
  void operator()(EVP_KDF_CTX* ctx) const noexcept { EVP_KDF_CTX_free(ctx); }
};
struct MacFree {
  void operator()(EVP_MAC* mac) const noexcept { EVP_MAC_free(mac); }
};

const unsigned char* as_uchars(const std::byte* bytes) noexcept {
  return reinterpret_cast<const unsigned char*>(bytes);
}

// OSSL_PARAM takes non-const pointers for both directions; OpenSSL only reads the
// parameters we set, so casting away const here is safe.
OSSL_PARAM octets(const char* key, const void* data, std::size_t size) noexcept {
  return OSSL_PARAM_construct_octet_string(key, const_cast<void*>(data), size);
}
OSSL_PARAM utf8(const char* key, const char* value) noexcept {
  return OSSL_PARAM_construct_utf8_string(key, const_cast<char*>(value), 0);
}

Error invalid(std::string message) {
  return Error{Errc::invalid_argument, std::move(message)};
}

// Runs the named EVP_KDF with `params` into a new SecretBytes of `length` bytes.
Result<SecretBytes> derive(const char* kdf_name, const char* label, const OSSL_PARAM* params,
                           std::size_t length) {
  const std::unique_ptr<EVP_KDF, KdfFree> kdf(EVP_KDF_fetch(nullptr, kdf_name, nullptr));
  if (!kdf) return detail::openssl_error(std::string(label) + " is unavailable");
  const std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return detail::openssl_error(std::string(label) + " context allocation failed");
  SecretBytes out = SecretBytes::zeroed(length);
  if (EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), out.size(), params) !=
      1) {
    return detail::openssl_error(std::string(label) + " failed");
  }
  return out;
}

}  // namespace

Result<Sha256Digest> sha256(std::span<const std::byte> data) {
  Sha256Digest digest{};
  std::size_t written = 0;
  if (EVP_Q_digest(nullptr, "SHA256", nullptr, data.data(), data.size(),
                   reinterpret_cast<unsigned char*>(digest.data()), &written) != 1 ||
      written != digest.size()) {
    return detail::openssl_error("SHA-256 failed");
  }
  return digest;
}

Result<Sha256Digest> hmac_sha256(std::span<const std::byte> key, std::span<const std::byte> data) {
  auto mac = HmacSha256::create(key);
  if (!mac) return mac.error();
  if (auto updated = mac->update(data); !updated) return updated.error();
  return mac->final();
}

void HmacSha256::CtxFree::operator()(EVP_MAC_CTX* ctx) const noexcept {
  EVP_MAC_CTX_free(ctx);
}

HmacSha256::HmacSha256(std::unique_ptr<EVP_MAC_CTX, CtxFree> ctx) noexcept : ctx_(std::move(ctx)) {}

Result<HmacSha256> HmacSha256::create(std::span<const std::byte> key) {
  if (key.empty()) return invalid("HMAC-SHA256 needs a non-empty key");
  const std::unique_ptr<EVP_MAC, MacFree> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) return detail::openssl_error("HMAC is unavailable");
  std::unique_ptr<EVP_MAC_CTX, CtxFree> ctx(EVP_MAC_CTX_new(mac.get()));
  if (!ctx) return detail::openssl_error("HMAC context allocation failed");
  const OSSL_PARAM params[] = {utf8(OSSL_MAC_PARAM_DIGEST, "SHA256"), OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx.get(), as_uchars(key.data()), key.size(), params) != 1) {
    return detail::openssl_error("HMAC-SHA256 initialisation failed");
  }
  return HmacSha256(std::move(ctx));
}

Result<void> HmacSha256::update(std::span<const std::byte> data) {
  if (!ctx_) return invalid("HMAC-SHA256 used after final() or a move");
  if (EVP_MAC_update(ctx_.get(), as_uchars(data.data()), data.size()) != 1) {
    return detail::openssl_error("HMAC-SHA256 update failed");
  }
  return {};
}

Result<Sha256Digest> HmacSha256::final() {
  if (!ctx_) return invalid("HMAC-SHA256 used after final() or a move");
  // Spent whatever happens: a failed final leaves the context in an unknown state.
  const auto ctx = std::move(ctx_);
  Sha256Digest tag{};
  std::size_t written = 0;
  if (EVP_MAC_final(ctx.get(), reinterpret_cast<unsigned char*>(tag.data()), &written,
                    tag.size()) != 1 ||
      written != tag.size()) {
    return detail::openssl_error("HMAC-SHA256 failed");
  }
  return tag;
}

Result<SecretBytes> hkdf_sha256(const SecretBytes& ikm, std::span<const std::byte> salt,
                                std::string_view info, std::size_t length) {
  if (ikm.empty()) return invalid("HKDF-SHA256 needs non-empty input key material");
  if (length == 0 || length > kMaxHkdfBytes) {
    return invalid("HKDF-SHA256 output must be 1 to " + std::to_string(kMaxHkdfBytes) +
                   " bytes, not " + std::to_string(length));
  }
  OSSL_PARAM params[5];
  std::size_t n = 0;
  params[n++] = utf8(OSSL_KDF_PARAM_DIGEST, "SHA256");
  params[n++] = octets(OSSL_KDF_PARAM_KEY, ikm.data(), ikm.size());
  // Empty values are omitted rather than passed with a null pointer; for the salt,
  // OpenSSL then uses RFC 5869's all-zero default, and an absent info is an empty one.
  if (!salt.empty()) params[n++] = octets(OSSL_KDF_PARAM_SALT, salt.data(), salt.size());
  if (!info.empty()) params[n++] = octets(OSSL_KDF_PARAM_INFO, info.data(), info.size());
  params[n] = OSSL_PARAM_construct_end();
  return derive("HKDF", "HKDF-SHA256", params, length);
}

Result<SecretBytes> pbkdf2_hmac_sha512(std::string_view passphrase, std::span<const std::byte> salt,
                                       std::uint32_t iterations, std::size_t length) {
  if (auto allowed = check_kdf_iterations(iterations); !allowed) return allowed.error();
  if (passphrase.empty()) return invalid("PBKDF2-HMAC-SHA512 needs a non-empty passphrase");
  if (salt.size() < kSaltBytes) {
    return invalid("PBKDF2-HMAC-SHA512 salt must be at least " + std::to_string(kSaltBytes) +
                   " bytes, not " + std::to_string(salt.size()));
  }
  if (length < kMinPbkdf2Bytes || length > kMaxPbkdf2Bytes) {
    return invalid("PBKDF2-HMAC-SHA512 output must be " + std::to_string(kMinPbkdf2Bytes) + " to " +
                   std::to_string(kMaxPbkdf2Bytes) + " bytes, not " + std::to_string(length));
  }
  std::uint64_t iter = iterations;
  int lower_bound_checks = 0;  // "pkcs5" = 0 keeps OpenSSL's SP 800-132 checks on as well
  const OSSL_PARAM params[] = {
      utf8(OSSL_KDF_PARAM_DIGEST, "SHA512"),
      octets(OSSL_KDF_PARAM_PASSWORD, passphrase.data(), passphrase.size()),
      octets(OSSL_KDF_PARAM_SALT, salt.data(), salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_ITER, &iter),
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_PKCS5, &lower_bound_checks),
      OSSL_PARAM_construct_end(),
  };
  return derive("PBKDF2", "PBKDF2-HMAC-SHA512", params, length);
}

}  // namespace durationd::crypto

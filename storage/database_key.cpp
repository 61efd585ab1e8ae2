#include "storage/database_key.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "crypto/digest.hpp"
#include "crypto/hex.hpp"
#include "crypto/random.hpp"

namespace durationd::storage {
namespace {

constexpr std::string_view kPlaintextHeader{"SQLite format 3\0", 16};
constexpr std::string_view kPageKeyPurpose = "durationd/v1/sqlcipher-page-key";

Error crypto_error(const crypto::Error& e) { return {Errc::crypto, e.message}; }

}  // namespace

Result<FileProbe> probe_database_file(const std::filesystem::path& path) {
  FileProbe probe;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return probe;
    return Error{Errc::io, "cannot open " + path.string() + ": " + std::strerror(errno)};
  }
  char header[kSaltBytes];
  const ssize_t got = ::pread(fd, header, sizeof header, 0);
  const int read_errno = errno;
  ::close(fd);
  if (got < 0) return Error{Errc::io, "cannot read " + path.string() + ": " + std::strerror(read_errno)};
  if (got == 0) {
    probe.kind = FileKind::kEmpty;
  } else if (static_cast<std::size_t>(got) < sizeof header) {
    return Error{Errc::corrupt, path.string() + " is too short to be a database"};
  } else if (std::string_view(header, sizeof header) == kPlaintextHeader) {
    probe.kind = FileKind::kPlaintext;
  } else {
    probe.kind = FileKind::kEncrypted;
    std::memcpy(probe.salt.data(), header, sizeof header);
  }
  return probe;
}

Result<Salt> new_salt() {
  Salt salt;
  if (auto r = crypto::random_bytes(salt); !r) return crypto_error(r.error());
  return salt;
}

Result<DatabaseKey> derive_database_key(std::string_view passphrase, const Salt& salt, std::uint32_t iterations) {
  auto master = crypto::pbkdf2_hmac_sha512(passphrase, salt, iterations, crypto::kKeyBytes);
  if (!master) return crypto_error(master.error());
  auto page_key = crypto::hkdf_sha256(*master, salt, kPageKeyPurpose, crypto::kKeyBytes);
  if (!page_key) return crypto_error(page_key.error());
  return DatabaseKey{salt, std::move(*master), std::move(*page_key)};
}

Result<crypto::SecretBytes> derive_subkey(const DatabaseKey& key, std::string_view purpose) {
  auto subkey = crypto::hkdf_sha256(key.master, key.salt, purpose, crypto::kKeyBytes);
  if (!subkey) return crypto_error(subkey.error());
  return std::move(*subkey);
}

crypto::SecretBytes sqlcipher_key_literal(const DatabaseKey& key) {
  const crypto::SecretBytes key_hex = crypto::hex_encode(key.page_key);
  const std::string salt_hex = crypto::to_hex(key.salt);  // the salt is not secret
  auto literal = crypto::SecretBytes::zeroed(2 + key_hex.size() + salt_hex.size() + 1);
  auto* out = reinterpret_cast<char*>(literal.data());
  out[0] = 'x';
  out[1] = '\'';
  std::memcpy(out + 2, key_hex.data(), key_hex.size());
  std::memcpy(out + 2 + key_hex.size(), salt_hex.data(), salt_hex.size());
  out[literal.size() - 1] = '\'';
  return literal;
}

}  // namespace durationd::storage

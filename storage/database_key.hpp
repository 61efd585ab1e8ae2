// Keys of one encrypted database.
//
// Each database file carries its own random 16-byte salt in its first 16 bytes (the
// slot SQLCipher reserves for it, left unencrypted), so a database opens with the
// passphrase alone: no side file whose loss would destroy the data.
//
//   master   = PBKDF2-HMAC-SHA512(passphrase, salt, iterations >= 256,000)  once per start
//   page key = HKDF-SHA256(master, salt, "durationd/v1/sqlcipher-page-key")  handed to SQLCipher raw
//   subkeys  = HKDF-SHA256(master, salt, "<purpose>")  e.g. the cache's integrity MAC
//
// SQLCipher is given the page key and salt as a raw key, `x'<key><salt>'`, so its own
// passphrase KDF (PBKDF2-HMAC-SHA1 in 3.4.1) never runs and opening a pooled connection
// costs no key derivation. Someone holding only the page key cannot derive the subkeys.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

#include "crypto/secret_bytes.hpp"
#include "storage/error.hpp"

namespace durationd::storage {

constexpr std::size_t kSaltBytes = 16;
using Salt = std::array<std::byte, kSaltBytes>;

struct DatabaseKey {
  Salt salt{};
  crypto::SecretBytes master;    // PBKDF2 output; only ever fed to HKDF
  crypto::SecretBytes page_key;  // what SQLCipher encrypts pages with
};

enum class FileKind { kMissing, kEmpty, kPlaintext, kEncrypted };

struct FileProbe {
  FileKind kind = FileKind::kMissing;
  Salt salt{};  // kEncrypted: the salt stored in the file
};

// Looks at a database file's first 16 bytes without opening it as a database.
Result<FileProbe> probe_database_file(const std::filesystem::path& path);

// A fresh random salt for a new database.
Result<Salt> new_salt();

// Runs PBKDF2 (the expensive step) and derives the page key.
Result<DatabaseKey> derive_database_key(std::string_view passphrase, const Salt& salt, std::uint32_t iterations);

// A subkey for `purpose` (e.g. "durationd/v1/cache-integrity"), independent of the page key.
Result<crypto::SecretBytes> derive_subkey(const DatabaseKey& key, std::string_view purpose);

// The raw-key literal for sqlite3_key / ATTACH ... KEY: x'<64 hex key><32 hex salt>'.
crypto::SecretBytes sqlcipher_key_literal(const DatabaseKey& key);

}  // namespace durationd::storage

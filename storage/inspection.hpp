// `durationd inspect`: what an encrypted database holds (protocol.md, "Command lines"),
// and the read-only queries it shares with the plaintext migration's verification.
// Nothing here renders JSON: storage knows no wire or output format.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "storage/connection.hpp"
#include "storage/error.hpp"

namespace durationd::storage {

struct TableRows {
  std::string name;
  std::int64_t rows = 0;
};

struct InspectReport {
  std::vector<TableRows> tables;  // the user's tables (not sqlite_*), sorted by name
  std::vector<std::string> indexes, views, triggers;  // by name; SQLite's own indexes left out
  std::string integrity;  // "ok", or PRAGMA integrity_check's findings joined by "; "
  std::int64_t user_version = 0;
  std::int64_t page_size = 0;  // PRAGMA cipher_page_size
  std::string cipher;          // PRAGMA cipher, e.g. "aes-256-cbc"
  std::string cipher_version;  // PRAGMA cipher_version, e.g. "3.4.1"
  std::string journal_mode;    // e.g. "wal" once the daemon has opened the file
  std::uint32_t kdf_iterations = 0;
};

// Opens the encrypted database at `path` with the key derived from `passphrase` and the
// salt in the file's header, and reports its tables, row counts and integrity. Does not
// switch the journal mode or write anything. Errors, each naming the file: Errc::wrong_key
// (the passphrase does not open it, or it is not a database), Errc::plaintext (a
// plaintext SQLite file: migrate it first), Errc::io (missing or unreadable), Errc::corrupt.
// Costs one key derivation (`iterations` PBKDF2 rounds, refused below the policy floor).
Result<InspectReport> inspect_database(const std::filesystem::path& path,
                                       std::string_view passphrase, std::uint32_t iterations);

// ---- Building blocks, shared with plaintext_migration.cpp ------------------------

enum class TableSet {
  kUser,  // the tables a user created
  kAll,   // also SQLite's own (sqlite_sequence, sqlite_stat1): what a copy must carry over
};

// Names of the tables stored in b-trees (rootpage > 0; a virtual table's rows live in
// its shadow tables, which are listed), sorted by name.
Result<std::vector<std::string>> list_tables(Connection& connection, TableSet set);

// count(*) of one table.
Result<std::int64_t> count_rows(Connection& connection, std::string_view table);

// "ok", or the findings of PRAGMA integrity_check joined by "; ". A page that fails to
// decrypt (wrong HMAC) is an Error (Errc::corrupt), not a finding.
Result<std::string> check_integrity(Connection& connection);

// `name` as an SQL identifier: in double quotes, inner quotes doubled.
std::string quote_identifier(std::string_view name);

}  // namespace durationd::storage

// `durationd migrate`: encrypts a plaintext SQLite database in place (protocol.md,
// "Command lines").
//
// The steps, each of which must succeed before the next starts:
//  1. lock: a connection to the original takes the write lock (after checkpointing a
//     WAL into the main file) and holds it to the end, so nothing can change the
//     original between the copies below and the rename;
//  2. backup: a byte copy of the original beside it, `<name>.plaintext-backup-<UTC time>`,
//     mode 0600, synced; an existing file is never overwritten;
//  3. encrypt: `<name>.encrypting-<random>` (mode 0600) filled by sqlcipher_export under
//     a key derived from the passphrase and a new random salt, which SQLCipher stores in
//     the file's first 16 bytes; user_version and application_id are carried over
//     (sqlcipher_export leaves them at 0), and so are the rowids of tables without an
//     index (sqlcipher_export renumbers them, as VACUUM does);
//  4. verify: the copy, opened afresh, must hold the same schema (tables, indexes, views,
//     triggers), the same rows of every table (count and a SHA-256 digest of every
//     value, rowids included) and the same user_version/application_id, and pass
//     PRAGMA integrity_check;
//  5. replace: fsync the copy, rename() it over the original, fsync the directory, and
//     remove the original's stale -wal/-shm/-journal.
// A failure before the rename removes the copy and the backup and leaves the original as
// it was. The migrated file is owned like the original, has mode 0600, and opens with
// the passphrase alone. Whatever else uses the original must be stopped first: a writer
// is refused (Errc::busy), but a process that keeps the file open would go on using the
// old, unlinked plaintext file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string_view>

#include "storage/error.hpp"

namespace durationd::storage {

enum class MigrationOutcome {
  kMigrated,          // the file is now encrypted; `backup` holds the plaintext original
  kAlreadyEncrypted,  // the passphrase opens the file as it is: nothing was done
};

struct MigrationReport {
  MigrationOutcome outcome = MigrationOutcome::kMigrated;
  std::size_t tables = 0;        // the user's tables (not sqlite_*) carried over
  std::int64_t rows = 0;         // rows in those tables
  std::filesystem::path backup;  // kMigrated only
};

// Progress of a long migration: a stage ("backing up", "encrypting", "verifying") and a
// percentage, at most once per 10% step, and only for files of at least
// kProgressMinBytes (smaller ones finish before anybody would read it). Called on the
// migrating thread; it must not throw.
using ProgressFn = std::function<void(std::string_view stage, int percent)>;
inline constexpr std::uintmax_t kProgressMinBytes = std::uintmax_t{4} << 20;

// Encrypts the plaintext database `plain` in place (see the file comment). Errors, as one
// line naming the file and the step that failed (never key material): Errc::io (missing,
// a symbolic link, not a regular file, a second hard link, or an OS call failed),
// Errc::corrupt (not a database, fails its integrity check, or the copy failed
// verification), Errc::busy (another process is writing to it), Errc::wrong_key (not a
// plaintext database and the passphrase does not open it), Errc::full, Errc::crypto.
// Errors after the rename say that the file is encrypted and where the backup is.
// Costs one key derivation of `kdf_iterations` PBKDF2 rounds (the policy floor applies).
Result<MigrationReport> migrate_plaintext_database(const std::filesystem::path& plain,
                                                   std::string_view passphrase,
                                                   std::uint32_t kdf_iterations,
                                                   const ProgressFn& progress);

}  // namespace durationd::storage

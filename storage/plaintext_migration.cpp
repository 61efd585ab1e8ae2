#include "storage/plaintext_migration.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "crypto/digest.hpp"
#include "crypto/hex.hpp"
#include "crypto/random.hpp"
#include "storage/connection.hpp"
#include "storage/database_key.hpp"
#include "storage/durable_file.hpp"
#include "storage/inspection.hpp"
#include "storage/sqlite.hpp"

namespace durationd::storage {
namespace {

namespace fs = std::filesystem;

constexpr int kBusyTimeoutMs = 5000;
constexpr std::size_t kCopyChunkBytes = std::size_t{1} << 20;
// How often (in SQLite VM instructions) the export looks at the copy's size for progress.
constexpr int kProgressEveryOps = 256;
constexpr std::size_t kTempSuffixBytes = 8;
// HmacSha256 serves only as an incremental SHA-256 here: under a known key HMAC-SHA256 is
// as collision-resistant as SHA-256, and the digests are compared, never published.
constexpr std::string_view kDigestKey = "durationd/v1/migration-content-digest";

std::span<const std::byte> as_bytes(std::string_view text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

// Every error of a migration starts with the file, then the step that failed.
Error with_step(const std::filesystem::path& plain, std::string_view step, const Error& e) {
  return {e.code, plain.string() + ": " + std::string(step) + ": " + e.message};
}

Error crypto_error(const crypto::Error& e) {
  return {Errc::crypto, e.message};
}

// ---- Files -----------------------------------------------------------------------

Errc errc_from_errno(int err) {
  switch (err) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return Errc::full;
    case EACCES:
    case EPERM:
    case EROFS:
      return Errc::read_only;
    default:
      return Errc::io;
  }
}

// "cannot <what> <path>: <strerror>", from errno as the failed call left it.
Error os_error(std::string_view what, const fs::path& path) {
  const int err = errno;
  return {errc_from_errno(err),
          "cannot " + std::string(what) + " " + path.string() + ": " + std::strerror(err)};
}

fs::path sibling(const fs::path& file, std::string_view suffix) {
  return fs::path(file.string() + std::string(suffix));
}

fs::path directory_of(const fs::path& file) {
  return file.has_parent_path() ? file.parent_path() : fs::path(".");
}

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd& operator=(UniqueFd&&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Removes a file this migration created (and the rollback journal SQLite may have left
// beside it) unless keep() is called, so a failure before the rename leaves nothing.
class CreatedFileRemover {
 public:
  explicit CreatedFileRemover(fs::path path) : path_(std::move(path)) {}
  ~CreatedFileRemover() {
    if (path_.empty()) return;
    std::error_code ignored;
    fs::remove(path_, ignored);
    fs::remove(sibling(path_, "-journal"), ignored);
  }
  CreatedFileRemover(CreatedFileRemover&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  CreatedFileRemover(const CreatedFileRemover&) = delete;
  CreatedFileRemover& operator=(const CreatedFileRemover&) = delete;
  CreatedFileRemover& operator=(CreatedFileRemover&&) = delete;
  void keep() { path_.clear(); }

 private:
  fs::path path_;
};

struct CreatedFile {
  fs::path path;
  UniqueFd fd;
  CreatedFileRemover remover;
};

// A new name (created, renamed or removed) is durable only once its directory is synced.
Result<void> sync_directory_of(const fs::path& file) {
  return sync_directory(directory_of(file));
}

// Creates `path` exclusively (never replacing a file), mode 0600 whatever the umask, and
// owned like `original` so that the daemon's user can still open the database when root
// migrates it.
Result<CreatedFile> create_private_file(const fs::path& path, const struct stat& original) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) return os_error("create", path);
  CreatedFile file{path, std::move(fd), CreatedFileRemover(path)};
  if (::fchmod(file.fd.get(), 0600) != 0) return os_error("chmod 0600", path);
  struct stat created {};
  if (::fstat(file.fd.get(), &created) != 0) return os_error("stat", path);
  if ((created.st_uid != original.st_uid || created.st_gid != original.st_gid) &&
      ::fchown(file.fd.get(), original.st_uid, original.st_gid) != 0)
    return os_error("give the original's owner to", path);
  return file;
}

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char text[sizeof "20261204T201500Z"];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &tm);
  return text;
}

// rename() would replace a symbolic link rather than the database, and another hard link
// would keep the plaintext under its name: refuse both.
Result<struct stat> check_migratable_file(const fs::path& plain) {
  struct stat st {};
  if (::lstat(plain.c_str(), &st) != 0) {
    if (errno == ENOENT) return Error{Errc::io, plain.string() + ": no such file"};
    return os_error("stat", plain);
  }
  if (S_ISLNK(st.st_mode))
    return Error{Errc::io,
                 plain.string() + ": a symbolic link; give the path of the database file itself"};
  if (!S_ISREG(st.st_mode)) return Error{Errc::io, plain.string() + ": not a regular file"};
  if (st.st_nlink > 1)
    return Error{Errc::io,
                 plain.string() + ": has " + std::to_string(st.st_nlink) +
                     " hard links, which would keep the plaintext; remove the others first"};
  return st;
}

// ---- Progress --------------------------------------------------------------------

// Turns (done, total) into ProgressFn calls, once per 10% step of each stage.
class ProgressReporter {
 public:
  ProgressReporter(const ProgressFn& fn, bool enabled) : fn_(enabled && fn ? &fn : nullptr) {}
  bool enabled() const { return fn_ != nullptr; }

  void update(std::string_view stage, std::uint64_t done, std::uint64_t total) {
    if (fn_ == nullptr) return;
    const std::uint64_t percent =
        total == 0 ? 100 : std::min<std::uint64_t>(done * 100 / total, 100);
    const int step = static_cast<int>(percent / 10 * 10);
    if (stage != stage_) {
      stage_ = stage;
      last_step_ = -1;
    }
    if (step <= last_step_) return;
    last_step_ = step;
    (*fn_)(stage, step);
  }

 private:
  const ProgressFn* fn_;
  std::string stage_;
  int last_step_ = -1;
};

// ---- Columns and rowids, for the export and the verification ----------------------

bool iequals(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

struct ColumnInfo {
  std::string name;
  std::int64_t pk = 0;  // position in the primary key, 1-based; 0: not part of it
};

Result<std::vector<ColumnInfo>> table_columns(Connection& c, std::string_view table) {
  auto stmt = c.prepare("PRAGMA main.table_info(" + quote_identifier(table) + ")");
  if (!stmt) return stmt.error();
  std::vector<ColumnInfo> columns;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) return columns;
    columns.push_back({std::string(stmt->column_text(1)), stmt->column_int64(5)});
  }
}

// The first name of the rowid that no column has taken, if the table has a rowid.
std::optional<std::string_view> rowid_name(Connection& c, const std::vector<ColumnInfo>& columns,
                                           const std::string& from) {
  for (const std::string_view name : {"rowid", "_rowid_", "oid"}) {
    if (std::ranges::any_of(columns,
                            [&](const ColumnInfo& col) { return iequals(col.name, name); }))
      continue;
    // Fails for a WITHOUT ROWID table. Any other failure (no memory, I/O) shows again in
    // the next statement, or as a difference when the copy is verified: it is not lost.
    if (!c.prepare("SELECT " + std::string(name) + from + " LIMIT 0")) return std::nullopt;
    return name;
  }
  return std::nullopt;
}

// ---- Step 1: lock the original ---------------------------------------------------

bool wal_has_frames(const fs::path& plain) {
  struct stat st {};
  return ::stat(sibling(plain, "-wal").c_str(), &st) == 0 && st.st_size > 0;
}

// Opens the original and holds its write lock to the end of the migration, after
// checkpointing a WAL into the main file: the byte copy and the export then see the same
// state, and no writer can change it before the rename. Closing the connection ends the
// transaction, which wrote nothing.
Result<Connection> lock_original(const fs::path& plain) {
  auto c = Connection::open_plaintext(plain, /*read_only=*/false);
  if (!c) return c.error();
  if (auto r = c->exec("PRAGMA busy_timeout = " + std::to_string(kBusyTimeoutMs)); !r)
    return r.error();
  auto mode = c->query_text("PRAGMA journal_mode");
  if (!mode) return mode.error();
  const bool wal = *mode == "wal";
  if (wal) {
    auto busy = c->query_int("PRAGMA wal_checkpoint(TRUNCATE)");
    if (!busy) return busy.error();
    if (*busy != 0)
      return Error{Errc::busy, "in use (its WAL cannot be checkpointed); stop what uses it"};
  }
  if (auto r = c->exec("BEGIN IMMEDIATE"); !r) {
    if (r.error().code != Errc::busy) return r.error();
    return Error{Errc::busy,
                 "another process is writing to it (the database is locked); stop it first"};
  }
  if (wal && wal_has_frames(plain))
    return Error{Errc::busy, "written to during the checkpoint; stop what uses it"};
  return std::move(*c);
}

// What sqlcipher_export does not copy and must be set on the copy by hand.
struct HeaderValues {
  std::int64_t user_version = 0;
  std::int64_t application_id = 0;
};

Result<HeaderValues> read_header_values(Connection& c) {
  auto user_version = c.query_int("PRAGMA user_version");
  if (!user_version) return user_version.error();
  auto application_id = c.query_int("PRAGMA application_id");
  if (!application_id) return application_id.error();
  return HeaderValues{*user_version, *application_id};
}

Result<void> require_integrity(Connection& c, std::string_view which, std::string_view advice) {
  auto integrity = check_integrity(c);
  if (!integrity) return integrity.error();
  if (*integrity != "ok")
    return Error{Errc::corrupt, std::string(which) + " fails PRAGMA integrity_check (" +
                                    *integrity + ")" + std::string(advice)};
  return {};
}

// A damaged original would be copied faithfully, damage and all: refuse it instead.
Result<HeaderValues> check_original(Connection& original) {
  if (auto r = require_integrity(original, "the original", "; repair it first"); !r)
    return r.error();
  return read_header_values(original);
}

// ---- Step 2: backup --------------------------------------------------------------

Result<void> write_all(int fd, const fs::path& path, std::span<const char> bytes) {
  while (!bytes.empty()) {
    const ssize_t put = ::write(fd, bytes.data(), bytes.size());
    if (put < 0) {
      if (errno == EINTR) continue;
      return os_error("write", path);
    }
    bytes = bytes.subspan(static_cast<std::size_t>(put));
  }
  return {};
}

Result<std::uint64_t> copy_contents(int from, const fs::path& from_path, const CreatedFile& to,
                                    std::uint64_t size, ProgressReporter& reporter) {
  std::vector<char> buffer(kCopyChunkBytes);
  std::uint64_t copied = 0;
  for (;;) {
    const ssize_t got = ::read(from, buffer.data(), buffer.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      return os_error("read", from_path);
    }
    if (got == 0) return copied;
    if (auto r = write_all(to.fd.get(), to.path,
                           std::span(buffer.data(), static_cast<std::size_t>(got)));
        !r)
      return r.error();
    copied += static_cast<std::uint64_t>(got);
    reporter.update("backing up", copied, size);
  }
}

// A byte copy, safe because the original is checkpointed and write-locked (step 1).
Result<CreatedFile> make_backup(const fs::path& plain, const struct stat& st,
                                ProgressReporter& reporter) {
  const UniqueFd from(::open(plain.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (from.get() < 0) return os_error("open", plain);
  struct stat now {};  // the checkpoint may have grown the file since `st` was taken
  if (::fstat(from.get(), &now) != 0) return os_error("stat", plain);
  auto backup = create_private_file(sibling(plain, ".plaintext-backup-" + utc_timestamp()), st);
  if (!backup) return backup.error();
  const auto size = static_cast<std::uint64_t>(now.st_size);
  auto copied = copy_contents(from.get(), plain, *backup, size, reporter);
  if (!copied) return copied.error();
  if (*copied != size) return Error{Errc::busy, "the original changed size while it was copied"};
  if (::fsync(backup->fd.get()) != 0) return os_error("sync", backup->path);
  if (auto r = sync_directory_of(backup->path); !r) return r.error();
  return backup;
}

// ---- Step 3: encrypt -------------------------------------------------------------

Result<DatabaseKey> new_database_key(std::string_view passphrase, std::uint32_t iterations) {
  auto salt = new_salt();
  if (!salt) return salt.error();
  return derive_database_key(passphrase, *salt, iterations);
}

// An empty file SQLite will fill; created by us so that its name is new and its mode 0600.
Result<CreatedFile> create_copy_file(const fs::path& plain, const struct stat& st) {
  std::array<std::byte, kTempSuffixBytes> random{};
  if (auto r = crypto::random_bytes(random); !r) return crypto_error(r.error());
  return create_private_file(sibling(plain, ".encrypting-" + crypto::to_hex(random)), st);
}

struct StatementFinalizer {
  void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};
using StatementPtr = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

Result<StatementPtr> prepare_raw(Connection& c, const std::string& sql, std::string_view what) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(c.handle(), sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr) !=
      SQLITE_OK)
    return c.last_error(what);
  return StatementPtr(raw);
}

// The key is bound, not spliced into the SQL text: with SQLITE_STATIC SQLite reads it
// straight from our SecretBytes, so no copy is left in its heap (parser tokens, a
// transient binding) where nobody would wipe it. SQLCipher keeps its own wiped copy.
Result<void> attach_encrypted(Connection& c, const fs::path& copy, const DatabaseKey& key) {
  const crypto::SecretBytes literal = sqlcipher_key_literal(key);
  auto stmt = prepare_raw(c, "ATTACH DATABASE ?1 AS enc KEY ?2", "attach");
  if (!stmt) return stmt.error();
  if (sqlite3_bind_text(stmt->get(), 1, copy.c_str(), -1, SQLITE_TRANSIENT) != SQLITE_OK ||
      sqlite3_bind_text(stmt->get(), 2, reinterpret_cast<const char*>(literal.data()),
                        static_cast<int>(literal.size()), SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_step(stmt->get()) != SQLITE_DONE)
    return c.last_error("attach");
  return {};
}

struct ExportProgress {
  ProgressReporter* reporter;
  const fs::path* copy;
  std::uint64_t expected_bytes;  // the original's size: the copy ends up about as large
};

int on_export_progress(void* context) {
  const auto* progress = static_cast<const ExportProgress*>(context);
  struct stat st {};
  if (::stat(progress->copy->c_str(), &st) == 0)
    progress->reporter->update("encrypting", static_cast<std::uint64_t>(st.st_size) * 99 / 100,
                               progress->expected_bytes);
  return 0;  // never interrupt the export
}

Result<void> run_export(Connection& c, const fs::path& copy, std::uint64_t expected_bytes,
                        ProgressReporter& reporter) {
  ExportProgress progress{&reporter, &copy, expected_bytes};
  if (reporter.enabled())
    sqlite3_progress_handler(c.handle(), kProgressEveryOps, on_export_progress, &progress);
  auto exported = c.query_int("SELECT sqlcipher_export('enc')");
  sqlite3_progress_handler(c.handle(), 0, nullptr, nullptr);
  if (!exported) return exported.error();
  return {};
}

Result<bool> has_index(Connection& c, std::string_view table) {
  auto stmt = c.prepare("PRAGMA main.index_list(" + quote_identifier(table) + ")");
  if (!stmt) return stmt.error();
  return stmt->step();
}

// sqlcipher_export copies a table with INSERT ... SELECT, and SQLite's transfer
// optimization then gives new rowids (as VACUUM does) to a table that has no index: a
// table without an INTEGER PRIMARY KEY loses its gaps, and anything that kept its rowids
// would point at the wrong rows. Copy such tables again, rowids included (triggers are
// off, see export_encrypted). With an INTEGER PRIMARY KEY this is redundant but right.
Result<void> restore_rowids(Connection& c, const std::string& table) {
  auto indexed = has_index(c, table);
  if (!indexed) return indexed.error();
  if (*indexed) return {};  // the transfer kept the rowids: index entries refer to them
  auto columns = table_columns(c, table);
  if (!columns) return columns.error();
  const auto rowid = rowid_name(c, *columns, " FROM main." + quote_identifier(table));
  if (!rowid) return {};  // WITHOUT ROWID, or no name left to address the rowid by
  std::string list(*rowid);
  for (const ColumnInfo& col : *columns) list += ", " + quote_identifier(col.name);
  const std::string name = quote_identifier(table);
  return c.exec("DELETE FROM enc." + name + "; INSERT INTO enc." + name + "(" + list + ") SELECT " +
                list + " FROM main." + name);
}

Result<void> restore_all_rowids(Connection& c) {
  auto tables = list_tables(c, TableSet::kAll);  // unqualified sqlite_master: main's
  if (!tables) return tables.error();
  for (const std::string& table : *tables)
    if (auto r = restore_rowids(c, table); !r) return r;
  return {};
}

// The copy's triggers must not fire while its tables are filled.
Result<void> disable_triggers(Connection& c) {
  int enabled = 1;
  if (sqlite3_db_config(c.handle(), SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, &enabled) != SQLITE_OK ||
      enabled != 0)
    return Error{Errc::internal, c.name() + ": cannot turn triggers off for the copy"};
  return {};
}

// Fills `copy` from the original in one transaction. The connection is our own, so the
// ATTACH (not allowed inside the lock's transaction) and the export's transaction stay
// apart from the lock; closing it on an error rolls the copy back.
Result<void> export_encrypted(const fs::path& plain, const fs::path& copy, const DatabaseKey& key,
                              const HeaderValues& header, std::uint64_t expected_bytes,
                              ProgressReporter& reporter) {
  auto c = Connection::open_plaintext(plain, /*read_only=*/false);
  if (!c) return c.error();
  if (auto r = c->exec("PRAGMA busy_timeout = " + std::to_string(kBusyTimeoutMs)); !r) return r;
  if (auto r = attach_encrypted(*c, copy, key); !r) return r;
  // Must precede the first page the new file gets (platform notes), as on every open.
  if (auto r = c->exec("PRAGMA enc.cipher_page_size = 4096"); !r) return r;
  if (auto r = disable_triggers(*c); !r) return r;
  if (auto r = c->exec("BEGIN"); !r) return r;
  if (auto r = run_export(*c, copy, expected_bytes, reporter); !r) return r;
  if (auto r = restore_all_rowids(*c); !r) return r;
  if (auto r = c->exec("PRAGMA enc.user_version = " + std::to_string(header.user_version) +
                       "; PRAGMA enc.application_id = " + std::to_string(header.application_id));
      !r)
    return r;
  if (auto r = c->exec("COMMIT"); !r) return r;
  if (auto r = c->exec("DETACH DATABASE enc"); !r) return r;
  reporter.update("encrypting", 1, 1);
  return {};
}

// ---- Step 4: verify --------------------------------------------------------------

struct SchemaEntry {
  std::string type, name, table, sql;
  auto operator<=>(const SchemaEntry&) const = default;
};

struct TableContent {
  std::string name;
  std::int64_t rows = 0;
  crypto::Sha256Digest digest{};
};

struct Snapshot {
  std::vector<SchemaEntry> schema;   // sorted
  std::vector<TableContent> tables;  // every b-tree table, sqlite_* included, by name
  HeaderValues header;
};

// SQLite reserves names starting with "sqlite_" (in any case) for itself.
bool is_internal_table(std::string_view name) {
  return name.size() >= 7 && iequals(name.substr(0, 7), "sqlite_");
}

Result<std::vector<SchemaEntry>> read_schema(Connection& c) {
  auto stmt = c.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master");
  if (!stmt) return stmt.error();
  std::vector<SchemaEntry> schema;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    schema.push_back({std::string(stmt->column_text(0)), std::string(stmt->column_text(1)),
                      std::string(stmt->column_text(2)), std::string(stmt->column_text(3))});
  }
  std::ranges::sort(schema);
  return schema;
}

std::string join_quoted(const std::vector<const ColumnInfo*>& columns) {
  std::string list;
  for (const ColumnInfo* col : columns)
    list += (list.empty() ? "" : ", ") + quote_identifier(col->name);
  return list;
}

// A SELECT that reads every row in an order both databases agree on. A rowid table is
// read with its rowid, so a renumbered row would show as a difference; a WITHOUT ROWID
// table in primary key order; a table whose rowid names are all taken by columns, by
// every column.
Result<std::string> ordered_select(Connection& c, std::string_view table) {
  auto columns = table_columns(c, table);
  if (!columns) return columns.error();
  const std::string from = " FROM " + quote_identifier(table);
  if (const auto rowid = rowid_name(c, *columns, from))
    return "SELECT " + std::string(*rowid) + ", *" + from + " ORDER BY " + std::string(*rowid);
  std::vector<const ColumnInfo*> order;
  for (const ColumnInfo& col : *columns)
    if (col.pk > 0) order.push_back(&col);
  std::ranges::sort(order, {}, &ColumnInfo::pk);
  if (order.empty())
    for (const ColumnInfo& col : *columns) order.push_back(&col);
  return "SELECT *" + from + " ORDER BY " + join_quoted(order);
}

void append_u64(std::vector<std::byte>& out, std::uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<std::byte>(value >> shift));
}

void append_sized(std::vector<std::byte>& out, const void* data, int size) {
  append_u64(out, static_cast<std::uint64_t>(size));
  const auto* bytes = static_cast<const std::byte*>(data);
  out.insert(out.end(), bytes, bytes + size);
}

// One value as a type tag plus a fixed-size or length-prefixed payload, so that no two
// different rows encode alike (1 vs 1.0 vs '1' vs x'31' vs NULL). False: out of memory.
bool append_value(std::vector<std::byte>& out, sqlite3_stmt* stmt, int column) {
  switch (sqlite3_column_type(stmt, column)) {
    case SQLITE_INTEGER:
      out.push_back(std::byte{'I'});
      append_u64(out, static_cast<std::uint64_t>(sqlite3_column_int64(stmt, column)));
      return true;
    case SQLITE_FLOAT:
      out.push_back(std::byte{'F'});
      append_u64(out, std::bit_cast<std::uint64_t>(sqlite3_column_double(stmt, column)));
      return true;
    case SQLITE_TEXT: {
      out.push_back(std::byte{'T'});
      const unsigned char* text =
          sqlite3_column_text(stmt, column);  // before _bytes, as documented
      const int size = sqlite3_column_bytes(stmt, column);
      if (text == nullptr && size > 0) return false;
      append_sized(out, text, size);
      return true;
    }
    case SQLITE_BLOB: {
      out.push_back(std::byte{'B'});
      const void* blob = sqlite3_column_blob(stmt, column);
      const int size = sqlite3_column_bytes(stmt, column);
      if (blob == nullptr && size > 0) return false;
      append_sized(out, blob, size);
      return true;
    }
    default:
      out.push_back(std::byte{'N'});
      return true;
  }
}

Result<TableContent> digest_table(Connection& c, const std::string& table) {
  auto sql = ordered_select(c, table);
  if (!sql) return sql.error();
  auto stmt = prepare_raw(c, *sql, "read " + table);
  if (!stmt) return stmt.error();
  auto hash = crypto::HmacSha256::create(as_bytes(kDigestKey));
  if (!hash) return crypto_error(hash.error());

  TableContent content{table};
  const int columns = sqlite3_column_count(stmt->get());
  std::vector<std::byte> row;
  for (;;) {
    const int rc = sqlite3_step(stmt->get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return c.last_error("read " + table);
    row.clear();
    for (int i = 0; i < columns; ++i)
      if (!append_value(row, stmt->get(), i)) return c.last_error("read " + table);
    if (auto r = hash->update(row); !r) return crypto_error(r.error());
    ++content.rows;
  }
  // The count goes in too, so that "no rows" cannot collide with an encoding prefix.
  row.clear();
  append_u64(row, static_cast<std::uint64_t>(content.rows));
  if (auto r = hash->update(row); !r) return crypto_error(r.error());
  auto digest = hash->final();
  if (!digest) return crypto_error(digest.error());
  content.digest = *digest;
  return content;
}

// Progress through the tables of both databases: the original, then the copy.
struct VerifyProgress {
  ProgressReporter& reporter;
  std::size_t done;
  std::size_t total;
};

Result<Snapshot> take_snapshot(Connection& c, VerifyProgress& progress) {
  Snapshot snapshot;
  auto schema = read_schema(c);
  if (!schema) return schema.error();
  snapshot.schema = std::move(*schema);
  auto tables = list_tables(c, TableSet::kAll);
  if (!tables) return tables.error();
  for (const std::string& table : *tables) {
    auto content = digest_table(c, table);
    if (!content) return content.error();
    snapshot.tables.push_back(std::move(*content));
    progress.reporter.update("verifying", ++progress.done, progress.total);
  }
  auto header = read_header_values(c);
  if (!header) return header.error();
  snapshot.header = *header;
  return snapshot;
}

std::string describe_schema_difference(const std::vector<SchemaEntry>& original,
                                       const std::vector<SchemaEntry>& copy) {
  std::vector<SchemaEntry> missing;
  std::ranges::set_difference(original, copy, std::back_inserter(missing));
  if (!missing.empty())
    return missing.front().type + " " + missing.front().name + " is missing or differs in the copy";
  std::vector<SchemaEntry> extra;
  std::ranges::set_difference(copy, original, std::back_inserter(extra));
  if (!extra.empty()) return extra.front().type + " " + extra.front().name + " is only in the copy";
  return "the schemas differ";
}

// The messages name tables and counts, never stored values.
Result<void> compare_snapshots(const Snapshot& original, const Snapshot& copy) {
  auto differ = [](const std::string& what) {
    return Error{Errc::corrupt, "the copy differs from the original: " + what};
  };
  if (original.schema != copy.schema)
    return differ(describe_schema_difference(original.schema, copy.schema));
  if (original.tables.size() != copy.tables.size()) return differ("the number of tables");
  for (std::size_t i = 0; i < original.tables.size(); ++i) {
    const TableContent& a = original.tables[i];
    const TableContent& b = copy.tables[i];
    if (a.name != b.name) return differ("table " + a.name + " is missing");
    if (a.rows != b.rows)
      return differ("table " + a.name + " has " + std::to_string(b.rows) + " rows instead of " +
                    std::to_string(a.rows));
    if (a.digest != b.digest) return differ("the rows of table " + a.name);
  }
  if (original.header.user_version != copy.header.user_version) return differ("user_version");
  if (original.header.application_id != copy.header.application_id) return differ("application_id");
  return {};
}

// Opens the copy afresh, as the daemon will: by the salt in its header and the key.
Result<Connection> open_copy(const fs::path& copy, const DatabaseKey& key) {
  auto probe = probe_database_file(copy);
  if (!probe) return probe.error();
  if (probe->kind != FileKind::kEncrypted || probe->salt != key.salt)
    return Error{Errc::corrupt, "the encrypted copy does not carry its salt in its header"};
  return Connection::open(copy, key, {.create = false, .wal = false});
}

// Returns the original's snapshot once the copy has proven identical.
Result<Snapshot> verify_copy(Connection& original, const fs::path& copy, const DatabaseKey& key,
                             ProgressReporter& reporter) {
  auto c = open_copy(copy, key);
  if (!c) return c.error();
  if (auto r = require_integrity(*c, "the encrypted copy", ""); !r) return r.error();
  auto table_count = list_tables(original, TableSet::kAll);
  if (!table_count) return table_count.error();
  VerifyProgress progress{reporter, 0, 2 * table_count->size()};
  auto expected = take_snapshot(original, progress);
  if (!expected) return expected.error();
  auto actual = take_snapshot(*c, progress);
  if (!actual) return actual.error();
  if (auto r = compare_snapshots(*expected, *actual); !r) return r.error();
  return expected;
}

// ---- Step 5: replace -------------------------------------------------------------

Result<void> replace_original(const fs::path& copy, const fs::path& plain) {
  if (auto r = sync_file(copy); !r) return r;
  if (::rename(copy.c_str(), plain.c_str()) != 0)
    return os_error("rename " + copy.string() + " to", plain);
  return {};
}

// Left over from the plaintext file: a non-empty -wal or -journal would be replayed
// onto the encrypted file as if it were its own.
Result<void> remove_stale_companions(const fs::path& plain) {
  for (const std::string_view suffix : {"-wal", "-shm", "-journal"})
    if (auto r = remove_if_exists(sibling(plain, suffix)); !r) return r;
  return {};
}

Result<void> finish_after_rename(const fs::path& plain) {
  if (auto r = sync_directory_of(plain); !r) return r;
  if (auto r = remove_stale_companions(plain); !r) return r;
  return sync_directory_of(plain);
}

// ---- The whole ---------------------------------------------------------------------

MigrationReport summarize(const Snapshot& snapshot, fs::path backup) {
  MigrationReport report{.outcome = MigrationOutcome::kMigrated, .backup = std::move(backup)};
  for (const TableContent& table : snapshot.tables) {
    if (is_internal_table(table.name)) continue;
    ++report.tables;
    report.rows += table.rows;
  }
  return report;
}

Result<MigrationReport> encrypt_in_place(const fs::path& plain, const struct stat& st,
                                         std::string_view passphrase, std::uint32_t iterations,
                                         ProgressReporter& reporter) {
  auto original = lock_original(plain);
  if (!original) return with_step(plain, "lock", original.error());
  auto header = check_original(*original);
  if (!header) return with_step(plain, "check", header.error());
  auto key = new_database_key(passphrase, iterations);
  if (!key) return with_step(plain, "derive key", key.error());
  auto backup = make_backup(plain, st, reporter);
  if (!backup) return with_step(plain, "backup", backup.error());
  auto copy = create_copy_file(plain, st);
  if (!copy) return with_step(plain, "encrypt", copy.error());
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (auto r = export_encrypted(plain, copy->path, *key, *header, size, reporter); !r)
    return with_step(plain, "encrypt", r.error());
  auto snapshot = verify_copy(*original, copy->path, *key, reporter);
  if (!snapshot) return with_step(plain, "verify", snapshot.error());
  if (auto r = replace_original(copy->path, plain); !r)
    return with_step(plain, "replace", r.error());
  copy->remover.keep();
  backup->remover.keep();

  *original = Connection();  // ends the lock; must close before its -wal/-shm go
  if (auto r = finish_after_rename(plain); !r)
    return Error{r.error().code, plain.string() + ": after replacing: " + r.error().message +
                                     "; the file is encrypted now, and its plaintext backup is " +
                                     backup->path.string()};
  return summarize(*snapshot, backup->path);
}

// The header is not SQLite's, so the file is encrypted or not a database at all: only
// the key can tell, and a key that does not open it is worth an error, not a shrug.
Result<MigrationReport> confirm_already_encrypted(const fs::path& path, const Salt& salt,
                                                  std::string_view passphrase,
                                                  std::uint32_t iterations) {
  auto key = derive_database_key(passphrase, salt, iterations);
  if (!key) return key.error();
  auto c = Connection::open(path, *key, {.create = false, .wal = false});
  if (!c && c.error().code == Errc::wrong_key)
    return Error{Errc::wrong_key,
                 path.string() +
                     ": not a plaintext SQLite database, and the passphrase does not open it "
                     "(encrypted under another passphrase, or not a database); left alone"};
  if (!c) return c.error();
  return MigrationReport{.outcome = MigrationOutcome::kAlreadyEncrypted};
}

}  // namespace

Result<MigrationReport> migrate_plaintext_database(const fs::path& plain,
                                                   std::string_view passphrase,
                                                   std::uint32_t kdf_iterations,
                                                   const ProgressFn& progress) {
  auto st = check_migratable_file(plain);
  if (!st) return st.error();
  auto probe = probe_database_file(plain);
  if (!probe) return probe.error();
  switch (probe->kind) {
    case FileKind::kMissing:
      return Error{Errc::io, plain.string() + ": no such file"};
    case FileKind::kEmpty:
      return Error{Errc::corrupt, plain.string() + ": an empty file, not a database"};
    case FileKind::kEncrypted:
      return confirm_already_encrypted(plain, probe->salt, passphrase, kdf_iterations);
    case FileKind::kPlaintext:
      break;
  }
  ProgressReporter reporter(progress,
                            static_cast<std::uintmax_t>(st->st_size) >= kProgressMinBytes);
  return encrypt_in_place(plain, *st, passphrase, kdf_iterations, reporter);
}

}  // namespace durationd::storage

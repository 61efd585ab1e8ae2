#include "storage/connection.hpp"

#include <utility>

#include "storage/sqlite.hpp"

namespace durationd::storage {
namespace {

constexpr int kPageSize = 4096;

}  // namespace

// ---- Statement -------------------------------------------------------------------

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), database_(other.database_) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    database_ = other.database_;
  }
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind_blob(int index, std::span<const std::byte> blob) {
  // A zero-length blob must still be a blob, not NULL: pass a non-null pointer.
  static const std::byte kEmpty{};
  sqlite3_bind_blob(stmt_, index, blob.empty() ? &kEmpty : blob.data(), static_cast<int>(blob.size()),
                    SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Result<bool> Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3* db = sqlite3_db_handle(stmt_);
  return Error{errc_from_sqlite(rc), std::string(database_) + ": " + sqlite3_errmsg(db)};
}

Result<void> Statement::run() {
  for (;;) {
    auto row = step();
    if (!row) return row.error();
    if (!*row) return {};
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::column_int64(int index) const { return sqlite3_column_int64(stmt_, index); }
double Statement::column_double(int index) const { return sqlite3_column_double(stmt_, index); }

std::string_view Statement::column_text(int index) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, index));
  return text ? std::string_view(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index))) : std::string_view{};
}

std::span<const std::byte> Statement::column_blob(int index) const {
  const auto* blob = static_cast<const std::byte*>(sqlite3_column_blob(stmt_, index));
  return blob ? std::span(blob, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index)))
              : std::span<const std::byte>{};
}

bool Statement::column_is_null(int index) const { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }
int Statement::column_count() const { return sqlite3_column_count(stmt_); }
std::string_view Statement::column_name(int index) const { return sqlite3_column_name(stmt_, index); }

// ---- Connection ------------------------------------------------------------------

Connection::Connection(sqlite3* db, std::filesystem::path path)
    : db_(db), path_(std::move(path)), name_(path_.filename().string()) {}

Connection::~Connection() { sqlite3_close_v2(db_); }

Connection::Connection(Connection&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)), name_(std::move(other.name_)) {}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
    name_ = std::move(other.name_);
  }
  return *this;
}

Error Connection::last_error(std::string_view what) const {
  const int rc = sqlite3_extended_errcode(db_);
  return {errc_from_sqlite(rc), name_ + ": " + std::string(what) + ": " + sqlite3_errmsg(db_)};
}

Result<void> Connection::exec(std::string_view sql) {
  const std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) return last_error("exec");
  return {};
}

Result<Statement> Connection::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK)
    return last_error("prepare");
  return Statement(stmt, name_);
}

Result<std::int64_t> Connection::query_int(std::string_view sql) {
  auto stmt = prepare(sql);
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  return *row ? stmt->column_int64(0) : 0;
}

Result<std::string> Connection::query_text(std::string_view sql) {
  auto stmt = prepare(sql);
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  return *row ? std::string(stmt->column_text(0)) : std::string();
}

Result<void> Connection::apply_cipher_settings() {
  if (auto r = exec("PRAGMA cipher_page_size = " + std::to_string(kPageSize)); !r) return r;
  // SQLCipher 4 can be told to use SHA-512 for page HMACs and its KDF; 3.4.1 cannot
  // (it authenticates pages with HMAC-SHA1; see crypto/algorithm_policy.hpp). An unknown
  // pragma is silently ignored, so read the settings back to confirm them.
  auto version = query_text("PRAGMA cipher_version");
  if (!version) return version.error();
  if (version->starts_with("4.")) {
    if (auto r = exec("PRAGMA cipher_hmac_algorithm = HMAC_SHA512; PRAGMA cipher_kdf_algorithm = PBKDF2_HMAC_SHA512"); !r)
      return r;
    auto hmac = query_text("PRAGMA cipher_hmac_algorithm");
    if (!hmac || *hmac != "HMAC_SHA512") return Error{Errc::internal, name_ + ": SQLCipher refused HMAC_SHA512"};
  }
  return {};
}

Result<Connection> Connection::open_keyed(const std::filesystem::path& path, const DatabaseKey& key, int flags) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  Connection c(raw, path);
  if (rc != SQLITE_OK) return c.last_error("open");
  const crypto::SecretBytes literal = sqlcipher_key_literal(key);
  if (sqlite3_key(raw, literal.data(), static_cast<int>(literal.size())) != SQLITE_OK) return c.last_error("key");
  if (auto r = c.apply_cipher_settings(); !r) return r.error();
  // The key is only checked when a page is read: prove it before anything is written.
  if (auto probe = c.query_int("SELECT count(*) FROM sqlite_master"); !probe) {
    if (probe.error().code == Errc::wrong_key)
      return Error{Errc::wrong_key, c.name_ + " (" + path.string() +
                                        "): wrong key: the database is encrypted under another passphrase"};
    return probe.error();
  }
  return c;
}

Result<Connection> Connection::open(const std::filesystem::path& path, const DatabaseKey& key, Options options) {
  auto c = open_keyed(path, key, SQLITE_OPEN_READWRITE | (options.create ? SQLITE_OPEN_CREATE : 0));
  if (!c) return c;
  sqlite3_busy_timeout(c->db_, options.busy_timeout_ms);
  if (options.wal) {
    auto mode = c->query_text("PRAGMA journal_mode = WAL");
    if (!mode) return mode.error();
    if (*mode != "wal") return Error{Errc::internal, c->name_ + ": cannot switch to WAL (journal_mode " + *mode + ")"};
  }
  if (auto r = c->exec("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL"); !r) return r.error();
  return c;
}

Result<void> Connection::prove_key(const std::filesystem::path& path, const DatabaseKey& key) {
  auto c = open_keyed(path, key, SQLITE_OPEN_READONLY);
  if (!c) return c.error();
  return {};
}

Result<Connection> Connection::open_plaintext(const std::filesystem::path& path, bool read_only) {
  sqlite3* raw = nullptr;
  const int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Connection c(raw, path);
  if (rc != SQLITE_OK) return c.last_error("open");
  if (auto probe = c.query_int("SELECT count(*) FROM sqlite_master"); !probe) return probe.error();
  return c;
}

// ---- Transaction -----------------------------------------------------------------

bool Connection::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

Result<Transaction> Transaction::begin(Connection& connection) {
  if (auto r = connection.exec("BEGIN IMMEDIATE"); !r) return r.error();
  return Transaction(connection);
}

Transaction::~Transaction() {
  if (connection_) (void)connection_->exec("ROLLBACK");
}

Result<void> Transaction::commit() {
  auto r = connection_->exec("COMMIT");
  if (r) connection_ = nullptr;
  return r;
}

}  // namespace durationd::storage

// One SQLCipher connection (RAII) and its prepared statements.
//
// Every open: the raw key, cipher_page_size = 4096 (required on every open, not just at
// creation), the key proven by a first read (a wrong key is accepted by sqlite3_key and
// only shows on that read, as SQLITE_NOTADB -> Errc::wrong_key), then WAL, a busy
// timeout, foreign keys on and synchronous = FULL. A Connection is used by one thread
// at a time (it is opened with SQLITE_OPEN_NOMUTEX); pools hand them out.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "storage/database_key.hpp"
#include "storage/error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace durationd::storage {

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3_stmt* stmt, std::string_view database) : stmt_(stmt), database_(database) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQLite.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view text);
  Statement& bind_blob(int index, std::span<const std::byte> blob);
  Statement& bind_null(int index);

  // true: a row is available; false: done.
  Result<bool> step();
  // step() until done; for statements that return no rows.
  Result<void> run();
  // Ready to run again with new bindings.
  void reset();

  std::int64_t column_int64(int index) const;
  double column_double(int index) const;
  std::string_view column_text(int index) const;
  std::span<const std::byte> column_blob(int index) const;
  bool column_is_null(int index) const;
  int column_count() const;
  std::string_view column_name(int index) const;

 private:
  sqlite3_stmt* stmt_ = nullptr;
  std::string_view database_;  // the owning connection's name, for messages
};

class Connection {
 public:
  struct Options {
    bool create = false;  // create the file if it does not exist
    int busy_timeout_ms = 5000;
    bool wal = true;  // false: keep the rollback journal (one-file copies: migrate, backup)
  };

  // Opens an encrypted database (see the file comment for what every open does).
  static Result<Connection> open(const std::filesystem::path& path, const DatabaseKey& key, Options options);
  // Checks that `key` opens the existing database at `path`, on a read-only connection:
  // a read-write connection opened with a wrong key would checkpoint the WAL into the
  // file when closed (SQLite 3.15 cannot turn that off), writing garbage into it.
  static Result<void> prove_key(const std::filesystem::path& path, const DatabaseKey& key);
  // Opens a plaintext SQLite file, for `durationd migrate` and tests only.
  static Result<Connection> open_plaintext(const std::filesystem::path& path, bool read_only);

  Connection() = default;
  ~Connection();
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Result<void> exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);
  // The first column of the first row, as an integer (e.g. PRAGMA user_version).
  Result<std::int64_t> query_int(std::string_view sql);
  Result<std::string> query_text(std::string_view sql);

  // An error for the connection's last failure, naming the database and `what` failed.
  Error last_error(std::string_view what) const;

  sqlite3* handle() const { return db_; }
  // False in autocommit mode: no BEGIN, or SQLite rolled the transaction back itself
  // (it may, on SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM or SQLITE_BUSY).
  bool in_transaction() const;
  const std::filesystem::path& path() const { return path_; }
  const std::string& name() const { return name_; }
  bool is_open() const { return db_ != nullptr; }

 private:
  Connection(sqlite3* db, std::filesystem::path path);
  // Opens with `flags`, keys, applies the cipher settings and proves the key.
  static Result<Connection> open_keyed(const std::filesystem::path& path, const DatabaseKey& key, int flags);
  Result<void> apply_cipher_settings();

  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
  std::string name_;  // the file name, e.g. "cache.db"
};

// Runs `BEGIN IMMEDIATE` ... `COMMIT`, rolling back if not committed.
class Transaction {
 public:
  static Result<Transaction> begin(Connection& connection);
  ~Transaction();
  Transaction(Transaction&& other) noexcept : connection_(std::exchange(other.connection_, nullptr)) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Transaction& operator=(Transaction&&) = delete;
  Result<void> commit();

 private:
  explicit Transaction(Connection& connection) : connection_(&connection) {}
  Connection* connection_;
};

}  // namespace durationd::storage

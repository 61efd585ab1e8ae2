// The daemon's databases in its state dir (cache.db, timers.db): opened under keys
// derived from one passphrase at start, pooled, backed up online, and re-keyed
// all-or-nothing (docs/key-rotation.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "storage/connection_pool.hpp"
#include "storage/database_key.hpp"
#include "storage/migrations.hpp"

namespace durationd::storage {

struct DatabaseSpec {
  std::string name;                      // file name in the state dir, e.g. "cache.db"
  std::span<const Migration> migrations;  // its schema
  // Called during key rotation on the new copy (attached as schema `rotating` to a
  // connection of the old database) to re-seal anything keyed by a subkey, e.g. the
  // cache's row MACs. May be empty.
  std::function<Result<void>(Connection& connection, const DatabaseKey& old_key, const DatabaseKey& new_key)>
      on_rotate;
};

struct StoreOptions {
  std::filesystem::path state_dir;
  std::uint32_t kdf_iterations = 256'000;
  std::size_t pool_size = 4;
};

struct DatabaseInfo {
  std::string name;
  std::filesystem::path path;
  std::uint64_t bytes = 0;
  std::uint64_t wal_bytes = 0;
  ConnectionPool::Stats pool;
};

struct BackupResult {
  std::filesystem::path path;  // the folder holding this backup
  std::uint64_t bytes = 0;
};

class Store {
 public:
  // Finishes or rolls back an interrupted rotation, derives every database's key (in
  // parallel, one PBKDF2 each), opens and migrates each database and fills the pools.
  static Result<std::unique_ptr<Store>> open(const StoreOptions& options, std::string_view passphrase,
                                             std::vector<DatabaseSpec> specs);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The pool of `name`; the name must be one of the specs (a bug otherwise).
  ConnectionPool& pool(std::string_view name);
  // The key of `name`, for subkeys (valid until the next rotate()).
  const DatabaseKey& key(std::string_view name) const;

  std::vector<DatabaseInfo> info() const;
  std::uint32_t kdf_iterations() const { return options_.kdf_iterations; }
  const std::filesystem::path& state_dir() const { return options_.state_dir; }

  // An online, consistent, still encrypted copy of every database into a new folder
  // under `backups_dir` (mode 0700; files 0600). Blocks: call from a worker thread.
  Result<BackupResult> backup(const std::filesystem::path& backups_dir);

  // Re-encrypts every database under keys derived from `new_passphrase`: all of them
  // or none. Takes a backup first; drains the pools and reopens them. Blocks.
  Result<std::vector<std::string>> rotate(std::string_view new_passphrase, const std::filesystem::path& backups_dir);

  // Test hook: rotate() fails (as a crash would leave things) right after `step`
  // (see docs/key-rotation.md for the step names). Empty: no fault.
  void inject_rotation_fault(std::string step) { rotation_fault_ = std::move(step); }

 private:
  struct Database;
  explicit Store(StoreOptions options);
  Database& find(std::string_view name) const;

  StoreOptions options_;
  std::vector<std::unique_ptr<Database>> databases_;
  std::string rotation_fault_;
};

// Start-up recovery of an interrupted rotation (also run by Store::open): with the
// commit marker present, every finished copy is moved into place; without it, copies
// are discarded. Returns what it did, for the log ("" when nothing was pending).
Result<std::string> recover_rotation(const std::filesystem::path& state_dir);

}  // namespace durationd::storage

#include "storage/store.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <thread>

#include <openssl/crypto.h>

#include "storage/durable_file.hpp"
#include "storage/sqlite.hpp"

namespace durationd::storage {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kRotatingSuffix = ".rotating";
constexpr std::string_view kRotationMarker = "rotation.commit";

std::uint64_t file_size_or_zero(const fs::path& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

fs::path with_suffix(const fs::path& path, std::string_view suffix) { return path.string() + std::string(suffix); }

// The database's own files besides the main one: gone once its last connection closed
// cleanly, but a crash can leave them.
Result<void> remove_sidecars(const fs::path& db) {
  for (std::string_view s : {"-wal", "-shm", "-journal"})
    if (auto r = remove_if_exists(with_suffix(db, s)); !r) return r;
  return {};
}

// Derives one key per salt, in parallel: each PBKDF2 is the expensive step of start-up.
Result<std::vector<DatabaseKey>> derive_keys(std::string_view passphrase, const std::vector<Salt>& salts,
                                             std::uint32_t iterations) {
  std::vector<std::optional<Result<DatabaseKey>>> slots(salts.size());
  {
    std::vector<std::jthread> threads;
    for (std::size_t i = 0; i < salts.size(); ++i)
      threads.emplace_back([&, i] { slots[i].emplace(derive_database_key(passphrase, salts[i], iterations)); });
  }
  std::vector<DatabaseKey> keys;
  for (auto& slot : slots) {
    if (!*slot) return slot->error();
    keys.push_back(std::move(**slot));
  }
  return keys;
}

std::string utc_stamp() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Result<void> make_private_dir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Error{Errc::io, "cannot create " + dir.string() + ": " + std::strerror(errno)};
  return {};
}

// SQL text that embeds a key literal: wiped when it goes out of scope.
class SecretSql {
 public:
  explicit SecretSql(std::string text) : text_(std::move(text)) {}
  ~SecretSql() { OPENSSL_cleanse(text_.data(), text_.size()); }
  SecretSql(const SecretSql&) = delete;
  SecretSql& operator=(const SecretSql&) = delete;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

}  // namespace

struct Store::Database {
  DatabaseSpec spec;
  fs::path path;
  DatabaseKey key;
  std::unique_ptr<ConnectionPool> pool;
};

Store::Store(StoreOptions options) : options_(std::move(options)) {}

Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::open(const StoreOptions& options, std::string_view passphrase,
                                           std::vector<DatabaseSpec> specs) {
  if (auto recovered = recover_rotation(options.state_dir); !recovered) return recovered.error();

  std::unique_ptr<Store> store(new Store(options));
  std::vector<Salt> salts;
  std::vector<bool> exists;
  for (auto& spec : specs) {
    const fs::path path = options.state_dir / spec.name;
    auto probe = probe_database_file(path);
    if (!probe) return probe.error();
    if (probe->kind == FileKind::kPlaintext)
      return Error{Errc::plaintext, path.string() + " is a plaintext SQLite database; encrypt it with `durationd migrate`"};
    exists.push_back(probe->kind == FileKind::kEncrypted);
    if (probe->kind == FileKind::kEncrypted) {
      salts.push_back(probe->salt);
    } else {
      auto salt = new_salt();
      if (!salt) return salt.error();
      salts.push_back(*salt);
    }
    store->databases_.push_back(std::make_unique<Database>(Database{std::move(spec), path, {}, nullptr}));
  }

  auto keys = derive_keys(passphrase, salts, options.kdf_iterations);
  if (!keys) return keys.error();
  for (std::size_t i = 0; i < keys->size(); ++i) store->databases_[i]->key = std::move((*keys)[i]);

  // Prove the key on every existing database, read-only, before opening anything for
  // writing or creating any new database: a wrong passphrase writes nothing anywhere.
  for (std::size_t i = 0; i < store->databases_.size(); ++i) {
    if (!exists[i]) continue;
    if (auto proven = Connection::prove_key(store->databases_[i]->path, store->databases_[i]->key); !proven)
      return proven.error();
  }
  for (std::size_t i = 0; i < store->databases_.size(); ++i) {
    auto& db = *store->databases_[i];
    auto first = Connection::open(db.path, db.key, {.create = !exists[i]});
    if (!first) return first.error();
    if (auto r = apply_migrations(*first, db.spec.migrations); !r) return r.error();
    db.pool = std::make_unique<ConnectionPool>(db.path, options.pool_size);
    if (auto r = db.pool->open(db.key); !r) return r.error();
  }
  return store;
}

Store::Database& Store::find(std::string_view name) const {
  for (const auto& db : databases_)
    if (db->spec.name == name) return *db;
  throw std::logic_error("no database named " + std::string(name));
}

ConnectionPool& Store::pool(std::string_view name) { return *find(name).pool; }
const DatabaseKey& Store::key(std::string_view name) const { return find(name).key; }

std::vector<DatabaseInfo> Store::info() const {
  std::vector<DatabaseInfo> out;
  for (const auto& db : databases_)
    out.push_back({db->spec.name, db->path, file_size_or_zero(db->path), file_size_or_zero(with_suffix(db->path, "-wal")),
                   db->pool->stats()});
  return out;
}

Result<BackupResult> Store::backup(const fs::path& backups_dir) {
  if (auto r = make_private_dir(backups_dir); !r) return r.error();
  BackupResult result;
  result.path = backups_dir / utc_stamp();
  for (int n = 1; fs::exists(result.path); ++n) result.path = backups_dir / (utc_stamp() + "-" + std::to_string(n));
  if (auto r = make_private_dir(result.path); !r) return r.error();

  for (const auto& db : databases_) {
    const fs::path target = result.path / db->spec.name;
    // Same key and salt as the source: the copy opens with the same passphrase.
    auto dest = Connection::open(target, db->key, {.create = true, .wal = false});
    if (!dest) return dest.error();
    auto source = db->pool->acquire();
    // One step copies everything under a single read transaction: a consistent
    // snapshot while writers go on (WAL).
    sqlite3_backup* b = sqlite3_backup_init(dest->handle(), "main", source->handle(), "main");
    if (b == nullptr) return dest->last_error("backup");
    const int step = sqlite3_backup_step(b, -1);
    const int finish = sqlite3_backup_finish(b);
    if (step != SQLITE_DONE || finish != SQLITE_OK) return dest->last_error("backup");
    *dest = Connection();  // close before syncing
    // Whatever the process umask, a backup is as private as the database itself.
    if (::chmod(target.c_str(), 0600) != 0) return Error{Errc::io, "cannot chmod " + target.string()};
    if (auto r = sync_file(target); !r) return r.error();
    result.bytes += file_size_or_zero(target);
  }
  if (auto r = sync_directory(result.path); !r) return r.error();
  if (auto r = sync_directory(backups_dir); !r) return r.error();
  return result;
}

Result<std::vector<std::string>> Store::rotate(std::string_view new_passphrase, const fs::path& backups_dir) {
  auto fault = [this](std::string_view step) -> std::optional<Error> {
    if (rotation_fault_ == step) return Error{Errc::internal, "injected fault after " + std::string(step)};
    return std::nullopt;
  };
  // 1. A backup under the old key, whatever happens next.
  if (auto b = backup(backups_dir); !b) return b.error();
  if (auto f = fault("backup")) return *f;

  // 2. New keys, each with a new salt.
  std::vector<Salt> salts;
  for (std::size_t i = 0; i < databases_.size(); ++i) {
    auto salt = new_salt();
    if (!salt) return salt.error();
    salts.push_back(*salt);
  }
  auto new_keys = derive_keys(new_passphrase, salts, options_.kdf_iterations);
  if (!new_keys) return new_keys.error();

  // 3. Quiesce: every lease comes back, no new one is handed out until reopen.
  for (auto& db : databases_) db->pool->close();
  auto reopen_old = [this]() {
    for (auto& db : databases_) (void)db->pool->reopen(db->key);
  };
  auto discard_copies = [this]() {
    for (auto& db : databases_) {
      const fs::path copy = with_suffix(db->path, kRotatingSuffix);
      (void)remove_if_exists(copy);
      (void)remove_sidecars(copy);
    }
  };

  // 4. An encrypted copy of each database under its new key, verified by reopening it.
  for (std::size_t i = 0; i < databases_.size(); ++i) {
    auto& db = *databases_[i];
    const fs::path copy = with_suffix(db.path, kRotatingSuffix);
    (void)remove_if_exists(copy);
    // ATTACH opens with the main database's flags: CREATE lets it make the copy.
    auto source = Connection::open(db.path, db.key, {.create = true});
    Result<void> step = source ? Result<void>() : Result<void>(source.error());
    if (step) {
      const crypto::SecretBytes literal = sqlcipher_key_literal((*new_keys)[i]);
      const SecretSql attach("ATTACH DATABASE '" + copy.string() + "' AS rotating KEY \"" +
                             std::string(literal.view()) + "\"");
      step = source->exec(attach.text());
    }
    if (step) {
      auto version = source->query_int("PRAGMA main.user_version");
      step = version ? source->exec("PRAGMA rotating.cipher_page_size = 4096; SELECT sqlcipher_export('rotating'); "
                                    "PRAGMA rotating.user_version = " + std::to_string(*version))
                     : Result<void>(version.error());
    }
    if (step && db.spec.on_rotate) step = db.spec.on_rotate(*source, db.key, (*new_keys)[i]);
    if (step) step = source->exec("DETACH DATABASE rotating");
    *source = Connection();  // the last connection: SQLite checkpoints the WAL into the file
    if (step) {
      auto verify = Connection::open(copy, (*new_keys)[i], {.create = false, .wal = false});
      step = verify ? Result<void>() : Result<void>(verify.error());
      if (step) {
        auto check = verify->query_text("PRAGMA quick_check");
        if (!check || *check != "ok") step = Error{Errc::corrupt, db.spec.name + ": the re-keyed copy failed its check"};
      }
    }
    if (step) step = sync_file(copy);
    if (!step) {
      discard_copies();
      reopen_old();
      return step.error();
    }
    if (auto f = fault("export:" + db.spec.name)) return *f;
  }

  // 5. The commit point: from here on, start-up recovery rolls forward.
  std::string names;
  for (auto& db : databases_) names += db->spec.name + "\n";
  if (auto r = write_file_atomically(options_.state_dir / kRotationMarker, names); !r) {
    discard_copies();
    reopen_old();
    return r.error();
  }
  if (auto f = fault("marker")) return *f;

  // 6. Move each copy into place, then drop the marker.
  std::vector<std::string> rotated;
  for (std::size_t i = 0; i < databases_.size(); ++i) {
    auto& db = *databases_[i];
    if (auto r = remove_sidecars(db.path); !r) return r.error();
    if (auto r = rename_durably(with_suffix(db.path, kRotatingSuffix), db.path); !r) return r.error();
    db.key = std::move((*new_keys)[i]);
    rotated.push_back(db.spec.name);
    if (auto f = fault("rename:" + db.spec.name)) return *f;
  }
  if (auto r = remove_if_exists(options_.state_dir / kRotationMarker); !r) return r.error();
  if (auto r = sync_directory(options_.state_dir); !r) return r.error();

  // 7. Back in service under the new keys.
  for (auto& db : databases_)
    if (auto r = db->pool->reopen(db->key); !r) return r.error();
  return rotated;
}

Result<std::string> recover_rotation(const fs::path& state_dir) {
  const fs::path marker = state_dir / kRotationMarker;
  const bool committed = fs::exists(marker);
  std::vector<fs::path> copies;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(state_dir, ec))
    if (entry.path().string().ends_with(kRotatingSuffix)) copies.push_back(entry.path());
  if (ec) return Error{Errc::io, "cannot list " + state_dir.string() + ": " + ec.message()};
  if (!committed && copies.empty()) return std::string();

  std::string done;
  for (const auto& copy : copies) {
    const std::string s = copy.string();
    const fs::path target = s.substr(0, s.size() - kRotatingSuffix.size());
    if (committed) {
      if (auto r = remove_sidecars(target); !r) return r.error();
      if (auto r = rename_durably(copy, target); !r) return r.error();
    } else {
      if (auto r = remove_if_exists(copy); !r) return r.error();
      if (auto r = remove_sidecars(copy); !r) return r.error();
    }
    done += (done.empty() ? "" : ", ") + target.filename().string();
  }
  if (committed) {
    if (auto r = remove_if_exists(marker); !r) return r.error();
  }
  if (auto r = sync_directory(state_dir); !r) return r.error();
  return committed ? "finished an interrupted key rotation (" + done + "): the databases are under the new passphrase"
                   : "rolled back an unfinished key rotation (" + done + "): the databases are under the old passphrase";
}

}  // namespace durationd::storage

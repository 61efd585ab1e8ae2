// The cache's rows in cache.db: the schema, the integrity MAC every row carries, the
// batched writes of the write-behind pipeline, reads on a memory-tier miss, and the
// re-sealing of every row when the database key is rotated.
//
// Integrity: each row carries HMAC-SHA256 under the subkey
// derive_subkey(key of cache.db, "durationd/v1/cache-integrity") over the uid, namespace,
// key, value and expiry (each variable field length-prefixed). It is checked on every
// read from disk; a row that fails (edited, or moved to another key or uid by someone
// with write access to the file) is reported to on_integrity_failure(), dropped, and
// treated as absent. The subkey follows key rotation: it is re-derived whenever the
// database's salt changes, and only while a pooled connection is held (Store::rotate
// changes keys only while every connection is back in the pool).
//
// The durable-put journal: a durable put is committed as a row appended to
// cache_journal, not as its row of cache_entries. Appended rows share their pages (a
// commit of 50 durable puts writes a few pages instead of ~100 scattered ones, each
// encrypted and authenticated by SQLCipher), so concurrent durable puts cost little more
// than the fsync they share, as with Redis's append-only file. The put then goes into the
// memory tier and the write-behind queue like any other; the batch that writes it to
// cache_entries also deletes its journal row, in the same transaction. Journal rows
// carry the same MAC as entries. On start, replay_journal() writes what is left of the
// journal (rows whose batch never committed) to cache_entries before the daemon serves.
//
// Threads: CacheStore::read() runs on worker threads; apply(), append_journal(),
// replay_journal() and load() run on the cache's GroupCommitter thread, inside its
// transaction. None touches the memory tier.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/digest.hpp"
#include "crypto/secret_bytes.hpp"
#include "daemon/security_events.hpp"
#include "ipc/msgpack_reader.hpp"
#include "storage/connection.hpp"
#include "storage/migrations.hpp"
#include "storage/store.hpp"

namespace durationd::app::cache {

// cache.db's schema, as numbered migrations.
std::span<const storage::Migration> cache_migrations();

// An entry of `uid` in `ns` failed its integrity check and was dropped: a security event
// (kIntegrityFailure) when `log` is given (with the peer's pid when a peer asked for the
// entry), else a warning in the log. Names the uid and namespace, never the key or
// value. Thread-safe.
void on_integrity_failure(uid_t uid, std::string_view ns, SecurityLog* log = nullptr,
                          std::optional<pid_t> pid = std::nullopt);

// Rows are charged this much beyond their bytes against the disk budget.
inline constexpr std::int64_t kRowOverheadBytes = 64;

// The row MAC (see the file comment). `subkey` is the integrity subkey.
storage::Result<crypto::Sha256Digest> row_mac(std::span<const std::byte> subkey, uid_t uid,
                                              std::string_view ns, std::string_view key,
                                              ipc::Bytes value, std::int64_t expires_at_ms);

// ---- The write-behind batch ------------------------------------------------------

enum class OpKind : std::uint8_t {
  kPut,           // insert or replace the row
  kDelete,        // delete the row; result: 1 when a live row was deleted
  kExpire,        // delete the row if it has expired (counted in `expired`)
  kDropTampered,  // delete the row if its MAC is still `value` (a failed check)
  kTouch,         // mark the row used now (disk LRU)
  kClear,         // delete every row of (uid, ns); result: live rows deleted
};

struct BatchOp {
  OpKind kind;
  uid_t uid;
  std::uint32_t ns_at, ns_size;
  std::uint32_t key_at, key_size;
  std::uint32_t value_at, value_size;
  std::int64_t expires_at_ms = 0;
  std::uint64_t ticket = 0;  // non-zero: the caller waits for this op's result
};

// Everything one flush writes, in order. Self-contained: bytes are copies.
struct Batch {
  std::string bytes;
  std::vector<BatchOp> ops;
  std::int64_t now_ms = 0;
  bool sweep = false;                  // also delete every expired row
  std::int64_t disk_bytes_before = 0;  // what the disk budget counts, before this batch
  // Journal rows up to this id are deleted with the batch: their puts are in it, or in an
  // earlier batch, or were replaced by a later write that is.
  std::int64_t journal_upto = 0;

  void add(OpKind kind, uid_t uid, std::string_view ns, std::string_view key, ipc::Bytes value,
           std::int64_t expires_at_ms, std::uint64_t ticket = 0);
  std::string_view ns(const BatchOp& op) const { return {bytes.data() + op.ns_at, op.ns_size}; }
  std::string_view key(const BatchOp& op) const { return {bytes.data() + op.key_at, op.key_size}; }
  ipc::Bytes value(const BatchOp& op) const {
    return ipc::as_bytes({bytes.data() + op.value_at, op.value_size});
  }
};

struct UidDelta {
  uid_t uid = 0;
  std::int64_t entries = 0;
  std::int64_t bytes = 0;
  std::uint64_t expired = 0;
};

struct RowKey {
  uid_t uid = 0;
  std::string ns;
  std::string key;
};

// What applying a batch did; meaningful only if its transaction committed.
struct BatchOutcome {
  std::vector<std::pair<std::uint64_t, std::int64_t>> results;  // ticket -> result
  std::vector<UidDelta> deltas;
  std::vector<RowKey> evicted;                          // dropped for the disk budget
  std::vector<std::pair<uid_t, std::string>> tampered;  // (uid, ns) of rows that failed their MAC
  std::int64_t disk_bytes_delta = 0;                    // change of what the disk budget counts

  std::int64_t result(std::uint64_t ticket) const;
  UidDelta& delta(uid_t uid);
};

struct LoadedState {
  std::vector<UidDelta> per_uid;  // entries and bytes of each uid
  std::int64_t disk_bytes = 0;
};

struct ReplayOutcome {
  std::size_t replayed = 0;  // durable puts moved from the journal into cache_entries
  std::vector<std::pair<uid_t, std::string>> tampered;  // (uid, ns) of journal rows that failed their MAC
};

struct ReadResult {
  enum Status { kMissing, kFound, kExpired, kTampered, kFailed } status = kMissing;
  std::string value;  // kFound: the msgpack bytes
  std::int64_t expires_at_ms = 0;
  std::string mac;    // kTampered: the MAC found, to drop exactly that row
  std::string error;  // kFailed
};

class CacheStore {
 public:
  CacheStore(storage::Store& store, std::int64_t disk_budget_bytes);

  // Writes the journal left by the last run (see the file comment) to cache_entries and
  // empties it. Committer thread, before anything else.
  storage::Result<ReplayOutcome> replay_journal(storage::Connection& c, std::int64_t now_ms);
  // Per-uid totals and the bytes the disk budget counts. Committer thread.
  storage::Result<LoadedState> load(storage::Connection& c);
  // Appends the kPut ops of `records` to the journal; returns each one's row id.
  // Committer thread.
  storage::Result<std::vector<std::int64_t>> append_journal(storage::Connection& c,
                                                            const Batch& records);
  // Applies `batch` inside the caller's transaction, then keeps the table within the
  // disk budget (expired rows first, then least recently used). Committer thread.
  storage::Result<void> apply(storage::Connection& c, const Batch& batch, BatchOutcome& out);
  // Reads one row and checks its MAC and expiry. Worker thread; takes a pooled
  // connection itself.
  ReadResult read(uid_t uid, std::string_view ns, std::string_view key, std::int64_t now_ms);

  std::int64_t disk_budget() const { return disk_budget_; }
  // Forgets the integrity subkey (after a key rotation): the next use derives it again.
  void forget_integrity_key();

 private:
  // The integrity subkey of cache.db's current key. Call only while holding a pooled
  // connection of cache.db (or from a GroupCommitter job, which holds one).
  storage::Result<std::shared_ptr<const crypto::SecretBytes>> integrity_key();

  storage::Store& store_;
  const std::int64_t disk_budget_;
  std::mutex key_mutex_;
  storage::Salt key_salt_{};                        // guarded by key_mutex_
  std::shared_ptr<const crypto::SecretBytes> key_;  // guarded by key_mutex_
};

// DatabaseSpec::on_rotate for cache.db: every row of the re-keyed copy (schema
// `rotating`) is checked under the old subkey and re-sealed under the new one; rows that
// fail their check are dropped (and reported), as a read would.
storage::Result<void> reseal_rows_for_rotation(storage::Connection& c,
                                               const storage::DatabaseKey& old_key,
                                               const storage::DatabaseKey& new_key);

}  // namespace durationd::app::cache

#include "daemon/cache_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <optional>

#include "crypto/constant_time.hpp"
#include "daemon/databases.hpp"
#include "storage/sqlite.hpp"

namespace durationd::app::cache {
namespace {

using storage::Connection;
using storage::Errc;
using storage::Error;
using storage::Result;
using storage::Statement;

constexpr std::string_view kIntegrityPurpose = "durationd/v1/cache-integrity";
constexpr std::string_view kMacDomain = "durationd/v1/cache-row";

constexpr storage::Migration kMigrations[] = {
    {1,
     // expires_at, accessed_at: wall-clock ms since the Unix epoch (expires_at 0: never),
     // so entries keep their remaining TTL across restarts. size: ns + key + value bytes.
     "CREATE TABLE cache_entries("
     "  id INTEGER PRIMARY KEY,"
     "  uid INTEGER NOT NULL,"
     "  ns BLOB NOT NULL,"
     "  key BLOB NOT NULL,"
     "  value BLOB NOT NULL,"
     "  expires_at INTEGER NOT NULL,"
     "  accessed_at INTEGER NOT NULL,"
     "  size INTEGER NOT NULL,"
     "  mac BLOB NOT NULL,"
     "  UNIQUE(uid, ns, key));"
     "CREATE INDEX cache_entries_expiry ON cache_entries(expires_at) WHERE expires_at != 0;"
     "CREATE INDEX cache_entries_lru ON cache_entries(accessed_at);"},
    {2,
     // Durable puts, committed here first (see "The durable-put journal" in cache_store.hpp).
     // AUTOINCREMENT: ids never come back, so "every row up to id N" never takes in a row
     // appended after the write-behind batch that deletes it was taken.
     "CREATE TABLE cache_journal("
     "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
     "  uid INTEGER NOT NULL,"
     "  ns BLOB NOT NULL,"
     "  key BLOB NOT NULL,"
     "  value BLOB NOT NULL,"
     "  expires_at INTEGER NOT NULL,"
     "  mac BLOB NOT NULL);"},
};

std::span<const std::byte> bytes_of(std::string_view s) {
  return ipc::as_bytes(s);
}

template <std::size_t N>
std::array<std::byte, N> big_endian(std::uint64_t v) {
  std::array<std::byte, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = static_cast<std::byte>(v >> (8 * (N - 1 - i)));
  return out;
}

Error crypto_failure(const crypto::Error& e) {
  return Error{Errc::crypto, "cache integrity MAC: " + e.message};
}

bool expired_at(std::int64_t expires_at, std::int64_t now) {
  return expires_at != 0 && expires_at <= now;
}

std::int64_t row_size(std::size_t ns, std::size_t key, std::size_t value) {
  return static_cast<std::int64_t>(ns + key + value);
}

// Prepared once per batch: the statements a batch may need.
struct Statements {
  Statement find;  // id, size, expires_at, mac, value of (uid, ns, key)
  Statement insert;
  Statement update;  // by id: keeps the row's place and its (uid, ns, key) index entry
  Statement remove;  // by id
  Statement touch;
  Statement clear_count;
  Statement clear;

  static Result<Statements> prepare(Connection& c) {
    Statements s;
    auto prep = [&](Statement& into, std::string_view sql) -> Result<void> {
      auto st = c.prepare(sql);
      if (!st) return st.error();
      into = std::move(*st);
      return {};
    };
    if (auto r = prep(s.find,
                      "SELECT id, size, expires_at, mac, value FROM cache_entries WHERE uid = ?1 "
                      "AND ns = ?2 AND key = ?3");
        !r)
      return r.error();
    if (auto r = prep(
            s.insert,
            "INSERT INTO cache_entries(uid, ns, key, value, expires_at, accessed_at, size, mac) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
        !r)
      return r.error();
    if (auto r = prep(s.update,
                      "UPDATE cache_entries SET value = ?4, expires_at = ?5, accessed_at = ?6, "
                      "size = ?7, mac = ?8 "
                      "WHERE id = ?1");
        !r)
      return r.error();
    if (auto r = prep(s.remove, "DELETE FROM cache_entries WHERE id = ?1"); !r) return r.error();
    if (auto r = prep(
            s.touch,
            "UPDATE cache_entries SET accessed_at = ?4 WHERE uid = ?1 AND ns = ?2 AND key = ?3");
        !r)
      return r.error();
    if (auto r = prep(s.clear_count,
                      "SELECT count(*), total(size), total(expires_at != 0 AND expires_at <= ?3) "
                      "FROM cache_entries WHERE uid = ?1 AND ns = ?2");
        !r)
      return r.error();
    if (auto r = prep(s.clear, "DELETE FROM cache_entries WHERE uid = ?1 AND ns = ?2"); !r)
      return r.error();
    return s;
  }
};

struct FoundRow {
  std::int64_t id = 0;
  std::int64_t size = 0;
  std::int64_t expires_at = 0;
  std::string mac;
};

}  // namespace

std::span<const storage::Migration> cache_migrations() {
  return kMigrations;
}

void on_integrity_failure(uid_t uid, std::string_view ns, SecurityLog* log,
                          std::optional<pid_t> pid) {
  // ns is from [A-Za-z0-9._:-] (checked on the way in, and covered by the MAC).
  std::string message = "a cache entry of uid " + std::to_string(uid) + " in namespace \"" +
                        std::string(ns) +
                        "\" failed its integrity check (edited or moved on disk) and was dropped";
  if (log != nullptr) {
    log->record(SecurityEventKind::kIntegrityFailure, uid, pid, std::move(message));
  } else {
    spdlog::warn("security: {}", message);
  }
}

void CacheStore::forget_integrity_key() {
  std::lock_guard lock(key_mutex_);
  key_.reset();
}

Result<crypto::Sha256Digest> row_mac(std::span<const std::byte> subkey, uid_t uid,
                                     std::string_view ns, std::string_view key, ipc::Bytes value,
                                     std::int64_t expires_at_ms) {
  auto mac = crypto::HmacSha256::create(subkey);
  if (!mac) return crypto_failure(mac.error());
  const auto uid_bytes = big_endian<4>(uid);
  const auto ns_size = big_endian<4>(ns.size());
  const auto key_size = big_endian<4>(key.size());
  const auto value_size = big_endian<4>(value.size());
  const auto expiry = big_endian<8>(static_cast<std::uint64_t>(expires_at_ms));
  for (std::span<const std::byte> part :
       {bytes_of(kMacDomain), std::span<const std::byte>(uid_bytes),
        std::span<const std::byte>(ns_size), bytes_of(ns), std::span<const std::byte>(key_size),
        bytes_of(key), std::span<const std::byte>(value_size), value,
        std::span<const std::byte>(expiry)}) {
    if (auto r = mac->update(part); !r) return crypto_failure(r.error());
  }
  auto tag = mac->final();
  if (!tag) return crypto_failure(tag.error());
  return *tag;
}

// ---- Batch / outcome -----------------------------------------------------------------

void Batch::add(OpKind kind, uid_t uid, std::string_view ns, std::string_view key, ipc::Bytes value,
                std::int64_t expires_at_ms, std::uint64_t ticket) {
  BatchOp op{kind, uid, 0, 0, 0, 0, 0, 0, expires_at_ms, ticket};
  op.ns_at = static_cast<std::uint32_t>(bytes.size());
  op.ns_size = static_cast<std::uint32_t>(ns.size());
  bytes.append(ns);
  op.key_at = static_cast<std::uint32_t>(bytes.size());
  op.key_size = static_cast<std::uint32_t>(key.size());
  bytes.append(key);
  op.value_at = static_cast<std::uint32_t>(bytes.size());
  op.value_size = static_cast<std::uint32_t>(value.size());
  bytes.append(ipc::as_chars(value));
  ops.push_back(op);
}

std::int64_t BatchOutcome::result(std::uint64_t ticket) const {
  for (const auto& [t, r] : results)
    if (t == ticket) return r;
  return 0;
}

UidDelta& BatchOutcome::delta(uid_t uid) {
  for (auto& d : deltas)
    if (d.uid == uid) return d;
  deltas.push_back({uid});
  return deltas.back();
}

// ---- CacheStore ----------------------------------------------------------------------

CacheStore::CacheStore(storage::Store& store, std::int64_t disk_budget_bytes)
    : store_(store), disk_budget_(disk_budget_bytes) {}

Result<std::shared_ptr<const crypto::SecretBytes>> CacheStore::integrity_key() {
  std::lock_guard lock(key_mutex_);
  const storage::DatabaseKey& db_key = store_.key(kCacheDatabase);
  if (!key_ || db_key.salt != key_salt_) {
    auto subkey = storage::derive_subkey(db_key, kIntegrityPurpose);
    if (!subkey) return subkey.error();
    key_ = std::make_shared<const crypto::SecretBytes>(std::move(*subkey));
    key_salt_ = db_key.salt;
  }
  return key_;
}

Result<LoadedState> CacheStore::load(Connection& c) {
  auto st = c.prepare("SELECT uid, count(*), total(size) FROM cache_entries GROUP BY uid");
  if (!st) return st.error();
  LoadedState state;
  for (;;) {
    auto row = st->step();
    if (!row) return row.error();
    if (!*row) break;
    UidDelta d;
    d.uid = static_cast<uid_t>(st->column_int64(0));
    d.entries = st->column_int64(1);
    d.bytes = static_cast<std::int64_t>(st->column_double(2));
    state.disk_bytes += d.bytes + d.entries * kRowOverheadBytes;
    state.per_uid.push_back(d);
  }
  return state;
}

Result<ReplayOutcome> CacheStore::replay_journal(Connection& c, std::int64_t now_ms) {
  auto key = integrity_key();
  if (!key) return key.error();
  // The journal's rows in the order they were acknowledged, checked as a read would be.
  // Not charged against the disk budget here: the next batch enforces it.
  Batch replay;
  replay.now_ms = now_ms;
  ReplayOutcome outcome;
  auto rows = c.prepare("SELECT id, uid, ns, key, value, expires_at, mac FROM cache_journal ORDER BY id");
  if (!rows) return rows.error();
  for (;;) {
    auto row = rows->step();
    if (!row) return row.error();
    if (!*row) break;
    replay.journal_upto = rows->column_int64(0);
    const auto uid = static_cast<uid_t>(rows->column_int64(1));
    const std::string_view ns = ipc::as_chars(rows->column_blob(2));
    const std::string_view k = ipc::as_chars(rows->column_blob(3));
    const ipc::Bytes value = rows->column_blob(4);
    const std::int64_t expires_at = rows->column_int64(5);
    auto mac = row_mac((*key)->span(), uid, ns, k, value, expires_at);
    if (!mac) return mac.error();
    if (!crypto::equal_constant_time(*mac, rows->column_blob(6))) {
      outcome.tampered.emplace_back(uid, std::string(ns));
      continue;
    }
    replay.add(OpKind::kPut, uid, ns, k, value, expires_at);
  }
  rows->reset();
  if (replay.journal_upto == 0) return outcome;
  BatchOutcome applied;
  if (auto r = apply(c, replay, applied); !r) return r.error();
  outcome.replayed = replay.ops.size();
  return outcome;
}

Result<std::vector<std::int64_t>> CacheStore::append_journal(Connection& c, const Batch& records) {
  auto key = integrity_key();
  if (!key) return key.error();
  auto insert = c.prepare(
      "INSERT INTO cache_journal(uid, ns, key, value, expires_at, mac) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!insert) return insert.error();
  std::vector<std::int64_t> ids;
  ids.reserve(records.ops.size());
  for (const BatchOp& op : records.ops) {
    const std::string_view ns = records.ns(op);
    const std::string_view k = records.key(op);
    const ipc::Bytes value = records.value(op);
    auto mac = row_mac((*key)->span(), op.uid, ns, k, value, op.expires_at_ms);
    if (!mac) return mac.error();
    insert->reset();
    insert->bind(1, static_cast<std::int64_t>(op.uid))
        .bind_blob(2, bytes_of(ns))
        .bind_blob(3, bytes_of(k))
        .bind_blob(4, value)
        .bind(5, op.expires_at_ms)
        .bind_blob(6, *mac);
    if (auto r = insert->run(); !r) return r.error();
    ids.push_back(static_cast<std::int64_t>(sqlite3_last_insert_rowid(c.handle())));
  }
  return ids;
}

Result<void> CacheStore::apply(Connection& c, const Batch& batch, BatchOutcome& out) {
  auto prepared = Statements::prepare(c);
  if (!prepared) return prepared.error();
  Statements& s = *prepared;
  auto key = integrity_key();
  if (!key) return key.error();
  const std::span<const std::byte> subkey = (*key)->span();
  std::int64_t disk_bytes = batch.disk_bytes_before;

  auto find = [&](uid_t uid, std::string_view ns, std::string_view k, bool with_value,
                  std::string* value) -> Result<std::optional<FoundRow>> {
    s.find.reset();
    s.find.bind(1, static_cast<std::int64_t>(uid))
        .bind_blob(2, bytes_of(ns))
        .bind_blob(3, bytes_of(k));
    auto row = s.find.step();
    if (!row) return row.error();
    if (!*row) return std::optional<FoundRow>();
    FoundRow found{s.find.column_int64(0), s.find.column_int64(1), s.find.column_int64(2),
                   std::string(ipc::as_chars(s.find.column_blob(3)))};
    if (with_value && value) *value = std::string(ipc::as_chars(s.find.column_blob(4)));
    s.find.reset();
    return std::optional<FoundRow>(std::move(found));
  };
  auto remove = [&](const FoundRow& row, uid_t uid) -> Result<void> {
    s.remove.reset();
    s.remove.bind(1, row.id);
    if (auto r = s.remove.run(); !r) return r;
    UidDelta& d = out.delta(uid);
    d.entries -= 1;
    d.bytes -= row.size;
    disk_bytes -= row.size + kRowOverheadBytes;
    return {};
  };

  for (const BatchOp& op : batch.ops) {
    const std::string_view ns = batch.ns(op);
    const std::string_view k = batch.key(op);
    switch (op.kind) {
      case OpKind::kPut: {
        auto old = find(op.uid, ns, k, false, nullptr);
        if (!old) return old.error();
        const ipc::Bytes value = batch.value(op);
        const std::int64_t size = row_size(ns.size(), k.size(), value.size());
        auto mac = row_mac(subkey, op.uid, ns, k, value, op.expires_at_ms);
        if (!mac) return mac.error();
        Statement& write = *old ? s.update : s.insert;
        write.reset();
        if (*old) {
          write.bind(1, (*old)->id);
        } else {
          write.bind(1, static_cast<std::int64_t>(op.uid))
              .bind_blob(2, bytes_of(ns))
              .bind_blob(3, bytes_of(k));
        }
        write.bind_blob(4, value)
            .bind(5, op.expires_at_ms)
            .bind(6, batch.now_ms)
            .bind(7, size)
            .bind_blob(8, *mac);
        if (auto r = write.run(); !r) return r;
        UidDelta& d = out.delta(op.uid);
        if (*old) {
          d.bytes -= (*old)->size;
          disk_bytes -= (*old)->size + kRowOverheadBytes;
        } else {
          d.entries += 1;
        }
        d.bytes += size;
        disk_bytes += size + kRowOverheadBytes;
        break;
      }
      case OpKind::kDelete: {
        std::string value;
        auto row = find(op.uid, ns, k, true, &value);
        if (!row) return row.error();
        std::int64_t deleted = 0;
        if (*row) {
          auto mac = row_mac(subkey, op.uid, ns, k, ipc::as_bytes(value), (*row)->expires_at);
          if (!mac) return mac.error();
          if (!crypto::equal_constant_time(*mac, bytes_of((*row)->mac))) {
            out.tampered.emplace_back(op.uid, std::string(ns));
          } else if (expired_at((*row)->expires_at, batch.now_ms)) {
            out.delta(op.uid).expired += 1;
          } else {
            deleted = 1;
          }
          if (auto r = remove(**row, op.uid); !r) return r;
        }
        if (op.ticket != 0) out.results.emplace_back(op.ticket, deleted);
        break;
      }
      case OpKind::kExpire: {
        auto row = find(op.uid, ns, k, false, nullptr);
        if (!row) return row.error();
        if (*row && expired_at((*row)->expires_at, batch.now_ms)) {
          if (auto r = remove(**row, op.uid); !r) return r;
          out.delta(op.uid).expired += 1;
        }
        break;
      }
      case OpKind::kDropTampered: {
        auto row = find(op.uid, ns, k, false, nullptr);
        if (!row) return row.error();
        if (*row && (*row)->mac == ipc::as_chars(batch.value(op))) {
          if (auto r = remove(**row, op.uid); !r) return r;
        }
        break;
      }
      case OpKind::kTouch: {
        s.touch.reset();
        s.touch.bind(1, static_cast<std::int64_t>(op.uid))
            .bind_blob(2, bytes_of(ns))
            .bind_blob(3, bytes_of(k))
            .bind(4, batch.now_ms);
        if (auto r = s.touch.run(); !r) return r;
        break;
      }
      case OpKind::kClear: {
        s.clear_count.reset();
        s.clear_count.bind(1, static_cast<std::int64_t>(op.uid))
            .bind_blob(2, bytes_of(ns))
            .bind(3, batch.now_ms);
        auto row = s.clear_count.step();
        if (!row) return row.error();
        const std::int64_t rows = s.clear_count.column_int64(0);
        const auto bytes = static_cast<std::int64_t>(s.clear_count.column_double(1));
        const auto expired = static_cast<std::int64_t>(s.clear_count.column_double(2));
        s.clear_count.reset();
        s.clear.reset();
        s.clear.bind(1, static_cast<std::int64_t>(op.uid)).bind_blob(2, bytes_of(ns));
        if (auto r = s.clear.run(); !r) return r;
        UidDelta& d = out.delta(op.uid);
        d.entries -= rows;
        d.bytes -= bytes;
        d.expired += static_cast<std::uint64_t>(expired);
        disk_bytes -= bytes + rows * kRowOverheadBytes;
        if (op.ticket != 0) out.results.emplace_back(op.ticket, rows - expired);
        break;
      }
    }
  }

  // Expired rows go first: on request (the sweep, cache.stats) and whenever the disk is
  // over its budget.
  if (batch.sweep || disk_bytes > disk_budget_) {
    auto per_uid = c.prepare(
        "SELECT uid, count(*), total(size) FROM cache_entries WHERE expires_at != 0 AND expires_at "
        "<= ?1 GROUP BY uid");
    if (!per_uid) return per_uid.error();
    per_uid->bind(1, batch.now_ms);
    for (;;) {
      auto row = per_uid->step();
      if (!row) return row.error();
      if (!*row) break;
      UidDelta& d = out.delta(static_cast<uid_t>(per_uid->column_int64(0)));
      const std::int64_t rows = per_uid->column_int64(1);
      const auto bytes = static_cast<std::int64_t>(per_uid->column_double(2));
      d.entries -= rows;
      d.bytes -= bytes;
      d.expired += static_cast<std::uint64_t>(rows);
      disk_bytes -= bytes + rows * kRowOverheadBytes;
    }
    auto sweep = c.prepare("DELETE FROM cache_entries WHERE expires_at != 0 AND expires_at <= ?1");
    if (!sweep) return sweep.error();
    sweep->bind(1, batch.now_ms);
    if (auto r = sweep->run(); !r) return r;
  }

  // Then the least recently used, until within the budget.
  if (disk_bytes > disk_budget_) {
    auto oldest = c.prepare(
        "SELECT id, uid, ns, key, size FROM cache_entries ORDER BY accessed_at, id LIMIT 64");
    if (!oldest) return oldest.error();
    while (disk_bytes > disk_budget_) {
      std::vector<std::pair<FoundRow, RowKey>> victims;
      oldest->reset();
      for (;;) {
        auto row = oldest->step();
        if (!row) return row.error();
        if (!*row) break;
        FoundRow f;
        f.id = oldest->column_int64(0);
        f.size = oldest->column_int64(4);
        victims.emplace_back(std::move(f),
                             RowKey{static_cast<uid_t>(oldest->column_int64(1)),
                                    std::string(ipc::as_chars(oldest->column_blob(2))),
                                    std::string(ipc::as_chars(oldest->column_blob(3)))});
      }
      oldest->reset();
      if (victims.empty()) break;
      for (auto& [row, where] : victims) {
        if (disk_bytes <= disk_budget_) break;
        if (auto r = remove(row, where.uid); !r) return r;
        out.evicted.push_back(std::move(where));
      }
    }
  }
  if (batch.journal_upto > 0) {
    auto drop = c.prepare("DELETE FROM cache_journal WHERE id <= ?1");
    if (!drop) return drop.error();
    drop->bind(1, batch.journal_upto);
    if (auto r = drop->run(); !r) return r;
  }
  out.disk_bytes_delta = disk_bytes - batch.disk_bytes_before;
  return {};
}

ReadResult CacheStore::read(uid_t uid, std::string_view ns, std::string_view key,
                            std::int64_t now_ms) {
  ReadResult result;
  auto lease = store_.pool(kCacheDatabase).acquire();
  auto fail = [&](const Error& e) {
    result.status = ReadResult::kFailed;
    result.error = e.message;
    return std::move(result);
  };
  auto st = lease->prepare(
      "SELECT value, expires_at, mac FROM cache_entries WHERE uid = ?1 AND ns = ?2 AND key = ?3");
  if (!st) return fail(st.error());
  st->bind(1, static_cast<std::int64_t>(uid))
      .bind_blob(2, bytes_of(ns))
      .bind_blob(3, bytes_of(key));
  auto row = st->step();
  if (!row) return fail(row.error());
  if (!*row) return result;
  result.expires_at_ms = st->column_int64(1);
  const ipc::Bytes value = st->column_blob(0);
  auto subkey = integrity_key();
  if (!subkey) return fail(subkey.error());
  auto mac = row_mac((*subkey)->span(), uid, ns, key, value, result.expires_at_ms);
  if (!mac) return fail(mac.error());
  if (!crypto::equal_constant_time(*mac, st->column_blob(2))) {
    result.status = ReadResult::kTampered;
    result.mac = std::string(ipc::as_chars(st->column_blob(2)));
    return result;
  }
  if (expired_at(result.expires_at_ms, now_ms)) {
    result.status = ReadResult::kExpired;
    return result;
  }
  result.status = ReadResult::kFound;
  result.value = std::string(ipc::as_chars(value));
  return result;
}

// ---- Key rotation --------------------------------------------------------------------

Result<void> reseal_rows_for_rotation(Connection& c, const storage::DatabaseKey& old_key,
                                      const storage::DatabaseKey& new_key) {
  auto old_subkey = storage::derive_subkey(old_key, kIntegrityPurpose);
  if (!old_subkey) return old_subkey.error();
  auto new_subkey = storage::derive_subkey(new_key, kIntegrityPurpose);
  if (!new_subkey) return new_subkey.error();

  if (auto r = c.exec("BEGIN IMMEDIATE"); !r) return r;
  // Entries and journal rows (durable puts not yet in cache_entries) carry the same MAC.
  auto reseal_table = [&](const std::string& table) -> Result<void> {
    auto select = c.prepare("SELECT id, uid, ns, key, value, expires_at, mac FROM rotating." +
                            table + " WHERE id > ?1 ORDER BY id LIMIT 512");
    if (!select) return select.error();
    auto update = c.prepare("UPDATE rotating." + table + " SET mac = ?2 WHERE id = ?1");
    if (!update) return update.error();
    auto remove = c.prepare("DELETE FROM rotating." + table + " WHERE id = ?1");
    if (!remove) return remove.error();
    std::int64_t after = 0;
    std::uint64_t resealed = 0, dropped = 0;
    for (;;) {
      // A chunk at a time: the new MACs are applied once the chunk's reads are done.
      std::vector<std::pair<std::int64_t, std::optional<crypto::Sha256Digest>>> chunk;
      select->reset();
      select->bind(1, after);
      for (;;) {
        auto row = select->step();
        if (!row) return row.error();
        if (!*row) break;
        const std::int64_t id = select->column_int64(0);
        const auto uid = static_cast<uid_t>(select->column_int64(1));
        const std::string_view ns = ipc::as_chars(select->column_blob(2));
        const std::string_view key = ipc::as_chars(select->column_blob(3));
        const ipc::Bytes value = select->column_blob(4);
        const std::int64_t expires_at = select->column_int64(5);
        auto old_mac = row_mac(old_subkey->span(), uid, ns, key, value, expires_at);
        if (!old_mac) return old_mac.error();
        after = id;
        if (!crypto::equal_constant_time(*old_mac, select->column_blob(6))) {
          on_integrity_failure(uid, ns);
          chunk.emplace_back(id, std::nullopt);
          continue;
        }
        auto new_mac = row_mac(new_subkey->span(), uid, ns, key, value, expires_at);
        if (!new_mac) return new_mac.error();
        chunk.emplace_back(id, *new_mac);
      }
      select->reset();
      if (chunk.empty()) break;
      for (const auto& [id, mac] : chunk) {
        Statement& st = mac ? *update : *remove;
        st.reset();
        st.bind(1, id);
        if (mac) st.bind_blob(2, *mac);
        if (auto r = st.run(); !r) return r;
        ++(mac ? resealed : dropped);
      }
    }
    spdlog::info(
        "cache.db: re-sealed {} rows of {} under the new key{}", resealed, table,
        dropped ? " (dropped " + std::to_string(dropped) + " that failed their integrity check)"
                : "");
    return {};
  };
  auto body = [&]() -> Result<void> {
    if (auto r = reseal_table("cache_entries"); !r) return r;
    return reseal_table("cache_journal");
  };
  if (auto r = body(); !r) {
    (void)c.exec("ROLLBACK");
    return r;
  }
  return c.exec("COMMIT");
}

}  // namespace durationd::app::cache

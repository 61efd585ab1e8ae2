// cache::CacheStore on a real encrypted cache.db: batches, reads with their integrity
// check, expiry, the disk budget, and re-sealing across a key rotation.
#include "daemon/cache_store.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>

#include "daemon/databases.hpp"
#include "tests/support/catch_result.hpp"

using namespace durationd;
using namespace durationd::app;
using namespace durationd::app::cache;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kPass = "cache store test passphrase";
constexpr std::string_view kNewPass = "cache store test passphrase, rotated";

struct StateDir {
  StateDir() {
    std::string pattern = (fs::temp_directory_path() / "durationd-cache-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~StateDir() { fs::remove_all(path); }
  fs::path path;
};

std::unique_ptr<storage::Store> open_store(const fs::path& dir, std::string_view pass = kPass) {
  auto store = storage::Store::open({dir, 256'000, 2}, pass, database_specs());
  if (!store) FAIL(store.error().message);
  return std::move(*store);
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Applies a batch in one transaction, as the GroupCommitter does.
BatchOutcome apply(storage::Store& store, CacheStore& cache, Batch& batch,
                   std::int64_t* disk_bytes = nullptr) {
  BatchOutcome out;
  if (batch.now_ms == 0) batch.now_ms = now_ms();
  if (disk_bytes) batch.disk_bytes_before = *disk_bytes;
  auto c = store.pool(kCacheDatabase).acquire();
  auto tx = storage::Transaction::begin(*c);
  REQUIRE(tx);
  REQUIRE(cache.apply(*c, batch, out));
  REQUIRE(tx->commit());
  if (disk_bytes) *disk_bytes += out.disk_bytes_delta;
  return out;
}

void put(Batch& b, uid_t uid, std::string_view ns, std::string_view key, std::string_view value,
         std::int64_t expires = 0) {
  b.add(OpKind::kPut, uid, ns, key, ipc::as_bytes(value), expires);
}

void exec(storage::Store& store, const std::string& sql) {
  auto c = store.pool(kCacheDatabase).acquire();
  REQUIRE(c->exec(sql));
}

}  // namespace

TEST_CASE("cache store: a put reads back byte for byte, per uid and namespace") {
  StateDir dir;
  auto store = open_store(dir.path);
  CacheStore cache(*store, 1 << 30);
  const std::string value("\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9);  // uint64 max
  Batch b;
  put(b, 1000, "", "k", value);
  put(b, 1000, "ns", "k", "\x02");
  put(b, 2000, "", "k", "\x03");
  const auto out = apply(*store, cache, b);
  REQUIRE(out.deltas.size() == 2);

  const auto now = now_ms();
  auto r = cache.read(1000, "", "k", now);
  REQUIRE(r.status == ReadResult::kFound);
  CHECK(r.value == value);
  CHECK(r.expires_at_ms == 0);
  CHECK(cache.read(1000, "ns", "k", now).value == "\x02");
  CHECK(cache.read(2000, "", "k", now).value == "\x03");
  CHECK(cache.read(3000, "", "k", now).status == ReadResult::kMissing);

  // The totals a restart starts from.
  auto c = store->pool(kCacheDatabase).acquire();
  auto loaded = cache.load(*c);
  REQUIRE(loaded);
  REQUIRE(loaded->per_uid.size() == 2);
  std::int64_t entries = 0;
  for (const auto& d : loaded->per_uid) entries += d.entries;
  CHECK(entries == 3);
}

TEST_CASE("cache store: deletes, clears and expiry report what they removed") {
  StateDir dir;
  auto store = open_store(dir.path);
  CacheStore cache(*store, 1 << 30);
  const auto now = now_ms();
  Batch b;
  put(b, 1, "", "live", "\x01");
  put(b, 1, "", "old", "\x01", now - 10);  // already expired
  put(b, 1, "n", "a", "\x01");
  put(b, 1, "n", "b", "\x01");
  put(b, 1, "n", "gone", "\x01", now - 10);
  put(b, 2, "n", "a", "\x01");
  apply(*store, cache, b);

  CHECK(cache.read(1, "", "old", now).status == ReadResult::kExpired);

  Batch d;
  d.add(OpKind::kDelete, 1, "", "live", {}, 0, 11);
  d.add(OpKind::kDelete, 1, "", "old", {}, 0, 12);
  d.add(OpKind::kDelete, 1, "", "never", {}, 0, 13);
  d.add(OpKind::kClear, 1, "n", {}, {}, 0, 14);
  auto out = apply(*store, cache, d);
  CHECK(out.result(11) == 1);
  CHECK(out.result(12) == 0);  // expired: not a live entry
  CHECK(out.result(13) == 0);
  CHECK(out.result(14) == 2);  // "gone" had expired
  const UidDelta& one = out.delta(1);
  CHECK(one.entries == -5);
  CHECK(one.expired == 2);
  CHECK(cache.read(2, "n", "a", now).status == ReadResult::kFound);  // another uid's namespace

  Batch e;
  put(e, 3, "", "soon", "\x01", now + 50);
  apply(*store, cache, e);
  Batch sweep;
  sweep.sweep = true;
  sweep.now_ms = now + 60;
  out = apply(*store, cache, sweep);
  CHECK(out.delta(3).expired == 1);
  CHECK(out.delta(3).entries == -1);
}

TEST_CASE("cache store: an edited or moved row fails its integrity check") {
  StateDir dir;
  auto store = open_store(dir.path);
  CacheStore cache(*store, 1 << 30);
  Batch b;
  put(b, 1000, "", "a", "\xa5hello");
  put(b, 1000, "", "b", "\xa5hello");
  put(b, 1000, "", "c", "\xa5hello");
  put(b, 1000, "", "d", "\xa5hello", now_ms() + 60'000);
  apply(*store, cache, b);
  const auto now = now_ms();

  exec(*store, "UPDATE cache_entries SET value = x'a5776f726c64' WHERE key = CAST('a' AS BLOB)");
  exec(*store, "UPDATE cache_entries SET uid = 2000 WHERE key = CAST('b' AS BLOB)");
  exec(*store,
       "UPDATE cache_entries SET key = CAST('moved' AS BLOB) WHERE key = CAST('c' AS BLOB)");
  exec(*store,
       "UPDATE cache_entries SET expires_at = expires_at + 3600000 WHERE key = CAST('d' AS BLOB)");

  CHECK(cache.read(1000, "", "a", now).status == ReadResult::kTampered);
  CHECK(cache.read(2000, "", "b", now).status == ReadResult::kTampered);
  CHECK(cache.read(1000, "", "b", now).status == ReadResult::kMissing);
  CHECK(cache.read(1000, "", "moved", now).status == ReadResult::kTampered);
  CHECK(cache.read(1000, "", "d", now).status == ReadResult::kTampered);

  // Dropping exactly the row that failed.
  const auto tampered = cache.read(1000, "", "a", now);
  Batch drop;
  drop.add(OpKind::kDropTampered, 1000, "", "a", ipc::as_bytes(tampered.mac), 0);
  apply(*store, cache, drop);
  CHECK(cache.read(1000, "", "a", now).status == ReadResult::kMissing);
}

TEST_CASE("cache store: the disk budget evicts expired rows, then the least recently used") {
  StateDir dir;
  auto store = open_store(dir.path);
  const std::int64_t row = 1 + 2 + 100 + kRowOverheadBytes;  // ns "n", key "kN", 100-byte value
  CacheStore cache(*store, row * 3);
  std::int64_t disk = 0;
  const std::string value(100, 'v');
  const auto t0 = now_ms();
  for (int i = 1; i <= 3; ++i) {
    Batch b;
    b.now_ms = t0 + i;  // accessed_at orders them
    put(b, 1, "n", "k" + std::to_string(i), value);
    apply(*store, cache, b, &disk);
  }
  CHECK(disk == row * 3);
  Batch touch;
  touch.now_ms = t0 + 10;
  touch.add(OpKind::kTouch, 1, "n", "k1", {}, 0);
  apply(*store, cache, touch, &disk);

  Batch more;
  more.now_ms = t0 + 20;
  put(more, 1, "n", "k4", value);
  auto out = apply(*store, cache, more, &disk);
  REQUIRE(out.evicted.size() == 1);
  CHECK(out.evicted[0].key == "k2");
  CHECK(disk <= row * 3);
  CHECK(cache.read(1, "n", "k1", t0).status == ReadResult::kFound);
  CHECK(cache.read(1, "n", "k2", t0).status == ReadResult::kMissing);
}

TEST_CASE("cache store: rows survive a key rotation, re-sealed under the new subkey") {
  StateDir dir;
  {
    auto store = open_store(dir.path);
    CacheStore cache(*store, 1 << 30);
    Batch b;
    put(b, 1000, "ns", "keep", "\xa4kept");
    put(b, 1000, "ns", "bad", "\xa4kept");
    apply(*store, cache, b);
    exec(*store, "UPDATE cache_entries SET value = x'a474616d70' WHERE key = CAST('bad' AS BLOB)");
    const auto before = cache.read(1000, "ns", "keep", now_ms());
    REQUIRE(before.status == ReadResult::kFound);

    auto rotated = store->rotate(kNewPass, dir.path / "backups");
    REQUIRE(rotated);
    // The same CacheStore follows the new key: the subkey is re-derived from the new salt.
    const auto after = cache.read(1000, "ns", "keep", now_ms());
    REQUIRE(after.status == ReadResult::kFound);
    CHECK(after.value == "\xa4kept");
    // The row that failed its check was dropped during the rotation.
    CHECK(cache.read(1000, "ns", "bad", now_ms()).status == ReadResult::kMissing);
  }
  // And after a restart under the new passphrase.
  auto store = open_store(dir.path, kNewPass);
  CacheStore cache(*store, 1 << 30);
  CHECK(cache.read(1000, "ns", "keep", now_ms()).status == ReadResult::kFound);
}

// ---- The durable-put journal -------------------------------------------------------

namespace {

std::vector<std::int64_t> append(storage::Store& store, CacheStore& cache, const Batch& records) {
  auto c = store.pool(kCacheDatabase).acquire();
  auto tx = storage::Transaction::begin(*c);
  REQUIRE(tx);
  auto ids = cache.append_journal(*c, records);
  REQUIRE(ids);
  REQUIRE(tx->commit());
  return *ids;
}

std::int64_t journal_rows(storage::Store& store) {
  auto c = store.pool(kCacheDatabase).acquire();
  auto n = c->query_int("SELECT count(*) FROM cache_journal");
  REQUIRE(n);
  return *n;
}

ReplayOutcome replay(storage::Store& store, CacheStore& cache) {
  auto c = store.pool(kCacheDatabase).acquire();
  auto tx = storage::Transaction::begin(*c);
  REQUIRE(tx);
  auto replayed = cache.replay_journal(*c, now_ms());
  REQUIRE(replayed);
  REQUIRE(tx->commit());
  return *replayed;
}

}  // namespace

TEST_CASE("cache store: journaled puts get increasing ids and are replayed into cache_entries by load") {
  StateDir dir;
  auto store = open_store(dir.path);
  CacheStore cache(*store, 1 << 30);
  Batch first;
  put(first, 1000, "", "a", "\x01");
  put(first, 1000, "", "b", "\x02");
  const auto ids = append(*store, cache, first);
  REQUIRE(ids.size() == 2);
  CHECK(ids[0] < ids[1]);
  Batch second;
  put(second, 1000, "", "a", "\x03", now_ms() + 600'000);  // replaces the first "a"
  const auto later = append(*store, cache, second);
  REQUIRE(later.size() == 1);
  CHECK(later[0] > ids[1]);
  // Only in the journal so far.
  CHECK(cache.read(1000, "", "a", now_ms()).status == ReadResult::kMissing);

  const auto replayed = replay(*store, cache);
  CHECK(replayed.replayed == 3);
  CHECK(replayed.tampered.empty());
  {
    auto c = store->pool(kCacheDatabase).acquire();
    const auto loaded = cache.load(*c);
    REQUIRE(loaded);
    REQUIRE(loaded->per_uid.size() == 1);
    CHECK(loaded->per_uid[0].entries == 2);
  }
  CHECK(journal_rows(*store) == 0);
  const auto a = cache.read(1000, "", "a", now_ms());
  REQUIRE(a.status == ReadResult::kFound);
  CHECK(a.value == "\x03");  // in the order they were journaled
  CHECK(a.expires_at_ms > now_ms());
  CHECK(cache.read(1000, "", "b", now_ms()).value == "\x02");

  // Ids never come back, even with the journal empty.
  Batch third;
  put(third, 1000, "", "c", "\x04");
  CHECK(append(*store, cache, third)[0] > later[0]);
}

TEST_CASE("cache store: a batch deletes the journal rows up to its journal_upto, and no others") {
  StateDir dir;
  auto store = open_store(dir.path);
  CacheStore cache(*store, 1 << 30);
  Batch records;
  put(records, 1, "", "x", "\x01");
  put(records, 1, "", "y", "\x02");
  put(records, 1, "", "z", "\x03");
  const auto ids = append(*store, cache, records);
  Batch b;
  put(b, 1, "", "x", "\x01");
  put(b, 1, "", "y", "\x02");
  b.journal_upto = ids[1];
  apply(*store, cache, b);
  CHECK(journal_rows(*store) == 1);
  // A restart replays only "z".
  CHECK(replay(*store, cache).replayed == 1);
  CHECK(cache.read(1, "", "z", now_ms()).value == "\x03");
}

TEST_CASE("cache store: a journal row that fails its MAC is not replayed, and is reported") {
  StateDir dir;
  auto store = open_store(dir.path);
  CacheStore cache(*store, 1 << 30);
  Batch records;
  put(records, 1000, "n", "good", "\xa4good");
  put(records, 1000, "n", "edited", "\xa4good");
  put(records, 1000, "n", "moved", "\xa4good");
  append(*store, cache, records);
  exec(*store, "UPDATE cache_journal SET value = x'a4626164' WHERE key = CAST('edited' AS BLOB)");
  exec(*store, "UPDATE cache_journal SET uid = 2000 WHERE key = CAST('moved' AS BLOB)");

  const auto replayed = replay(*store, cache);
  CHECK(replayed.replayed == 1);
  REQUIRE(replayed.tampered.size() == 2);
  CHECK(replayed.tampered[0] == std::pair<uid_t, std::string>(1000, "n"));
  CHECK(replayed.tampered[1] == std::pair<uid_t, std::string>(2000, "n"));
  CHECK(journal_rows(*store) == 0);
  CHECK(cache.read(1000, "n", "good", now_ms()).status == ReadResult::kFound);
  CHECK(cache.read(1000, "n", "edited", now_ms()).status == ReadResult::kMissing);
  CHECK(cache.read(2000, "n", "moved", now_ms()).status == ReadResult::kMissing);
}

TEST_CASE("cache store: journal rows survive a key rotation, re-sealed, and replay under the new key") {
  StateDir dir;
  {
    auto store = open_store(dir.path);
    CacheStore cache(*store, 1 << 30);
    Batch records;
    put(records, 1000, "ns", "pending", "\xa4kept");
    append(*store, cache, records);
    REQUIRE(store->rotate(kNewPass, dir.path / "backups"));
  }
  auto store = open_store(dir.path, kNewPass);
  CacheStore cache(*store, 1 << 30);
  const auto replayed = replay(*store, cache);
  CHECK(replayed.replayed == 1);
  CHECK(replayed.tampered.empty());
  CHECK(cache.read(1000, "ns", "pending", now_ms()).value == "\xa4kept");
}

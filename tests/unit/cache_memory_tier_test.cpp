// cache::MemoryTier: the index, namespaces, LRU under a byte budget, accounting.
#include "daemon/cache_memory_tier.hpp"
#include "tests/support/glibc_malloc.hpp"

#include <malloc.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>


using namespace durationd;
using namespace durationd::app::cache;

namespace {

ipc::Bytes bytes(const std::string& s) {
  return ipc::as_bytes(s);
}

// Puts a clean entry, as a promotion from disk does.
Entry* put_clean(MemoryTier& tier, Namespace& ns, const std::string& key, const std::string& value,
                 std::int64_t expires = 0) {
  Entry* e = tier.create(ns, key, bytes(value), expires, 0);
  tier.insert(e);
  tier.link_clean(e);
  return e;
}

}  // namespace

TEST_CASE("memory tier: entries hold their key and value bytes exactly") {
  MemoryTier tier(1 << 20);
  CacheCounters counters;
  Namespace& ns = tier.acquire_namespace(1000, "app", counters);
  const std::string value("\xcb\x40\x00\x00\x00\x00\x00\x00\x00", 9);  // float64 2.0
  Entry* e = put_clean(tier, ns, "k", value, 1234);
  CHECK(tier.find(ns, "k") == e);
  CHECK(e->key() == "k");
  CHECK(ipc::as_chars(e->value()) == value);
  CHECK(e->expires_at_ms == 1234);
  CHECK(e->expired(1234));
  CHECK_FALSE(e->expired(1233));
  CHECK(counters.memory_entries == 1);
  CHECK(counters.memory_bytes == static_cast<std::int64_t>(MemoryTier::footprint(1, 9)));
  tier.release_namespace(ns);
}

TEST_CASE("memory tier: uid and namespace are part of every key") {
  MemoryTier tier(1 << 20);
  CacheCounters a, b;
  Namespace& root = tier.acquire_namespace(0, "", a);
  Namespace& other_uid = tier.acquire_namespace(65534, "", b);
  Namespace& other_ns = tier.acquire_namespace(0, "x", a);
  put_clean(tier, root, "k", "\x01");
  CHECK(tier.find(root, "k") != nullptr);
  CHECK(tier.find(other_uid, "k") == nullptr);
  CHECK(tier.find(other_ns, "k") == nullptr);
  CHECK(tier.find_namespace(65534, "") == &other_uid);
  CHECK(tier.find_namespace(1, "") == nullptr);
  // A namespace is forgotten once nothing uses it.
  tier.release_namespace(other_uid);
  CHECK(tier.find_namespace(65534, "") == nullptr);
  tier.release_namespace(other_ns);
  tier.release_namespace(root);
  CHECK(tier.find_namespace(0, "") != nullptr);  // its entry still holds it
}

TEST_CASE("memory tier: a newer write replaces the entry and frees the old one") {
  MemoryTier tier(1 << 20);
  CacheCounters counters;
  Namespace& ns = tier.acquire_namespace(0, "", counters);
  put_clean(tier, ns, "k", "\x01");
  Entry* newer = tier.create(ns, "k", bytes("\x02"), 0, 0);
  tier.insert(newer);
  tier.link_clean(newer);
  CHECK(tier.find(ns, "k") == newer);
  CHECK(tier.entries() == 1);
  CHECK(tier.indexed() == 1);

  // A queued entry that is replaced stays alive (the pipeline holds it), superseded.
  tier.detach(newer);
  newer->state = EntryState::kQueued;
  Entry* newest = tier.create(ns, "k", bytes("\x03"), 0, 0);
  tier.insert(newest);
  CHECK(newer->is(Entry::kSuperseded));
  CHECK_FALSE(newer->is(Entry::kInIndex));
  CHECK(tier.entries() == 2);
  newer->state = EntryState::kDetached;
  tier.release(newer);
  CHECK(tier.entries() == 1);
  tier.erase(newest);
  CHECK(tier.entries() == 0);
  CHECK(counters.memory_entries == 0);
  CHECK(counters.memory_bytes == 0);
  tier.release_namespace(ns);
  CHECK(tier.namespaces() == 0);
}

TEST_CASE("memory tier: the byte budget evicts clean entries, and entries in use survive") {
  const std::size_t per_entry = MemoryTier::footprint(5, 100);
  MemoryTier tier(per_entry * 50);
  CacheCounters counters;
  Namespace& ns = tier.acquire_namespace(0, "", counters);
  const std::string v(100, 'v');
  auto key = [](int i) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "k%04d", i);
    return std::string(buf);
  };
  for (int i = 0; i < 50; ++i) put_clean(tier, ns, key(i), v);
  std::size_t evicted = 0;
  // Ten hot keys are used between every two writes: second chance keeps them all.
  for (int i = 50; i < 1000; ++i) {
    for (int hot = 0; hot < 10; ++hot) MemoryTier::touch(tier.find(ns, key(hot)));
    put_clean(tier, ns, key(i), v);
    evicted += tier.evict_to_budget([&](const Entry& e) { CHECK(e.key() >= key(10)); });
    REQUIRE(tier.bytes() <= tier.budget());
  }
  CHECK(evicted == 950);
  for (int hot = 0; hot < 10; ++hot) CHECK(tier.find(ns, key(hot)) != nullptr);
  CHECK(tier.find(ns, key(999)) != nullptr);

  // Entries waiting to be written are never evicted, even over the budget.
  Entry* queued = tier.create(ns, "q", bytes(std::string(per_entry * 60, 'q')), 0, 0);
  tier.insert(queued);
  queued->state = EntryState::kQueued;
  evicted = tier.evict_to_budget([](const Entry&) {});
  CHECK(evicted == 50);  // every clean one went
  CHECK(tier.clean() == 0);
  CHECK(tier.find(ns, "q") == queued);
  CHECK(tier.bytes() > tier.budget());
  queued->state = EntryState::kDetached;
  tier.erase(queued);
  tier.release_namespace(ns);
  CHECK(tier.entries() == 0);
}

TEST_CASE("memory tier: a cleared namespace's entries are dead at once") {
  MemoryTier tier(1 << 20);
  CacheCounters counters;
  Namespace& old_ns = tier.acquire_namespace(0, "n", counters);
  put_clean(tier, old_ns, "a", "\x01");
  Entry* queued = tier.create(old_ns, "b", bytes("\x02"), 0, 0);
  tier.insert(queued);
  queued->state = EntryState::kQueued;
  tier.retire_namespace(old_ns);
  CHECK(tier.find(old_ns, "a") == nullptr);
  CHECK(tier.find_namespace(0, "n") == nullptr);
  // The next use of (uid, ns) is a new namespace; the old one lives while referred to.
  Namespace& fresh_ns = tier.acquire_namespace(0, "n", counters);
  CHECK(&fresh_ns != &old_ns);
  CHECK(tier.find(fresh_ns, "a") == nullptr);
  CHECK(tier.find(fresh_ns, "b") == nullptr);
  put_clean(tier, fresh_ns, "b", "\x03");
  CHECK(ipc::as_chars(tier.find(fresh_ns, "b")->value()) == "\x03");
  tier.release_namespace(old_ns);
  {
    std::size_t dead = 0;
    for (std::size_t i = 0; i < tier.slot_count(); ++i)
      if (Entry* e = tier.slot(i); e && e->stale()) ++dead;
    CHECK(dead == 2);
  }
  queued->state = EntryState::kDetached;
  tier.release(queued);  // superseded? no: still in the index, as a dead entry
  for (std::size_t i = 0; i < tier.slot_count();) {
    Entry* e = tier.slot(i);
    if (e && e->stale()) {
      tier.erase(e);
      continue;
    }
    ++i;
  }
  CHECK(tier.entries() == 1);
  tier.release_namespace(fresh_ns);
  CHECK(tier.namespaces() == 1);  // held by its entry
}

TEST_CASE("memory tier: the index agrees with a model under random inserts and erases") {
  MemoryTier tier(SIZE_MAX);
  CacheCounters counters;
  std::vector<Namespace*> spaces{&tier.acquire_namespace(0, "", counters),
                                 &tier.acquire_namespace(0, "x", counters),
                                 &tier.acquire_namespace(7, "", counters)};
  std::map<std::pair<int, std::string>, std::string> model;
  std::mt19937 rng(42);
  for (int step = 0; step < 60'000; ++step) {
    const int s = static_cast<int>(rng() % spaces.size());
    const std::string key = "key" + std::to_string(rng() % 3000);
    Namespace& ns = *spaces[static_cast<std::size_t>(s)];
    if (rng() % 3 == 0) {
      if (Entry* e = tier.find(ns, key)) tier.erase(e);
      model.erase({s, key});
    } else {
      const std::string value = std::to_string(step);
      put_clean(tier, ns, key, value);
      model[{s, key}] = value;
    }
  }
  CHECK(tier.indexed() == model.size());
  CHECK(tier.entries() == model.size());
  CHECK(tier.index_consistent());
  for (const auto& [where, value] : model) {
    Entry* e = tier.find(*spaces[static_cast<std::size_t>(where.first)], where.second);
    REQUIRE(e != nullptr);
    CHECK(ipc::as_chars(e->value()) == value);
  }
  // Walking the slots the way the sweep does, erasing as it goes, visits everything.
  std::size_t erased = 0;
  for (std::size_t i = 0; i < tier.slot_count();) {
    if (Entry* e = tier.slot(i)) {
      tier.erase(e);
      ++erased;
      continue;
    }
    ++i;
  }
  CHECK(erased == model.size());
  CHECK(tier.entries() == 0);
  CHECK(counters.memory_bytes == 0);
  for (Namespace* ns : spaces) tier.release_namespace(*ns);
}

namespace {

std::uint64_t tag_of(const Namespace& ns, const std::string& key) {
  return MemoryTier::tag_of_hash(MemoryTier::hash_key(ns, key));
}

// The first `count` keys "<prefix><n>" for which `wanted(key)` holds.
template <class Pred>
std::vector<std::string> keys_where(const std::string& prefix, std::size_t count, Pred wanted) {
  std::vector<std::string> keys;
  for (std::uint64_t n = 0; keys.size() < count; ++n) {
    std::string key = prefix + std::to_string(n);
    if (wanted(key)) keys.push_back(std::move(key));
  }
  return keys;
}

}  // namespace

TEST_CASE("memory tier: keys whose tags collide are all found, and erased in any order") {
  MemoryTier tier(SIZE_MAX);
  CacheCounters counters;
  Namespace& ns = tier.acquire_namespace(0, "", counters);
  const std::uint64_t tag = tag_of(ns, "t0");
  // 1,000 keys of one tag (the table grows past 768 entries), and 20 more not inserted.
  auto keys = keys_where("t", 1020, [&](const std::string& k) { return tag_of(ns, k) == tag; });
  const std::vector<std::string> absent(keys.end() - 20, keys.end());
  keys.resize(1000);
  for (const auto& k : keys) put_clean(tier, ns, k, "v" + k);
  CHECK(tier.slot_count() > 1024);
  CHECK(tier.index_consistent());
  for (const auto& k : keys) {
    const Entry* e = tier.find(ns, k);
    REQUIRE(e != nullptr);
    CHECK(e->key() == k);
    CHECK(ipc::as_chars(e->value()) == "v" + k);
  }
  for (const auto& k : absent) CHECK(tier.find(ns, k) == nullptr);
  // Same tag in another namespace: not found either.
  Namespace& other = tier.acquire_namespace(0, "other", counters);
  for (const auto& k : keys) CHECK(tier.find(other, k) == nullptr);
  tier.release_namespace(other);

  std::mt19937 rng(7);
  std::shuffle(keys.begin(), keys.end(), rng);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    tier.erase(tier.find(ns, keys[i]));
    if (i % 97 == 0) {
      REQUIRE(tier.index_consistent());
      for (std::size_t j = i + 1; j < keys.size(); ++j) REQUIRE(tier.find(ns, keys[j]) != nullptr);
    }
  }
  CHECK(tier.entries() == 0);
  CHECK(tier.index_consistent());
  tier.release_namespace(ns);
}

TEST_CASE("memory tier: a cluster longer than a slot's distance field can say") {
  MemoryTier tier(SIZE_MAX);
  CacheCounters counters;
  Namespace& ns = tier.acquire_namespace(0, "", counters);
  REQUIRE(tier.slot_count() == 1024);  // no growing below 768 entries
  const std::size_t mask = tier.slot_count() - 1;
  const std::size_t home = MemoryTier::hash_key(ns, "h0") & mask;
  auto same_home = [&](const std::string& k) {
    return (MemoryTier::hash_key(ns, k) & mask) == home;
  };
  // 300 keys with one home slot: the last ones are more than 255 slots from it.
  auto keys = keys_where("h", 300, same_home);
  // And keys with that home and the same tag as well: only the key tells them apart.
  const auto twins = keys_where("twin", 6, [&](const std::string& k) {
    return same_home(k) && tag_of(ns, k) == tag_of(ns, keys[0]);
  });
  for (const auto& k : keys) put_clean(tier, ns, k, "v" + k);
  for (const auto& k : twins) put_clean(tier, ns, k, "w" + k);
  REQUIRE(tier.slot_count() == 1024);
  CHECK(tier.index_consistent());
  CHECK(tier.distance_at((home + 299) & mask) == 299);
  CHECK(tier.distance_at((home + 305) & mask) == 305);
  for (const auto& k : keys) CHECK(ipc::as_chars(tier.find(ns, k)->value()) == "v" + k);
  for (const auto& k : twins) CHECK(ipc::as_chars(tier.find(ns, k)->value()) == "w" + k);

  // Erasing at the head of the cluster shifts every later entry back by one, the far
  // ones included; erasing in the middle shifts the tail.
  tier.erase(tier.find(ns, keys[0]));
  CHECK(tier.index_consistent());
  CHECK(tier.distance_at((home + 304) & mask) == 304);
  tier.erase(tier.find(ns, keys[150]));
  tier.erase(tier.find(ns, twins[2]));
  tier.erase(tier.find(ns, keys[299]));
  CHECK(tier.index_consistent());
  CHECK(tier.find(ns, keys[0]) == nullptr);
  CHECK(tier.find(ns, keys[150]) == nullptr);
  CHECK(tier.find(ns, twins[2]) == nullptr);
  for (std::size_t i = 1; i < keys.size() - 1; ++i)
    if (i != 150) CHECK(ipc::as_chars(tier.find(ns, keys[i])->value()) == "v" + keys[i]);
  for (const auto& k : twins)
    if (k != twins[2]) CHECK(tier.find(ns, k) != nullptr);

  // Replacing a far entry keeps its slot, tag and distance.
  Entry* newer = tier.create(ns, twins[5], bytes("new"), 0, 0);
  tier.insert(newer);
  tier.link_clean(newer);
  CHECK(tier.find(ns, twins[5]) == newer);
  CHECK(tier.index_consistent());

  // Growing spreads the cluster over new homes; everything is still found.
  for (int i = 0; i < 2000; ++i) put_clean(tier, ns, "g" + std::to_string(i), "g");
  CHECK(tier.slot_count() > 1024);
  CHECK(tier.index_consistent());
  for (std::size_t i = 1; i < keys.size() - 1; ++i)
    if (i != 150) CHECK(tier.find(ns, keys[i]) != nullptr);
  CHECK(tier.find(ns, twins[5]) == newer);
  tier.release_namespace(ns);
}

TEST_CASE("memory tier: grow() keeps every entry findable, with the right tags and distances") {
  MemoryTier tier(SIZE_MAX);
  CacheCounters counters;
  std::vector<Namespace*> spaces{&tier.acquire_namespace(0, "", counters),
                                 &tier.acquire_namespace(0, "x", counters),
                                 &tier.acquire_namespace(9, "", counters)};
  constexpr int kKeys = 40'000;
  std::size_t grows = 0;
  for (int i = 0; i < kKeys; ++i) {
    const std::size_t before = tier.slot_count();
    put_clean(tier, *spaces[static_cast<std::size_t>(i) % 3], "key:" + std::to_string(i), "v");
    if (tier.slot_count() != before) {
      ++grows;
      REQUIRE(tier.slot_count() == before * 2);
      REQUIRE(tier.index_consistent());
    }
  }
  CHECK(grows == 6);  // 1024 -> 65536
  CHECK(tier.indexed() == kKeys);
  for (int i = 0; i < kKeys; ++i) {
    Namespace& ns = *spaces[static_cast<std::size_t>(i) % 3];
    const std::string key = "key:" + std::to_string(i);
    REQUIRE(tier.find(ns, key) != nullptr);
    CHECK(tier.find(*spaces[static_cast<std::size_t>(i + 1) % 3], key) == nullptr);
  }
  for (int i = 0; i < kKeys; i += 2)
    tier.erase(tier.find(*spaces[static_cast<std::size_t>(i) % 3], "key:" + std::to_string(i)));
  CHECK(tier.index_consistent());
  CHECK(tier.indexed() == kKeys / 2);
  for (Namespace* ns : spaces) tier.release_namespace(*ns);
}

TEST_CASE("memory tier: footprint() is the entry's malloc chunk plus its share of the index") {
  CHECK(sizeof(Entry) == 24);
  // The benchmark's entry: a 10-byte key ("key:123456") and 100 bytes of bin (102 of
  // msgpack): 24 + 112 bytes, a 144-byte chunk; 14 for the index slot.
  CHECK(MemoryTier::footprint(10, 102) == 144 + 14);
  CHECK(MemoryTier::footprint(1, 0) == 48 + 14);  // 24 + 1 + 8, rounded up to 16
  CHECK(MemoryTier::footprint(100, 1000) == 1136 + 14);
  // Past the daemon's mmap threshold: 24 + 10 + 200,000 bytes are a 200,048-byte chunk,
  // mapped with its 8-byte header in 49 pages.
  CHECK(MemoryTier::footprint(10, 200'000) == 49 * 4096 + 14);

  MemoryTier tier(SIZE_MAX);
  CacheCounters counters;
  Namespace& ns = tier.acquire_namespace(0, "", counters);
  std::size_t expected = 0;
  for (std::size_t key_size = 1; key_size <= 40; key_size += 3) {
    for (std::size_t value_size = 0; value_size <= 300; value_size += 7) {
      const std::string key = std::string(key_size - 1, 'k') + char('a' + value_size % 26);
      const std::string value(value_size, 'v');
      Entry* e = tier.create(ns, key, bytes(value), 0, 0);
#if GLIBC_MALLOC
      // glibc: a chunk is its usable bytes plus the 8-byte size header. It may be 16
      // bytes more than asked for, when the free chunk it came from was only that much
      // bigger (too little to split off).
      const std::size_t chunk = malloc_usable_size(e) + 8;
      const std::size_t modelled = MemoryTier::footprint(key_size, value_size) - 14;
      CHECK(chunk >= modelled);
      CHECK(chunk <= modelled + 16);
#endif
      expected += MemoryTier::footprint(key_size, value_size);
      CHECK(tier.bytes() == expected);
      CHECK(counters.memory_bytes == static_cast<std::int64_t>(expected));
      e->state = EntryState::kDetached;
      tier.release(e);  // never indexed: freed at once
      expected -= MemoryTier::footprint(key_size, value_size);
    }
  }
  CHECK(tier.bytes() == 0);
  CHECK(counters.memory_bytes == 0);
  tier.release_namespace(ns);
}

// Not a test: prints what one 100-byte entry costs (run with "[.bench]").
TEST_CASE("memory tier: bytes per 100-byte entry", "[.bench]") {
  constexpr int kEntries = 1'000'000;
  const std::string value(100, 'v');
  const auto before = mallinfo2();
  {
    MemoryTier tier(SIZE_MAX);
    CacheCounters counters;
    Namespace& ns = tier.acquire_namespace(0, "", counters);
    char key[32];
    for (int i = 0; i < kEntries; ++i) {
      const int n =
          std::snprintf(key, sizeof key, "key:%012d", i);  // 16 bytes, like "key:000000000001"
      put_clean(tier, ns, std::string(key, static_cast<std::size_t>(n)), value);
    }
    const auto after = mallinfo2();
    const double per_entry =
        static_cast<double>((after.uordblks + after.hblkhd) - (before.uordblks + before.hblkhd)) /
        kEntries;
    std::printf(
        "memory tier: %.1f bytes per entry with a 16-byte key and a 100-byte value "
        "(%.1f beyond the value; accounted footprint %zu)\n",
        per_entry, per_entry - 100, MemoryTier::footprint(16, 100));
    tier.release_namespace(ns);
  }
}

// The cache's counters: per uid (cache.stats) and summed over every uid (admin.status).
// Owned by the event-loop thread; nothing here is synchronised.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <unordered_map>

namespace durationd::app::cache {

struct CacheCounters {
  // What is stored, as of the last commit to cache.db (cache.stats flushes first, so it
  // is exact there). `bytes` counts namespace, key and value bytes of each entry.
  std::int64_t entries = 0;
  std::int64_t bytes = 0;
  std::uint64_t hits = 0;       // cache.get answered with a value
  std::uint64_t misses = 0;     // cache.get answered NOT_FOUND
  std::uint64_t evictions = 0;  // entries dropped to keep cache.db within its budget
  std::uint64_t expired = 0;    // entries removed because their TTL ran out
  // The memory tier (a subset of what is stored).
  std::int64_t memory_entries = 0;
  std::int64_t memory_bytes = 0;       // allocation footprint, what the memory budget counts
  std::uint64_t memory_evictions = 0;  // entries dropped from memory (still on disk)

  CacheCounters& operator+=(const CacheCounters& o) {
    entries += o.entries;
    bytes += o.bytes;
    hits += o.hits;
    misses += o.misses;
    evictions += o.evictions;
    expired += o.expired;
    memory_entries += o.memory_entries;
    memory_bytes += o.memory_bytes;
    memory_evictions += o.memory_evictions;
    return *this;
  }
};

class CacheStatsTable {
 public:
  // The counters of `uid`, created at zero. References stay valid for the table's life.
  CacheCounters& of(uid_t uid) { return by_uid_[uid]; }
  // nullptr when `uid` has no counters yet.
  const CacheCounters* find(uid_t uid) const {
    const auto it = by_uid_.find(uid);
    return it == by_uid_.end() ? nullptr : &it->second;
  }
  CacheCounters totals() const {
    CacheCounters sum;
    for (const auto& [uid, counters] : by_uid_) sum += counters;
    return sum;
  }

 private:
  std::unordered_map<uid_t, CacheCounters> by_uid_;
};

}  // namespace durationd::app::cache

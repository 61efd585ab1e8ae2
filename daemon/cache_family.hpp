// The cache family: cache.put, cache.get, cache.del, cache.clear and cache.stats
// (protocol.md, "Cache"), over the memory tier (cache_memory_tier.hpp) and cache.db
// (cache_store.hpp).
//
// Reads: a memory-tier hit is answered synchronously inside the op's coroutine, with no
// allocation and no database access. A miss reads cache.db on a worker thread; a hit
// there is promoted into memory.
//
// Writes go to memory first and reach cache.db through a write-behind pipeline: queued
// puts and deletes are copied into one batch per flush and committed by the cache's
// GroupCommitter as one job (one transaction, synchronous = FULL). At most one batch is in
// flight; what arrives meanwhile waits for the next. A batch is flushed when the flush
// interval has passed since its first write, or at once when someone waits for it: a
// durable put, a delete of a key the memory tier does not hold, cache.clear and
// cache.stats. So concurrent durable puts share one commit, and ordering is that of the
// event loop.
//
// Everything here runs on the event-loop thread, except flush() (after the loop ended).
#pragma once

#include <memory>

#include "daemon/cache_stats.hpp"
#include "daemon/family.hpp"

namespace durationd::app {

class CacheFamily : public Family {
 public:
  ~CacheFamily() override = default;
  // Counters summed over every uid, for admin.status. Event-loop thread.
  virtual cache::CacheCounters totals() const = 0;
  // The counters of one uid (zero if it never used the cache). Event-loop thread.
  virtual cache::CacheCounters counters(uid_t uid) const = 0;
};

// Registers the cache.* ops; the family lives as long as the registry.
std::unique_ptr<CacheFamily> make_cache_family(OpRegistry& registry, AppContext& context);

}  // namespace durationd::app

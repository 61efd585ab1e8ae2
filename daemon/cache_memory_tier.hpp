// The cache's memory tier: entries in one allocation each (a 24-byte header, then the
// key bytes, then the value's msgpack bytes exactly as the client sent them), an
// open-addressing index over (uid, namespace, key), and CLOCK eviction (second chance,
// an approximation of LRU as Redis uses one) of the entries that are safely on disk,
// under a byte budget. A hit only sets a bit in its entry: no list to relink.
//
// Event-loop thread only: no locks, and no worker thread ever touches an entry (jobs for
// the database get copies of the bytes they need).
//
// Entry life cycle (Entry::state):
//   kQueued    written by a put (or a delete's tombstone), waiting for the next flush;
//   kInflight  copied into the batch being committed;
//   kClean     on disk; evictable;
//   kDetached  none of these (just created, or on its way out).
// An entry is freed when it is detached and no longer in the index. Queued and
// in-flight entries are never evicted: until their batch commits, the memory tier is the
// only place that holds them.
//
// The index (linear probing, backward-shift deletion) keeps what probing needs in its
// 8-byte slots, so that entries carry no hash: the entry's address in the low 48 bits
// (Linux user-space addresses on x86-64 fit; create() checks), then 8 bits of the key's
// hash (the tag: a probe reads an entry only when its tag matches, so 255 of 256 other
// entries are skipped unread) and, in the top 8 bits, how far the slot is from the key's
// home slot (0..254; 255: that far or farther). Deletion moves entries back by their
// distances alone; only grow(), slot_of() and a distance of 255 hash a key again.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "daemon/cache_stats.hpp"
#include "ipc/msgpack_reader.hpp"

namespace durationd::app::cache {

// One (uid, ns) pair. Entries point at it instead of carrying the uid and ns bytes.
// cache.clear retires it: the registry forgets it (the next use of (uid, ns) gets a new
// one), and its entries, dead from then on, are dropped when met (the sweep, eviction,
// the pipeline) -- so clearing costs O(1) here. It lives while anything refers to it.
struct Namespace {
  uid_t uid = 0;
  std::string name;
  std::uint64_t seed = 0;  // mixed into key hashes
  std::uint32_t refs = 0;  // entries and in-progress operations using it
  bool retired = false;
  CacheCounters* counters = nullptr;  // of `uid`
};

enum class EntryState : std::uint8_t { kDetached, kQueued, kInflight, kClean };

struct Entry {
  static constexpr std::uint8_t kInIndex = 1;
  static constexpr std::uint8_t kTombstone = 2;    // a pending delete: lookups answer "absent"
  static constexpr std::uint8_t kSuperseded = 4;   // replaced in the index by a newer write
  static constexpr std::uint8_t kDurable = 8;      // its writer waits for the commit
  static constexpr std::uint8_t kReferenced = 16;  // used since the clock hand last passed

  Namespace* ns;
  std::int64_t expires_at_ms;  // wall-clock ms since the Unix epoch; 0: never
  std::uint32_t value_size;
  std::uint16_t key_size;
  EntryState state;
  std::uint8_t flags;

  std::string_view key() const { return {reinterpret_cast<const char*>(this + 1), key_size}; }
  ipc::Bytes value() const {
    return {reinterpret_cast<const std::byte*>(this + 1) + key_size, value_size};
  }
  bool is(std::uint8_t flag) const { return (flags & flag) != 0; }
  bool expired(std::int64_t now_ms) const { return expires_at_ms != 0 && expires_at_ms <= now_ms; }
  bool stale() const { return ns->retired; }
};
// 24 bytes: with a 10-byte key and a 102-byte value (100 bytes of bin) an entry is a
// 144-byte malloc chunk, not 160.
static_assert(sizeof(Entry) == 24, "the entry header is part of the per-entry memory cost");

class MemoryTier {
 public:
  explicit MemoryTier(std::size_t budget_bytes);
  ~MemoryTier();
  MemoryTier(const MemoryTier&) = delete;
  MemoryTier& operator=(const MemoryTier&) = delete;

  // ---- Namespaces ----------------------------------------------------------------
  // nullptr when no entry or operation uses (uid, ns) now.
  Namespace* find_namespace(uid_t uid, std::string_view ns);
  // Finds or creates (uid, ns) and takes a reference; `counters` are uid's.
  Namespace& acquire_namespace(uid_t uid, std::string_view ns, CacheCounters& counters);
  // Drops a reference; the namespace is forgotten when none is left.
  void release_namespace(Namespace& ns);
  // cache.clear: every entry of `ns` is dead from now on (see Namespace).
  void retire_namespace(Namespace& ns);

  // ---- Entries -------------------------------------------------------------------
  // A detached entry holding copies of `key` and `value` (empty for tombstones). It
  // counts against the budget (and in ns's memory counters) until freed.
  Entry* create(Namespace& ns, std::string_view key, ipc::Bytes value, std::int64_t expires_at_ms,
                std::uint8_t flags);
  // The entry (or tombstone) for (ns, key), or nullptr; nullptr too when ns is retired.
  Entry* find(Namespace& ns, std::string_view key);
  // Puts `e` into the index. An entry already there for its key is taken out, marked
  // kSuperseded and freed if nothing else holds it.
  void insert(Entry* e);
  // Takes `e` out of the index (freed if detached).
  void erase(Entry* e);
  // detached -> clean (evictable), counted as just used.
  void link_clean(Entry* e);
  // A use: the clock hand gives the entry a second chance.
  static void touch(Entry* e) { e->flags |= Entry::kReferenced; }
  // clean -> detached; other states unchanged.
  void detach(Entry* e);
  // Frees `e` if it is detached and out of the index.
  void release(Entry* e);

  // Evicts clean entries until within the budget: the clock hand walks the index,
  // clearing each referenced entry's bit and evicting the first one without it (dead
  // entries of retired namespaces go first). `on_evict(const Entry&)` is called for each
  // before it is freed.
  template <class F>
  std::size_t evict_to_budget(F&& on_evict) {
    std::size_t evicted = 0;
    // Two full turns clear every bit and evict: more means nothing is evictable.
    for (std::size_t steps = 0; bytes_ > budget_ && clean_ > 0 && steps <= 2 * slots_.size();
         ++steps) {
      if (hand_ >= slots_.size()) hand_ = 0;
      Entry* e = entry_of(slots_[hand_]);
      if (e == nullptr || e->state != EntryState::kClean) {
        ++hand_;
      } else if (e->is(Entry::kReferenced) && !e->stale()) {
        e->flags &= static_cast<std::uint8_t>(~Entry::kReferenced);
        ++hand_;
      } else {
        on_evict(*e);
        erase(e);  // another entry may move into this slot: look at it next
        ++evicted;
      }
    }
    return evicted;
  }

  // ---- Sweeping ------------------------------------------------------------------
  // The index's slots, for walking every entry in chunks. Erasing the entry at `i`
  // may move another entry into slot `i`: look at `i` again before moving on.
  std::size_t slot_count() const { return slots_.size(); }
  Entry* slot(std::size_t i) const { return entry_of(slots_[i]); }

  // ---- Accounting ----------------------------------------------------------------
  // What an entry costs: its allocation (with malloc's header, rounded as glibc does)
  // and its share of the index (one 8-byte slot at the index's average load).
  static std::size_t footprint(std::size_t key_size, std::size_t value_size);
  std::size_t bytes() const { return bytes_; }
  std::size_t entries() const { return allocated_; }
  std::size_t indexed() const { return indexed_; }
  std::size_t budget() const { return budget_; }
  std::size_t clean() const { return clean_; }
  std::size_t namespaces() const { return namespaces_.size(); }

  // ---- Index layout (public for tests) -------------------------------------------
  // The 64-bit hash of (ns, key): its low bits pick the home slot, its top 8 bits are
  // the tag kept in the slot.
  static std::uint64_t hash_key(const Namespace& ns, std::string_view key);
  static constexpr unsigned kAddressBits = 48;
  static constexpr std::uint64_t kAddressMask = (std::uint64_t{1} << kAddressBits) - 1;
  static constexpr unsigned kTagShift = 48;         // bits 48..55: the hash's top 8 bits
  static constexpr unsigned kDistanceShift = 56;    // bits 56..63: distance from home
  static constexpr std::size_t kFarDistance = 255;  // "255 or more": hash again to know
  static constexpr std::uint64_t tag_of_hash(std::uint64_t hash) { return hash >> 56; }
  // The distance from its home of the entry in slot `i` (hashing its key if far).
  std::size_t distance_at(std::size_t i) const;
  // For tests, O(slots): every slot's tag and distance agree with its key's hash, no
  // empty slot lies between an entry and its home, and the count is right.
  bool index_consistent() const;

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  using Slot = std::uint64_t;  // 0: empty
  static Entry* entry_of(Slot s) { return reinterpret_cast<Entry*>(s & kAddressMask); }
  static std::uint64_t tag_of(Slot s) { return (s >> kTagShift) & 0xff; }
  static std::size_t stored_distance(Slot s) {
    return static_cast<std::size_t>(s >> kDistanceShift);
  }
  static Slot make_slot(const Entry* e, std::uint64_t tag, std::size_t distance);
  static Slot with_distance(Slot s, std::size_t distance);

  // Slot holding (ns, key), or npos.
  std::size_t find_slot(const Namespace& ns, std::string_view key, std::uint64_t hash) const;
  std::size_t slot_of(const Entry* e) const;
  // Puts `e` (hash `hash`) into the first free slot from its home. No growing.
  void place(Entry* e, std::uint64_t hash);
  void erase_slot(std::size_t i);
  void grow();
  void free_entry(Entry* e);
  void forget_namespace(Namespace& ns);

  static constexpr std::size_t npos = SIZE_MAX;

  const std::size_t budget_;
  std::size_t bytes_ = 0;
  std::size_t allocated_ = 0;
  std::size_t indexed_ = 0;
  std::size_t clean_ = 0;
  std::vector<Slot> slots_;    // open addressing, linear probing; size a power of two
  std::size_t hand_ = 0;       // the clock hand: a slot index
  std::uint64_t next_seed_ = 0x9E3779B97F4A7C15ULL;
  // (uid, ns) -> its current Namespace. Namespaces are owned by their references: one
  // is deleted when the last goes (and removed from here unless retired already).
  std::unordered_map<std::string, Namespace*, StringHash, std::equal_to<>> namespaces_;
};

}  // namespace durationd::app::cache

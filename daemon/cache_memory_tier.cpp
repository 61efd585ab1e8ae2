#include "daemon/cache_memory_tier.hpp"

#include <cassert>
#include <cstring>
#include <new>

#include "daemon/heap_tuning.hpp"

namespace durationd::app::cache {
namespace {

constexpr std::size_t kInitialSlots = 1024;

// Builds the registry key of (uid, ns) in `buf`: the uid's 4 bytes, then the name.
std::string_view namespace_key(uid_t uid, std::string_view ns, char (&buf)[4 + 256]) {
  std::memcpy(buf, &uid, 4);
  const std::size_t n = ns.size() < 256 ? ns.size() : 256;
  std::memcpy(buf + 4, ns.data(), n);
  return {buf, 4 + n};
}

std::uint64_t mix(std::uint64_t h) {  // the finaliser of MurmurHash3
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

}  // namespace

MemoryTier::MemoryTier(std::size_t budget_bytes)
    : budget_(budget_bytes), slots_(kInitialSlots, 0) {}

MemoryTier::~MemoryTier() {
  // Whoever still holds entries (the cache's pipeline) has released them by now; what is
  // left is in the index.
  for (const Slot s : slots_)
    if (s != 0) free_entry(entry_of(s));
}

// ---- Namespaces --------------------------------------------------------------------

Namespace* MemoryTier::find_namespace(uid_t uid, std::string_view ns) {
  char buf[4 + 256];
  const auto it = namespaces_.find(namespace_key(uid, ns, buf));
  return it == namespaces_.end() ? nullptr : it->second;
}

Namespace& MemoryTier::acquire_namespace(uid_t uid, std::string_view ns, CacheCounters& counters) {
  char buf[4 + 256];
  const std::string_view key = namespace_key(uid, ns, buf);
  auto it = namespaces_.find(key);
  if (it == namespaces_.end()) {
    auto created = std::make_unique<Namespace>();
    created->uid = uid;
    created->name = std::string(ns);
    next_seed_ += 0x9E3779B97F4A7C15ULL;
    created->seed = mix(next_seed_);
    created->counters = &counters;
    it = namespaces_.emplace(std::string(key), created.get()).first;
    created.release();  // owned by its references from here on
  }
  ++it->second->refs;
  return *it->second;
}

void MemoryTier::release_namespace(Namespace& ns) {
  assert(ns.refs > 0);
  if (--ns.refs > 0) return;
  if (!ns.retired) forget_namespace(ns);
  delete &ns;
}

void MemoryTier::retire_namespace(Namespace& ns) {
  if (ns.retired) return;
  forget_namespace(ns);
  ns.retired = true;
}

void MemoryTier::forget_namespace(Namespace& ns) {
  char buf[4 + 256];
  const auto it = namespaces_.find(namespace_key(ns.uid, ns.name, buf));
  if (it != namespaces_.end() && it->second == &ns) namespaces_.erase(it);
}

// ---- Entries -----------------------------------------------------------------------

std::size_t MemoryTier::footprint(std::size_t key_size, std::size_t value_size) {
  // glibc: the request plus an 8-byte header, rounded up to 16, at least 32 bytes...
  std::size_t chunk = (sizeof(Entry) + key_size + value_size + 8 + 15) & ~std::size_t{15};
  if (chunk < 32) chunk = 32;
  // ...and from the daemon's fixed mmap threshold on (values of 128 KiB or so), usually a
  // mapping of its own: that and 8 bytes more, in whole pages (daemon/heap_tuning.hpp).
  if (chunk >= kMmapThresholdBytes) chunk = (chunk + 8 + 4095) & ~std::size_t{4095};
  // The index slot (8 bytes) at its average load factor (between 3/8 and 3/4).
  return chunk + 14;
}

std::uint64_t MemoryTier::hash_key(const Namespace& ns, std::string_view key) {
  return mix(std::hash<std::string_view>{}(key) ^ ns.seed);
}

MemoryTier::Slot MemoryTier::make_slot(const Entry* e, std::uint64_t tag, std::size_t distance) {
  if (distance > kFarDistance) distance = kFarDistance;
  return reinterpret_cast<std::uintptr_t>(e) | (tag << kTagShift) |
         (static_cast<std::uint64_t>(distance) << kDistanceShift);
}

MemoryTier::Slot MemoryTier::with_distance(Slot s, std::size_t distance) {
  constexpr Slot kKeep = (Slot{1} << kDistanceShift) - 1;
  if (distance > kFarDistance) distance = kFarDistance;
  return (s & kKeep) | (static_cast<std::uint64_t>(distance) << kDistanceShift);
}

Entry* MemoryTier::create(Namespace& ns, std::string_view key, ipc::Bytes value,
                          std::int64_t expires_at_ms, std::uint8_t flags) {
  const std::size_t size = sizeof(Entry) + key.size() + value.size();
  void* memory = ::operator new(size);
  if ((reinterpret_cast<std::uintptr_t>(memory) & ~kAddressMask) != 0) {
    // Never on Linux x86-64 (user space ends below 2^47 unless mmap is asked for more),
    // but the index could not hold it: fail this put rather than corrupt the index.
    ::operator delete(memory);
    throw std::bad_alloc();
  }
  auto* e = new (memory) Entry{&ns,
                               expires_at_ms,
                               static_cast<std::uint32_t>(value.size()),
                               static_cast<std::uint16_t>(key.size()),
                               EntryState::kDetached,
                               static_cast<std::uint8_t>(flags & ~Entry::kInIndex)};
  auto* data = reinterpret_cast<char*>(e + 1);
  std::memcpy(data, key.data(), key.size());
  if (!value.empty()) std::memcpy(data + key.size(), value.data(), value.size());
  ++ns.refs;
  const std::size_t cost = footprint(key.size(), value.size());
  bytes_ += cost;
  ++allocated_;
  ++ns.counters->memory_entries;
  ns.counters->memory_bytes += static_cast<std::int64_t>(cost);
  return e;
}

void MemoryTier::free_entry(Entry* e) {
  Namespace& ns = *e->ns;
  const std::size_t cost = footprint(e->key_size, e->value_size);
  bytes_ -= cost;
  --allocated_;
  --ns.counters->memory_entries;
  ns.counters->memory_bytes -= static_cast<std::int64_t>(cost);
  e->~Entry();
  ::operator delete(e);
  release_namespace(ns);
}

std::size_t MemoryTier::find_slot(const Namespace& ns, std::string_view key,
                                  std::uint64_t hash) const {
  const std::size_t mask = slots_.size() - 1;
  const std::uint64_t tag = tag_of_hash(hash);
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot s = slots_[i];
    if (s == 0) return npos;
    if (tag_of(s) != tag) continue;  // not this key: its entry is not read
    const Entry* e = entry_of(s);
    if (e->ns == &ns && e->key() == key) return i;
  }
}

std::size_t MemoryTier::slot_of(const Entry* e) const {
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = hash_key(*e->ns, e->key()) & mask;
  while (entry_of(slots_[i]) != e) i = (i + 1) & mask;
  return i;
}

std::size_t MemoryTier::distance_at(std::size_t i) const {
  const Slot s = slots_[i];
  const std::size_t stored = stored_distance(s);
  if (stored < kFarDistance) return stored;
  const Entry* e = entry_of(s);
  const std::size_t mask = slots_.size() - 1;
  return (i - (hash_key(*e->ns, e->key()) & mask)) & mask;
}

Entry* MemoryTier::find(Namespace& ns, std::string_view key) {
  if (ns.retired) return nullptr;
  const std::size_t i = find_slot(ns, key, hash_key(ns, key));
  return i == npos ? nullptr : entry_of(slots_[i]);
}

void MemoryTier::insert(Entry* e) {
  if ((indexed_ + 1) * 4 > slots_.size() * 3) grow();
  const std::uint64_t hash = hash_key(*e->ns, e->key());
  const std::size_t existing = find_slot(*e->ns, e->key(), hash);
  if (existing != npos) {
    Entry* old = entry_of(slots_[existing]);
    // Same key, so same tag and distance: only the address changes.
    slots_[existing] = (slots_[existing] & ~kAddressMask) | reinterpret_cast<std::uintptr_t>(e);
    e->flags |= Entry::kInIndex;
    old->flags = static_cast<std::uint8_t>((old->flags & ~Entry::kInIndex) | Entry::kSuperseded);
    detach(old);
    release(old);
    return;
  }
  place(e, hash);
  e->flags |= Entry::kInIndex;
  ++indexed_;
}

void MemoryTier::place(Entry* e, std::uint64_t hash) {
  const std::size_t mask = slots_.size() - 1;
  const std::size_t home = hash & mask;
  std::size_t i = home;
  while (slots_[i] != 0) i = (i + 1) & mask;
  slots_[i] = make_slot(e, tag_of_hash(hash), (i - home) & mask);
}

void MemoryTier::erase(Entry* e) {
  if (e->is(Entry::kInIndex)) {
    erase_slot(slot_of(e));
    e->flags &= static_cast<std::uint8_t>(~Entry::kInIndex);
    --indexed_;
  }
  detach(e);
  release(e);
}

void MemoryTier::erase_slot(std::size_t i) {
  // Backward-shift deletion keeps every probe sequence unbroken without tombstones. The
  // slots' distances say where each entry's home is: no entry is read (unless far).
  const std::size_t mask = slots_.size() - 1;
  slots_[i] = 0;
  for (std::size_t j = (i + 1) & mask; slots_[j] != 0; j = (j + 1) & mask) {
    const std::size_t distance = distance_at(j);
    const std::size_t gap = (j - i) & mask;
    // slots_[j] may fill the hole at i unless its home (j - distance) lies cyclically in
    // (i, j], that is unless it is fewer than `gap` slots from home.
    if (distance < gap) continue;
    slots_[i] = with_distance(slots_[j], distance - gap);
    slots_[j] = 0;
    i = j;
  }
}

void MemoryTier::grow() {
  std::vector<Slot> old(slots_.size() * 2, 0);
  old.swap(slots_);
  // Each key is hashed again (its new home needs a bit of the hash that the slot does not
  // keep): rare, and each entry is read once, as it would be for a stored hash.
  for (const Slot s : old) {
    if (s == 0) continue;
    Entry* e = entry_of(s);
    place(e, hash_key(*e->ns, e->key()));
  }
}

bool MemoryTier::index_consistent() const {
  const std::size_t mask = slots_.size() - 1;
  std::size_t count = 0;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    const Slot s = slots_[i];
    if (s == 0) continue;
    ++count;
    const Entry* e = entry_of(s);
    const std::uint64_t hash = hash_key(*e->ns, e->key());
    const std::size_t distance = (i - (hash & mask)) & mask;
    if (!e->is(Entry::kInIndex) || tag_of(s) != tag_of_hash(hash) ||
        stored_distance(s) != (distance < kFarDistance ? distance : kFarDistance))
      return false;
    for (std::size_t k = hash & mask; k != i; k = (k + 1) & mask)
      if (slots_[k] == 0) return false;
  }
  return count == indexed_;
}

void MemoryTier::link_clean(Entry* e) {
  assert(e->state == EntryState::kDetached && e->is(Entry::kInIndex));
  e->state = EntryState::kClean;
  e->flags |= Entry::kReferenced;
  ++clean_;
}

void MemoryTier::detach(Entry* e) {
  if (e->state != EntryState::kClean) return;
  e->state = EntryState::kDetached;
  --clean_;
}

void MemoryTier::release(Entry* e) {
  if (e->state == EntryState::kDetached && !e->is(Entry::kInIndex)) free_entry(e);
}

}  // namespace durationd::app::cache

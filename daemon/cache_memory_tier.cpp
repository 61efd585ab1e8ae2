#include "daemon/cache_memory_tier.hpp"

#include <cassert>
#include <cstring>
#include <new>

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
    : budget_(budget_bytes), slots_(kInitialSlots, nullptr) {}

MemoryTier::~MemoryTier() {
  // Whoever still holds entries (the cache's pipeline) has released them by now; what is
  // left is in the index.
  for (Entry* e : slots_)
    if (e != nullptr) free_entry(e);
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
  // glibc: the request plus an 8-byte header, rounded up to 16, at least 32 bytes.
  std::size_t chunk = (sizeof(Entry) + key_size + value_size + 8 + 15) & ~std::size_t{15};
  if (chunk < 32) chunk = 32;
  // The index slot (8 bytes) at its average load factor (between 3/8 and 3/4).
  return chunk + 14;
}

std::uint32_t MemoryTier::hash_key(const Namespace& ns, std::string_view key) {
  return static_cast<std::uint32_t>(mix(std::hash<std::string_view>{}(key) ^ ns.seed));
}

Entry* MemoryTier::create(Namespace& ns, std::string_view key, ipc::Bytes value,
                          std::int64_t expires_at_ms, std::uint8_t flags) {
  const std::size_t size = sizeof(Entry) + key.size() + value.size();
  void* memory = ::operator new(size);
  auto* e = new (memory) Entry{&ns,
                               expires_at_ms,
                               hash_key(ns, key),
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
                                  std::uint32_t hash) const {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const Entry* e = slots_[i];
    if (e == nullptr) return npos;
    if (e->hash == hash && e->ns == &ns && e->key() == key) return i;
  }
}

std::size_t MemoryTier::slot_of(const Entry* e) const {
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = e->hash & mask;
  while (slots_[i] != e) i = (i + 1) & mask;
  return i;
}

Entry* MemoryTier::find(Namespace& ns, std::string_view key) {
  if (ns.retired) return nullptr;
  const std::size_t i = find_slot(ns, key, hash_key(ns, key));
  return i == npos ? nullptr : slots_[i];
}

void MemoryTier::insert(Entry* e) {
  if ((indexed_ + 1) * 4 > slots_.size() * 3) grow();
  const std::size_t existing = find_slot(*e->ns, e->key(), e->hash);
  if (existing != npos) {
    Entry* old = slots_[existing];
    slots_[existing] = e;
    e->flags |= Entry::kInIndex;
    old->flags = static_cast<std::uint8_t>((old->flags & ~Entry::kInIndex) | Entry::kSuperseded);
    detach(old);
    release(old);
    return;
  }
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = e->hash & mask;
  while (slots_[i] != nullptr) i = (i + 1) & mask;
  slots_[i] = e;
  e->flags |= Entry::kInIndex;
  ++indexed_;
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
  // Backward-shift deletion keeps every probe sequence unbroken without tombstones.
  const std::size_t mask = slots_.size() - 1;
  slots_[i] = nullptr;
  for (std::size_t j = (i + 1) & mask; slots_[j] != nullptr; j = (j + 1) & mask) {
    const std::size_t home = slots_[j]->hash & mask;
    // slots_[j] may fill the hole at i unless its home lies cyclically in (i, j].
    const bool home_in_between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (home_in_between) continue;
    slots_[i] = slots_[j];
    slots_[j] = nullptr;
    i = j;
  }
}

void MemoryTier::grow() {
  std::vector<Entry*> old(slots_.size() * 2, nullptr);
  old.swap(slots_);
  const std::size_t mask = slots_.size() - 1;
  for (Entry* e : old) {
    if (e == nullptr) continue;
    std::size_t i = e->hash & mask;
    while (slots_[i] != nullptr) i = (i + 1) & mask;
    slots_[i] = e;
  }
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

// Process-wide malloc settings for the daemon (glibc), and what the cache's memory
// accounting assumes about them.
//
// Why: the cache's memory tier is a million small allocations (its entries), and the
// write-behind path makes a few big short-lived buffers beside them (a flush's batch of
// copied keys and values, up to 16 MiB, and its op list; the index when it doubles).
// glibc's default mmap threshold is dynamic: after the first big mmap()ed buffer is
// freed it rises to that buffer's size (up to 32 MiB), so every later batch is carved
// from the main heap between entries, and freeing it leaves a hole that stays resident
// (and the trim threshold rises with it). Measured with 1,000,000 entries of 100 bytes
// (bench/compare.sh's memory row): 26 to 44 MB of free heap still resident after the
// load, varying run to run with the batches' timing; a fixed threshold gives each such
// buffer its own mapping, returned to the kernel when freed, and the heap holds entries.
#pragma once

#include <cstddef>

namespace durationd::app {

// Allocations of at least this many bytes (glibc's own starting value) get their own
// mapping, always: the threshold no longer moves.
inline constexpr std::size_t kMmapThresholdBytes = 128 * 1024;

// Sets the fixed mmap threshold. Call once at start-up, before threads are started.
// Returns false if malloc refused (not glibc, or a sanitizer's allocator): harmless.
bool keep_large_allocations_off_the_heap();

}  // namespace durationd::app

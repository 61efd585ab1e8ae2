// keep_large_allocations_off_the_heap(): big buffers get their own mappings even after
// a bigger one was freed (glibc's dynamic threshold would have carved them from the heap),
// and MemoryTier::footprint() counts what such a mapping costs.
#include "daemon/heap_tuning.hpp"

#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "daemon/cache_memory_tier.hpp"
#include "tests/support/glibc_malloc.hpp"

using namespace durationd;
using namespace durationd::app;


TEST_CASE("heap tuning: buffers from 128 KiB on are mapped, even after a bigger one was freed") {
#if GLIBC_MALLOC
  // In a fresh process: what earlier tests left free in this one's heap could serve the
  // requests below without any mapping.
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::execl("/proc/self/exe", "unit_tests", "heap tuning: in a fresh process", "--warn", "NoTests",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
#else
  SUCCEED("not glibc's malloc");
#endif
}

TEST_CASE("heap tuning: in a fresh process", "[.]") {
  REQUIRE(keep_large_allocations_off_the_heap());
  // A batch-sized buffer comes and goes; glibc's default would now raise its threshold
  // to 8 MiB and serve the next ones from the heap.
  void* big = std::malloc(8 << 20);
  REQUIRE(big != nullptr);
  CHECK(malloc_usable_size(big) >= (8u << 20));  // (also: the pair is not optimised away)
  std::free(big);
  // (Just above the threshold a request may still be cut from the free end of the heap,
  // when that is big enough: 256 KiB is not, after a fresh start.)
  for (const std::size_t size : {std::size_t{1} << 20, 2 * kMmapThresholdBytes}) {
    const auto before = mallinfo2().hblks;
    void* p = std::malloc(size);
    REQUIRE(p != nullptr);
    CHECK(mallinfo2().hblks == before + 1);  // a mapping of its own
    const std::size_t mapped = malloc_usable_size(p) + 16;
    CHECK(mapped % 4096 == 0);
    CHECK(mapped - size < 4096 + 32);
    std::free(p);
    CHECK(mallinfo2().hblks == before);  // and given back at once
  }
  // Smaller ones stay in the heap.
  const auto before = mallinfo2().hblks;
  void* small = std::malloc(kMmapThresholdBytes - 4096);
  CHECK(malloc_usable_size(small) >= kMmapThresholdBytes - 4096);
  CHECK(mallinfo2().hblks == before);
  std::free(small);

  // The memory tier counts a mapped entry's whole pages.
  using cache::MemoryTier;
  MemoryTier tier(SIZE_MAX);
  cache::CacheCounters counters;
  cache::Namespace& ns = tier.acquire_namespace(0, "", counters);
  const std::string value(300'000, 'v');
  const auto mappings = mallinfo2().hblks;
  cache::Entry* e = tier.create(ns, "big", ipc::as_bytes(value), 0, 0);
  CHECK(mallinfo2().hblks == mappings + 1);
  // A mapped chunk: its usable bytes and a 16-byte header.
  CHECK(MemoryTier::footprint(3, value.size()) - 14 == malloc_usable_size(e) + 16);
  tier.release(e);
  tier.release_namespace(ns);
}

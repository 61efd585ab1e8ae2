#include "daemon/heap_tuning.hpp"

#include <malloc.h>

namespace durationd::app {

bool keep_large_allocations_off_the_heap() {
  // Setting it also turns off glibc's dynamic adjustment of the mmap and trim
  // thresholds (the trim threshold stays at its default, 128 KiB).
  return ::mallopt(M_MMAP_THRESHOLD, static_cast<int>(kMmapThresholdBytes)) == 1;
}

}  // namespace durationd::app

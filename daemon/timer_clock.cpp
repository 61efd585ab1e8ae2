#include "daemon/timer_clock.hpp"

#include <time.h>

#include <fstream>
#include <string>

namespace durationd::app {
namespace {

// tv_nsec is never negative, so this is a floor, also before the epoch.
std::int64_t to_ms(const timespec& ts) {
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

// The first 16 hex digits of the boot id (a random UUID), as a signed 64-bit value;
// 0 when it cannot be read.
std::int64_t read_boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string text;
  if (!(in >> text)) return 0;
  std::uint64_t v = 0;
  int digits = 0;
  for (char c : text) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      continue;  // the dashes
    }
    v = (v << 4) | static_cast<std::uint64_t>(d);
    if (++digits == 16) break;
  }
  if (v == 0) v = 1;  // 0 means "unknown"
  return static_cast<std::int64_t>(v);
}

}  // namespace

SystemTimerClock::SystemTimerClock() : boot_id_(read_boot_id()) {}

ClockReading SystemTimerClock::now() const {
  timespec wall{}, boot{};
  ::clock_gettime(CLOCK_REALTIME, &wall);
  ::clock_gettime(CLOCK_BOOTTIME, &boot);
  return {to_ms(wall), to_ms(boot)};
}

}  // namespace durationd::app

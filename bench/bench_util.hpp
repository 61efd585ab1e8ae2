// Small helpers every benchmark program here shares.
#pragma once

#include <time.h>

#include <charconv>
#include <cstdint>
#include <string_view>

namespace durationd::bench {

// CLOCK_MONOTONIC in nanoseconds: what latencies are measured with.
inline std::uint64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// A whole decimal number within [min, max], or false.
inline bool parse_number(std::string_view text, std::uint64_t min, std::uint64_t max, std::uint64_t& out) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < min || v > max) return false;
  out = v;
  return true;
}

}  // namespace durationd::bench

// The timer test's session: one running session of task "bench" for the peer's uid,
// opened before the test and stopped and deleted after it, so a benchmark leaves no
// trace in the user's history.
#pragma once

#include <cstdint>
#include <string>

#include "ipc/client.hpp"

namespace durationd::bench {

// A session keeps at most this many interruptions (README, "Limits beyond the
// contract"); past it the daemon answers CONFLICT, so the test moves to a new session.
inline constexpr std::uint32_t kMaxInterruptions = 10'000;

struct BenchSession {
  std::uint64_t id = 0;
  std::uint32_t interruptions = 0;  // already recorded
};

class BenchTimer {
 public:
  // Throws ConnectError when the daemon cannot be reached.
  explicit BenchTimer(const std::string& socket);

  // Starts a "bench" session. A uid has one active session at most: a "bench" one left
  // by an interrupted run is taken over; anyone else's is left alone and this throws.
  BenchSession open();
  // timer.stop, then timer.delete.
  void close(std::uint64_t id);

 private:
  ipc::Client client_;
};

}  // namespace durationd::bench

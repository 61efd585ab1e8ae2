// The two wire formats the load generator speaks: durationd's binary frames
// (protocol.md) and Redis RESP, so both servers are measured by the same client.
// Requests are encoded around their one varying part, the key, into a caller's buffer;
// replies are recognised in place. Neither allocates once the buffer is warm.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace durationd::bench {

enum class Wire : std::uint8_t { kDurationd, kRedis };

class RequestTemplate {
 public:
  static RequestTemplate ping(Wire wire);
  static RequestTemplate get(Wire wire);
  static RequestTemplate put(Wire wire, std::size_t value_size, bool durable);
  // durationd only; `brief`: ask for the session without its interruption list.
  static RequestTemplate interrupt(std::uint64_t session_id, bool brief);

  // Appends one request for key "key:<key>" (the key is ignored by unkeyed requests).
  void append(std::string& out, std::uint64_t key) const;
  std::size_t max_bytes() const { return prefix_.size() + suffix_.size() + 48; }

 private:
  RequestTemplate(Wire wire, bool keyed) : wire_(wire), keyed_(keyed) {}
  Wire wire_;
  bool keyed_;
  std::string prefix_;  // durationd: starts with the 4-byte length placeholder
  std::string suffix_;
};

enum class ReplyStatus : std::uint8_t { kNeedMore, kComplete, kMalformed };

struct ReplyScan {
  ReplyStatus status = ReplyStatus::kNeedMore;
  std::size_t bytes = 0;  // kComplete: the reply's size; kNeedMore: the size once known, else 0
  bool ok = false;        // kComplete: a success (not ok=false, -ERR or a miss)
};

// Looks for one complete reply at the start of `buffered`.
ReplyScan scan_reply(Wire wire, std::string_view buffered);

// A line for people about a reply that was not ok (only called for the first one).
std::string describe_failure(Wire wire, std::string_view reply);

}  // namespace durationd::bench

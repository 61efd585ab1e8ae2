// Security events: a small set of kinds with stable names and fixed 128-bit MESSAGE_IDs
// (journalctl MESSAGE_ID=... finds every instance across versions). Each event goes to
// journald with structured fields (sd_journal_send: MESSAGE, PRIORITY, MESSAGE_ID,
// SYSLOG_IDENTIFIER=durationd, DURATIOND_EVENT, DURATIOND_PEER_UID, DURATIOND_PEER_PID),
// or to stderr when no journal is there; and to a bounded ring for admin.events.
// A message never carries a secret, a passphrase or a cache value.
//
// A peer that repeats one kind of event is rate-limited: past a burst, its events are
// counted, not logged, and the next one logged says how many were suppressed.
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace durationd::app {

enum class SecurityEventKind : std::uint8_t {
  kPeerDenied,
  kAdminDenied,
  kBadFrame,
  kPayloadRejected,
  kIntegrityFailure,
  kWrongKey,
  kInsecureKeyFile,
  kKeyRotated,
  kBackupCreated,
  kDatabaseMigrated,
  kLimitExceeded,
};
inline constexpr std::size_t kSecurityEventKinds = 11;

struct SecurityEventKindInfo {
  std::string_view name;        // stable, e.g. "peer_denied"
  std::string_view message_id;  // 32 lower-case hex digits, fixed forever
  int priority;                 // syslog priority (4 warning, 5 notice, 3 error)
};

const SecurityEventKindInfo& info_of(SecurityEventKind kind);

struct SecurityEvent {
  std::chrono::system_clock::time_point at;
  SecurityEventKind kind;
  std::optional<uid_t> uid;  // the peer's, when there is one
  std::optional<pid_t> pid;
  std::string message;
};

// Where events are written. The default goes to journald when its socket exists and to
// stderr otherwise; tests may point it elsewhere.
struct SecurityEventSinkOptions {
  std::string journal_socket = "/run/systemd/journal/socket";
  std::size_t ring_capacity = 1000;
  std::size_t burst = 10;                         // events per peer and kind per window...
  std::chrono::milliseconds window{10'000};       // ...before the rest are only counted
};

// Thread-safe: ops on the event loop and integrity checks on worker threads record.
class SecurityLog {
 public:
  explicit SecurityLog(SecurityEventSinkOptions options = {});

  void record(SecurityEventKind kind, std::optional<uid_t> uid, std::optional<pid_t> pid, std::string message);

  // The most recent events, newest first.
  std::vector<SecurityEvent> recent(std::size_t limit) const;
  std::uint64_t total() const;
  std::array<std::uint64_t, kSecurityEventKinds> counts_by_kind() const;
  std::uint64_t suppressed() const;

 private:
  void write_out(const SecurityEvent& event, std::uint64_t suppressed_before);

  SecurityEventSinkOptions options_;
  mutable std::mutex mutex_;
  std::deque<SecurityEvent> ring_;  // guarded by mutex_
  std::uint64_t total_ = 0;
  std::uint64_t suppressed_ = 0;
  std::array<std::uint64_t, kSecurityEventKinds> by_kind_{};
  struct Window {
    std::chrono::steady_clock::time_point start;
    std::size_t logged = 0;
    std::uint64_t suppressed = 0;
  };
  std::map<std::pair<std::int64_t, SecurityEventKind>, Window> windows_;  // guarded by mutex_
};

}  // namespace durationd::app

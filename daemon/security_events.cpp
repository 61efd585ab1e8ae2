#include "daemon/security_events.hpp"

#include <sys/stat.h>
#include <systemd/sd-journal.h>

#include <spdlog/spdlog.h>

namespace durationd::app {
namespace {

// The MESSAGE_IDs were generated once at random (uuid4) and never change.
constexpr std::array<SecurityEventKindInfo, kSecurityEventKinds> kKinds{{
    {"peer_denied", "98fd600863a14d59ad7cc97a3a8c7a24", 4},
    {"admin_denied", "2505d8cb339b44d18baa5049cacc15a3", 4},
    {"bad_frame", "9cbe3d671135412eb9a9d6c706071d83", 5},
    {"payload_rejected", "62d3862b77384b8c99e7e39f3bac0c66", 5},
    {"integrity_failure", "003451d547e04ffc9fea9f4578c720cf", 3},
    {"wrong_key", "37ea6afab1b744f48485568dbbe7a71c", 3},
    {"insecure_key_file", "f4864e36bc424b2a9e203b4af48bbe82", 3},
    {"key_rotated", "679a6682714b444588f3cb99268ad79c", 5},
    {"backup_created", "d5e2c263192648419c6005ed81aafdc1", 6},
    {"database_migrated", "68c308aa567143319356cf4f1a0312dc", 5},
    {"limit_exceeded", "75340023ae604035b82e430c77b04bac", 4},
}};

bool journal_available(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

}  // namespace

const SecurityEventKindInfo& info_of(SecurityEventKind kind) { return kKinds[static_cast<std::size_t>(kind)]; }

SecurityLog::SecurityLog(SecurityEventSinkOptions options) : options_(std::move(options)) {}

void SecurityLog::record(SecurityEventKind kind, std::optional<uid_t> uid, std::optional<pid_t> pid,
                         std::string message) {
  SecurityEvent event{std::chrono::system_clock::now(), kind, uid, pid, std::move(message)};
  std::uint64_t suppressed_before = 0;
  {
    std::lock_guard lock(mutex_);
    ++total_;
    ++by_kind_[static_cast<std::size_t>(kind)];
    // Rate limit per peer uid (-1: no peer) and kind, in fixed windows.
    const auto now = std::chrono::steady_clock::now();
    Window& w = windows_[{uid ? static_cast<std::int64_t>(*uid) : -1, kind}];
    if (now - w.start >= options_.window) w = Window{now, 0, w.suppressed};
    if (w.logged >= options_.burst) {
      ++w.suppressed;
      ++suppressed_;
      return;
    }
    ++w.logged;
    suppressed_before = std::exchange(w.suppressed, 0);
    ring_.push_front(event);
    if (ring_.size() > options_.ring_capacity) ring_.pop_back();
  }
  write_out(event, suppressed_before);
}

void SecurityLog::write_out(const SecurityEvent& event, std::uint64_t suppressed_before) {
  const auto& kind = info_of(event.kind);
  std::string message = event.message;
  if (suppressed_before > 0)
    message += " (" + std::to_string(suppressed_before) + " similar events from this peer were suppressed)";
  const std::string uid = event.uid ? std::to_string(*event.uid) : "";
  const std::string pid = event.pid ? std::to_string(*event.pid) : "";
  if (journal_available(options_.journal_socket)) {
    // sd_journal_send always targets /run/systemd/journal/socket (tests move /run into
    // a private tmpfs to read it back).
    const int rc = sd_journal_send("MESSAGE=%s", message.c_str(), "PRIORITY=%d", kind.priority, "MESSAGE_ID=%.*s",
                                   static_cast<int>(kind.message_id.size()), kind.message_id.data(),
                                   "SYSLOG_IDENTIFIER=durationd", "DURATIOND_EVENT=%.*s",
                                   static_cast<int>(kind.name.size()), kind.name.data(), "DURATIOND_PEER_UID=%s",
                                   uid.c_str(), "DURATIOND_PEER_PID=%s", pid.c_str(), "DURATIOND_SUPPRESSED=%llu",
                                   static_cast<unsigned long long>(suppressed_before), nullptr);
    if (rc >= 0) return;
  }
  spdlog::warn("security event {}: {} (uid {}, pid {})", kind.name, message, uid.empty() ? "-" : uid,
               pid.empty() ? "-" : pid);
}

std::vector<SecurityEvent> SecurityLog::recent(std::size_t limit) const {
  std::lock_guard lock(mutex_);
  return {ring_.begin(), ring_.begin() + static_cast<std::ptrdiff_t>(std::min(limit, ring_.size()))};
}

std::uint64_t SecurityLog::total() const {
  std::lock_guard lock(mutex_);
  return total_;
}

std::array<std::uint64_t, kSecurityEventKinds> SecurityLog::counts_by_kind() const {
  std::lock_guard lock(mutex_);
  return by_kind_;
}

std::uint64_t SecurityLog::suppressed() const {
  std::lock_guard lock(mutex_);
  return suppressed_;
}

}  // namespace durationd::app

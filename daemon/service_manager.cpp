#include "daemon/service_manager.hpp"

#include <systemd/sd-daemon.h>

#include <sys/socket.h>

#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>

namespace durationd::app {
namespace {

void notify(const std::string& state) {
  // unset_environment = 0: children we never start would not need it, and tests read
  // NOTIFY_SOCKET again after a reload.
  ::sd_notify(0, state.c_str());
}

}  // namespace

void notify_ready(std::string_view status) { notify("READY=1\nSTATUS=" + std::string(status)); }
void notify_status(std::string_view status) { notify("STATUS=" + std::string(status)); }
void notify_stopping(std::string_view status) { notify("STOPPING=1\nSTATUS=" + std::string(status)); }

void notify_watchdog() { notify("WATCHDOG=1"); }

std::optional<int> socket_from_manager() {
  // unset_environment = 1: LISTEN_FDS must not leak into anything we might start.
  const int n = ::sd_listen_fds(1);
  if (n == 0) return std::nullopt;
  if (n < 0) throw std::runtime_error("socket activation: " + std::string(std::strerror(-n)));
  if (n != 1)
    throw std::runtime_error("socket activation: expected one socket, got " + std::to_string(n) +
                             " (durationd.socket has one ListenStream=)");
  const int fd = SD_LISTEN_FDS_START;
  if (::sd_is_socket_unix(fd, SOCK_STREAM, 1, nullptr, 0) <= 0)
    throw std::runtime_error("socket activation: the socket handed over is not a listening Unix stream socket");
  return fd;
}

std::optional<std::chrono::microseconds> watchdog_interval() {
  std::uint64_t usec = 0;
  if (::sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec);
}

void notify_reloading() {
  // MONOTONIC_USEC: systemd 253+ (Type=notify-reload) requires it; 252 ignores it.
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const auto usec = static_cast<long long>(now.tv_sec) * 1'000'000 + now.tv_nsec / 1'000;
  notify("RELOADING=1\nSTATUS=reloading the configuration\nMONOTONIC_USEC=" + std::to_string(usec));
}

}  // namespace durationd::app

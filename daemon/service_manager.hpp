// Talking to the service manager (sd_notify): READY, STATUS, STOPPING, RELOADING. A no-op when
// NOTIFY_SOCKET is not set, so the same binary runs under systemd and in a terminal.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace durationd::app {

void notify_ready(std::string_view status);
void notify_status(std::string_view status);
void notify_stopping(std::string_view status);
// Around a SIGHUP reload: RELOADING=1 now, notify_ready() when done.
void notify_reloading();
void notify_watchdog();

// The listening socket systemd handed us (socket activation, LISTEN_FDS), or nullopt.
// Throws std::runtime_error if it handed anything but one listening Unix stream socket.
std::optional<int> socket_from_manager();

// WatchdogSec= of the unit (WATCHDOG_USEC), or nullopt when no watchdog is armed.
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace durationd::app

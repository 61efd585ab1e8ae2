// Talking to the service manager (sd_notify): READY, STATUS, STOPPING, RELOADING. A no-op when
// NOTIFY_SOCKET is not set, so the same binary runs under systemd and in a terminal.
#pragma once

#include <string_view>

namespace durationd::app {

void notify_ready(std::string_view status);
void notify_status(std::string_view status);
void notify_stopping(std::string_view status);
// Around a SIGHUP reload: RELOADING=1 now, notify_ready() when done.
void notify_reloading();

}  // namespace durationd::app

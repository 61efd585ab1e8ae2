// The ordinary log (spdlog). Security events have their own path (security_events.hpp).
#pragma once

#include <string_view>

namespace durationd::app {

// Under systemd (JOURNAL_STREAM set, not --foreground) the log goes to journald with
// its priority (spdlog's systemd sink); otherwise to stderr, coloured on a terminal.
void setup_logging(std::string_view level, bool foreground);

// Changes the level of the running logger (SIGHUP re-reads it from the config).
void set_log_level(std::string_view level);

}  // namespace durationd::app

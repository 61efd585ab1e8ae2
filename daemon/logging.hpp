// The ordinary log (spdlog). Security events have their own path (issue 6).
#pragma once

#include <string_view>

namespace durationd::app {

// Logs to stderr; under a service manager without a terminal, without colours or
// timestamps (the journal adds its own).
void setup_logging(std::string_view level, bool foreground);

}  // namespace durationd::app

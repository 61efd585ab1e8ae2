// Running the daemon: start-up, the event loop, and a graceful stop.
#pragma once

#include "daemon/options.hpp"

namespace durationd::app {

// Returns the process exit code. Throws std::runtime_error for a start-up failure,
// whose message is the one clear line printed before exiting non-zero.
int serve(const Options& options);

}  // namespace durationd::app

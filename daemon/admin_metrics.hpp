// admin.metrics: the daemon's counters in the OpenMetrics text format, for Prometheus
// or any scraper (an extension of protocol.md; see docs/protocol-extensions.md).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "daemon/family.hpp"

namespace durationd::app {

// Everything admin.metrics reports, read from memory on the event loop.
std::string render_metrics(const AppContext& context, const std::vector<std::unique_ptr<Family>>& families,
                           std::chrono::steady_clock::duration uptime);

}  // namespace durationd::app

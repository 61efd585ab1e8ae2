// durationctl timer ...: start, pause, resume, interrupt, stop, get, list, stats,
// export and delete (ctl_timer.cpp).
#pragma once

#include <vector>

#include "daemon/ctl_support.hpp"

namespace durationd::ctl {

void add_timer_commands(std::vector<Command>& commands);

}  // namespace durationd::ctl

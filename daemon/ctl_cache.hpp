// durationctl cache get|put|del|clear|stats (ctl_cache.cpp).
#pragma once

#include <vector>

#include "daemon/ctl_support.hpp"

namespace durationd::ctl {

void add_cache_commands(std::vector<Command>& commands);

}  // namespace durationd::ctl

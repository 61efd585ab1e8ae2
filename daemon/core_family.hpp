// The protocol's own ops: ping and hello.
#pragma once

#include <cstdint>

#include "daemon/op_registry.hpp"

namespace durationd::app {

void register_core_family(OpRegistry& registry, std::uint32_t max_frame);

}  // namespace durationd::app

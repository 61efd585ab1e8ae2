// The timer family: timer.start, pause, resume, interrupt, stop, get, list, stats and
// delete (protocol.md, "Timer sessions"), for the focus tool.
//
// Writes: validated and applied in memory on the event loop by the TimerEngine, then
// committed through AppContext::timer_writer (group commit, synchronous = FULL); the
// response is sent only after the commit. Reads: on the worker pool, each with a
// pooled timers.db connection, never on the event loop.
#pragma once

#include <memory>

#include "daemon/family.hpp"
#include "daemon/op_registry.hpp"
#include "daemon/timer_clock.hpp"

namespace durationd::app {

// Loads the active sessions from timers.db (blocking; call at start-up). Throws
// std::runtime_error if the database cannot be read. `clock` defaults to the system's.
std::unique_ptr<Family> make_timer_family(OpRegistry& registry, AppContext& context,
                                          std::unique_ptr<TimerClock> clock = nullptr);

}  // namespace durationd::app

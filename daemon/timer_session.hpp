// A focus-timer session as the daemon holds it, and its wire form (protocol.md, "Timer
// sessions"): {id, task, tags, state, started_at, ended_at, planned_ms, active_ms,
// paused_ms, interruptions, focus, note}.
//
// Time model. A session is a sequence of segments, each running or paused; only the
// last one (the open segment) can still grow. Closed segments are summed into
// active_ms / paused_ms, each measured as the difference of two CLOCK_BOOTTIME readings
// (timer_clock.hpp), so they can never be negative. The open segment is kept as the
// wall time and the boot-clock reading at its start, with the boot it belongs to; its
// length "now" is boot_now - seg_boot, or — if the boot has changed (the machine
// rebooted while the session was open) — wall_now - seg_wall clamped at zero.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/timer_clock.hpp"
#include "ipc/msgpack_writer.hpp"

namespace durationd::app {

enum class SessionState : std::uint8_t { kRunning = 0, kPaused = 1, kCompleted = 2, kAbandoned = 3 };

std::string_view state_name(SessionState state);
std::optional<SessionState> parse_state(std::string_view name);
inline bool is_active(SessionState s) { return s == SessionState::kRunning || s == SessionState::kPaused; }

// Limits of the contract, and two of ours.
inline constexpr std::size_t kMaxTaskBytes = 256;
inline constexpr std::size_t kMaxTagBytes = 64;
inline constexpr std::size_t kMaxTags = 16;
inline constexpr std::size_t kMaxNoteBytes = 4096;
inline constexpr std::size_t kMaxReasonBytes = 256;
// Ours: a session's map must fit in one response frame (16 MiB) even with every reason
// at its 256-byte limit, so a session keeps at most this many interruptions.
inline constexpr std::uint32_t kMaxInterruptions = 10'000;
// Ours: planned_ms up to ~31 years, so sums over many sessions cannot overflow.
inline constexpr std::uint64_t kMaxPlannedMs = 1'000'000'000'000;

struct Session {
  std::int64_t id = 0;
  std::uint32_t uid = 0;
  std::string task;
  std::string tags;  // the msgpack array of tag strings, exactly as sent back
  SessionState state = SessionState::kRunning;
  std::int64_t started_at = 0;  // wall ms
  std::optional<std::int64_t> ended_at;
  std::optional<std::int64_t> planned_ms;
  std::int64_t active_ms = 0;  // closed running segments
  std::int64_t paused_ms = 0;  // closed pauses
  // The open segment (running or paused sessions only).
  std::int64_t seg_wall = 0;
  std::int64_t seg_boot = 0;
  std::int64_t boot_id = 0;
  std::int64_t pauses = 0;  // pause intervals so far (the open one included)
  std::uint32_t interruption_count = 0;
  std::string interruptions;  // `interruption_count` packed {at, reason} maps, back to back
  std::optional<std::uint8_t> focus;
  std::string note;
  std::int64_t rev = 0;  // write guard (timer_engine.hpp)

  // The open segment's length at `now` (0 for an ended session).
  std::int64_t open_segment_ms(ClockReading now, std::int64_t current_boot) const;
  // active_ms and paused_ms "up to now".
  std::int64_t active_at(ClockReading now, std::int64_t current_boot) const;
  std::int64_t paused_at(ClockReading now, std::int64_t current_boot) const;
};

// The segment length rule shared by memory and SQL readers (see the file comment).
std::int64_t open_segment_ms(std::int64_t seg_wall, std::int64_t seg_boot, std::int64_t seg_boot_id, ClockReading now,
                             std::int64_t current_boot);

// Milliseconds since the epoch as the contract's timestamp.
void pack_ms_timestamp(ipc::MsgpackWriter& w, std::int64_t ms);
// One {at, reason} map.
void pack_interruption(ipc::MsgpackWriter& w, std::int64_t at_ms, std::string_view reason);
// How much of a session a response carries: the whole map, as the contract says, or, for
// a write that asked for `brief` (an extension, docs/protocol-extensions.md), the map
// with `interruption_count` in place of the `interruptions` list, which grows with every
// interruption and would otherwise make each write's answer larger than the last.
enum class SessionDetail : std::uint8_t { kFull, kBrief };

// The session map, with active_ms / paused_ms counted up to `now`.
void pack_session(ipc::MsgpackWriter& w, const Session& s, ClockReading now, std::int64_t current_boot,
                  SessionDetail detail = SessionDetail::kFull);

}  // namespace durationd::app

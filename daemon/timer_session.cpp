#include "daemon/timer_session.hpp"

#include <algorithm>
#include <array>

#include "ipc/timestamp.hpp"

namespace durationd::app {
namespace {

constexpr std::array<std::string_view, 4> kStateNames{"running", "paused", "completed", "abandoned"};

}  // namespace

std::string_view state_name(SessionState state) { return kStateNames[static_cast<std::size_t>(state)]; }

std::optional<SessionState> parse_state(std::string_view name) {
  for (std::size_t i = 0; i < kStateNames.size(); ++i)
    if (kStateNames[i] == name) return static_cast<SessionState>(i);
  return std::nullopt;
}

std::int64_t open_segment_ms(std::int64_t seg_wall, std::int64_t seg_boot, std::int64_t seg_boot_id, ClockReading now,
                             std::int64_t current_boot) {
  // Same boot: the boot clock is exact and immune to wall-clock jumps. A boot clock
  // behind the stored reading also means another boot (when the boot id is unknown).
  if (seg_boot_id == current_boot && now.boot_ms >= seg_boot) return now.boot_ms - seg_boot;
  return std::max<std::int64_t>(0, now.wall_ms - seg_wall);
}

std::int64_t Session::open_segment_ms(ClockReading now, std::int64_t current_boot) const {
  if (!is_active(state)) return 0;
  return app::open_segment_ms(seg_wall, seg_boot, boot_id, now, current_boot);
}

std::int64_t Session::active_at(ClockReading now, std::int64_t current_boot) const {
  return active_ms + (state == SessionState::kRunning ? open_segment_ms(now, current_boot) : 0);
}

std::int64_t Session::paused_at(ClockReading now, std::int64_t current_boot) const {
  return paused_ms + (state == SessionState::kPaused ? open_segment_ms(now, current_boot) : 0);
}

void pack_ms_timestamp(ipc::MsgpackWriter& w, std::int64_t ms) {
  std::int64_t seconds = ms / 1000;
  std::int64_t rest = ms % 1000;
  if (rest < 0) {
    rest += 1000;
    --seconds;
  }
  ipc::pack_timestamp(w, {seconds, static_cast<std::uint32_t>(rest) * 1'000'000});
}

void pack_interruption(ipc::MsgpackWriter& w, std::int64_t at_ms, std::string_view reason) {
  w.pack_map(2);
  ipc::pack_str(w, "at");
  pack_ms_timestamp(w, at_ms);
  ipc::pack_str(w, "reason");
  ipc::pack_str(w, reason);
}

void pack_session(ipc::MsgpackWriter& w, const Session& s, ClockReading now, std::int64_t current_boot,
                  SessionDetail detail) {
  w.pack_map(12);
  ipc::pack_str(w, "id");
  w.pack_int64(s.id);
  ipc::pack_str(w, "task");
  ipc::pack_str(w, s.task);
  ipc::pack_str(w, "tags");
  if (s.tags.empty()) {
    w.pack_array(0);
  } else {
    ipc::append_raw(w, s.tags);
  }
  ipc::pack_str(w, "state");
  ipc::pack_str(w, state_name(s.state));
  ipc::pack_str(w, "started_at");
  pack_ms_timestamp(w, s.started_at);
  ipc::pack_str(w, "ended_at");
  if (s.ended_at) {
    pack_ms_timestamp(w, *s.ended_at);
  } else {
    w.pack_nil();
  }
  ipc::pack_str(w, "planned_ms");
  if (s.planned_ms) {
    w.pack_int64(*s.planned_ms);
  } else {
    w.pack_nil();
  }
  ipc::pack_str(w, "active_ms");
  w.pack_int64(s.active_at(now, current_boot));
  ipc::pack_str(w, "paused_ms");
  w.pack_int64(s.paused_at(now, current_boot));
  if (detail == SessionDetail::kBrief) {
    ipc::pack_str(w, "interruption_count");
    w.pack_uint32(s.interruption_count);
  } else {
    ipc::pack_str(w, "interruptions");
    w.pack_array(s.interruption_count);
    ipc::append_raw(w, s.interruptions);
  }
  ipc::pack_str(w, "focus");
  if (s.focus) {
    w.pack_uint8(*s.focus);
  } else {
    w.pack_nil();
  }
  ipc::pack_str(w, "note");
  ipc::pack_str(w, s.note);
}

}  // namespace durationd::app

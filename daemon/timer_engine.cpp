#include "daemon/timer_engine.hpp"

#include <algorithm>

namespace durationd::app {
using ipc::WireCode;
using storage::Connection;
using storage::Result;

namespace {

std::string describe(const Session& s) {
  return "session " + std::to_string(s.id) + " is " + std::string(state_name(s.state));
}

// What a job needs of a session: all of it but the interruptions, which can be long.
Session row_of(Session& s) {
  std::string interruptions = std::move(s.interruptions);
  Session row = s;
  s.interruptions = std::move(interruptions);
  return row;
}

}  // namespace

std::vector<Session> TimerEngine::adopt(TimerSnapshot snapshot) {
  const ClockReading now = clock_.now();
  std::vector<Session> rebased;
  last_id_ = std::max(last_id_, snapshot.last_id);
  last_started_ = std::max(last_started_, snapshot.last_started);
  last_rev_ = std::max(last_rev_, snapshot.max_rev);
  for (auto& s : snapshot.active) {
    if (rebase(s, now)) rebased.push_back(s);
    const std::uint32_t uid = s.uid;
    active_.insert_or_assign(uid, std::move(s));
  }
  return rebased;
}

bool TimerEngine::rebase(Session& s, ClockReading now) const {
  const std::int64_t boot = clock_.boot_id();
  if (!is_active(s.state) || (s.boot_id == boot && now.boot_ms >= s.seg_boot)) return false;
  const std::int64_t elapsed = s.open_segment_ms(now, boot);  // the wall-clock rule
  s.seg_boot = now.boot_ms - elapsed;
  s.boot_id = boot;
  return true;
}

std::uint64_t TimerEngine::epoch(std::uint32_t uid) const {
  const auto it = epochs_.find(uid);
  return it == epochs_.end() ? 0 : it->second;
}

void TimerEngine::install(std::uint32_t uid, std::uint64_t at_epoch, std::optional<Session> loaded) {
  if (!stale_.contains(uid) || epoch(uid) != at_epoch) return;
  stale_.erase(uid);
  if (!loaded) return;
  rebase(*loaded, clock_.now());
  last_rev_ = std::max(last_rev_, loaded->rev);
  active_.insert_or_assign(uid, std::move(*loaded));
}

void TimerEngine::write_failed(std::uint32_t uid, std::uint64_t at_epoch) {
  if (epoch(uid) != at_epoch) return;  // already dropped (and maybe reloaded) since
  ++epochs_[uid];
  active_.erase(uid);
  stale_.insert(uid);
}

const Session* TimerEngine::active(std::uint32_t uid) const {
  const auto it = active_.find(uid);
  return it == active_.end() ? nullptr : &it->second;
}

std::size_t TimerEngine::running_count() const {
  return static_cast<std::size_t>(std::count_if(active_.begin(), active_.end(), [](const auto& e) {
    return e.second.state == SessionState::kRunning;
  }));
}

Mutation TimerEngine::refused(WireCode code, std::string message) {
  Mutation m;
  m.kind = Mutation::Kind::kRefused;
  m.error = {code, std::move(message)};
  return m;
}

Mutation TimerEngine::applied(std::uint32_t uid, ClockReading now, const Session* live,
                              storage::GroupCommitter::Job job) {
  Mutation m;
  m.kind = Mutation::Kind::kApplied;
  m.now = now;
  m.epoch = epoch(uid);
  m.live = live;
  m.job = std::move(job);
  return m;
}

Session* TimerEngine::find_active(std::uint32_t uid, std::int64_t id, Mutation& out) {
  const auto it = active_.find(uid);
  if (it == active_.end() || it->second.id != id) {
    out.kind = Mutation::Kind::kNotActive;
    return nullptr;
  }
  return &it->second;
}

Mutation TimerEngine::start(std::uint32_t uid, const StartArgs& args) {
  if (const auto it = active_.find(uid); it != active_.end())
    return refused(WireCode::kConflict, describe(it->second) + "; stop it before starting another");

  const ClockReading now = clock_.now();
  Session s;
  s.id = ++last_id_;
  s.uid = uid;
  s.task = args.task;
  // Tags are a set: the first of duplicates is kept, in the order given.
  std::vector<std::string> tags;
  for (auto tag : args.tags)
    if (std::find(tags.begin(), tags.end(), tag) == tags.end()) tags.emplace_back(tag);
  {
    ipc::StringSink sink(s.tags);
    ipc::MsgpackWriter w(sink);
    w.pack_array(static_cast<std::uint32_t>(tags.size()));
    for (const auto& tag : tags) ipc::pack_str(w, tag);
  }
  s.state = SessionState::kRunning;
  // ids grow with started_at: a wall clock set back must not break that order.
  s.started_at = std::max(now.wall_ms, last_started_);
  last_started_ = s.started_at;
  s.planned_ms = args.planned_ms;
  s.seg_wall = s.started_at;
  s.seg_boot = now.boot_ms;
  s.boot_id = clock_.boot_id();
  s.note = args.note;
  s.rev = ++last_rev_;

  auto [it, inserted] = active_.emplace(uid, std::move(s));
  const Session& live = it->second;
  return applied(uid, now, &live, [&store = store_, row = live, tags = std::move(tags)](Connection& c) -> Result<void> {
    return store.insert_session(c, row, tags);
  });
}

Mutation TimerEngine::pause(std::uint32_t uid, std::int64_t id) {
  Mutation m;
  Session* s = find_active(uid, id, m);
  if (!s) return m;
  if (s->state == SessionState::kPaused) return refused(WireCode::kConflict, describe(*s) + " already");
  const ClockReading now = clock_.now();
  const std::int64_t boot = clock_.boot_id();
  s->active_ms += s->open_segment_ms(now, boot);
  s->state = SessionState::kPaused;
  s->seg_wall = clamp_wall(*s, now);
  s->seg_boot = now.boot_ms;
  s->boot_id = boot;
  ++s->pauses;
  const std::int64_t expected = s->rev;
  s->rev = ++last_rev_;
  return applied(uid, now, s, [&store = store_, row = row_of(*s), expected](Connection& c) -> Result<void> {
    return store.write_pause(c, row, expected);
  });
}

Mutation TimerEngine::resume(std::uint32_t uid, std::int64_t id) {
  Mutation m;
  Session* s = find_active(uid, id, m);
  if (!s) return m;
  if (s->state != SessionState::kPaused) return refused(WireCode::kConflict, describe(*s) + ", not paused");
  const ClockReading now = clock_.now();
  const std::int64_t boot = clock_.boot_id();
  const std::int64_t pause_ms = s->open_segment_ms(now, boot);
  const std::int64_t pause_end = clamp_wall(*s, now);
  s->paused_ms += pause_ms;
  s->state = SessionState::kRunning;
  s->seg_wall = pause_end;
  s->seg_boot = now.boot_ms;
  s->boot_id = boot;
  const std::int64_t expected = s->rev;
  s->rev = ++last_rev_;
  return applied(uid, now, s, [&store = store_, row = row_of(*s), expected, pause_end, pause_ms](Connection& c) -> Result<void> {
    return store.write_resume(c, row, expected, pause_end, pause_ms);
  });
}

Mutation TimerEngine::interrupt(std::uint32_t uid, std::int64_t id, std::string_view reason) {
  Mutation m;
  Session* s = find_active(uid, id, m);
  if (!s) return m;
  if (s->interruption_count >= kMaxInterruptions)
    return refused(WireCode::kConflict, "session " + std::to_string(id) + " already has " +
                                            std::to_string(kMaxInterruptions) +
                                            " interruptions, the most one session keeps");
  const ClockReading now = clock_.now();
  const std::int64_t at = clamp_wall(*s, now);
  {
    ipc::StringSink sink(s->interruptions);
    ipc::MsgpackWriter w(sink);
    pack_interruption(w, at, reason);
  }
  // The row's rev stays: the hot path only appends (timer_store.cpp); the guards of
  // later writes count the interruptions instead.
  const std::uint32_t seq = ++s->interruption_count;
  return applied(uid, now, s,
                 [&store = store_, key = SessionKey{uid, s->started_at, id}, seq, at, reason = std::string(reason),
                  rev = s->rev](Connection& c) -> Result<void> {
                   return store.write_interruption(c, key, seq, at, reason, rev);
                 });
}

Mutation TimerEngine::stop(std::uint32_t uid, std::int64_t id, const StopArgs& args) {
  Mutation m;
  Session* s = find_active(uid, id, m);
  if (!s) return m;
  const ClockReading now = clock_.now();
  const std::int64_t boot = clock_.boot_id();
  const std::int64_t segment = s->open_segment_ms(now, boot);
  const bool was_paused = s->state == SessionState::kPaused;
  (was_paused ? s->paused_ms : s->active_ms) += segment;
  s->state = args.outcome;
  s->ended_at = clamp_wall(*s, now);
  s->focus = args.focus;
  if (args.note) s->note = *args.note;
  const std::int64_t expected = s->rev;
  s->rev = ++last_rev_;

  Mutation out = applied(uid, now, nullptr, {});
  out.ended = std::move(*s);
  active_.erase(uid);
  out.job = [&store = store_, row = row_of(*out.ended), expected, was_paused, segment](Connection& c) -> Result<void> {
    return store.write_stop(c, row, expected, was_paused, segment);
  };
  return out;
}

Mutation TimerEngine::remove(std::uint32_t uid, std::int64_t id, std::shared_ptr<bool> deleted) {
  const ClockReading now = clock_.now();
  if (const auto it = active_.find(uid); it != active_.end() && it->second.id == id) active_.erase(it);
  Mutation m = applied(uid, now, nullptr, {});
  m.job = [&store = store_, uid, id, deleted = std::move(deleted)](Connection& c) -> Result<void> {
    auto r = store.delete_session(c, uid, id);
    if (!r) return r.error();
    *deleted = *r;
    return {};
  };
  return m;
}

}  // namespace durationd::app

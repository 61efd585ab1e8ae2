// The timer state machine: running <-> paused -> completed | abandoned, at most one
// running or paused ("active") session per uid.
//
// The engine keeps every active session in memory, whole (interruptions included), and
// is driven from the event loop only (not thread-safe). A write op is validated and
// applied to memory at once, which serializes the ops of a uid without locks, and
// yields a Mutation: the session as the op leaves it (packed into the response right
// away) and a Job for the group committer. The response is sent only after that job
// has committed (synchronous = FULL). Nothing is read back from the database on the
// write path, so an interrupt costs one guarded INSERT however long the session is.
//
// Memory runs ahead of the disk by the jobs in flight. If one fails, memory is wrong
// for that uid: write_failed() drops it, and the next op reloads it from the database
// (needs_reload / install). Jobs already queued on top of the failed one must not
// apply, so every write is guarded by what the engine believed was on disk: the row's
// `rev` (pause, resume and stop set it to a number the engine never hands out twice)
// and the number of interruptions stored (an interrupt appends row n only after row
// n-1). A job built on a write that never committed finds something else and fails,
// writing nothing. The one-active-session rule is also a unique index in the
// database, so a start can never slip past a failed stop.
//
// Clocks (timer_clock.hpp): timestamps are wall-clock readings, clamped so that a
// session never ends, pauses or is interrupted before it started, and started_at never
// goes below the previous session's (ids grow with started_at, as the contract says).
// Durations are boot-clock differences and so never negative, whatever the wall clock
// does. A session open across a daemon restart keeps counting: the boot clock reading
// at the open segment's start is stored. Across a reboot that reading means nothing;
// the open segment is then measured with the wall clock (downtime counts in the
// session's current state, clamped at zero) and moved onto the new boot's clock.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "daemon/timer_clock.hpp"
#include "daemon/timer_session.hpp"
#include "daemon/timer_store.hpp"
#include "ipc/wire_error.hpp"
#include "storage/group_commit.hpp"

namespace durationd::app {

struct Mutation {
  enum class Kind {
    kApplied,    // memory changed; commit `job`, then answer with session()
    kRefused,    // answer `error`; nothing changed
    kNotActive,  // the id is not this uid's active session: ask the database whether it
                 // is an ended one (CONFLICT) or none of this uid's (NOT_FOUND)
  };
  Kind kind = Kind::kRefused;
  ipc::WireError error;
  storage::GroupCommitter::Job job;
  ClockReading now;          // the op's time: "up to now" in the response means this
  std::uint64_t epoch = 0;   // pass back to write_failed()
  const Session* live = nullptr;  // the session, still in memory (valid until the next engine call)
  std::optional<Session> ended;   // the session, having left memory (stop, delete)

  const Session& session() const { return ended ? *ended : *live; }
};

struct StartArgs {
  std::string_view task;
  std::vector<std::string_view> tags;
  std::optional<std::int64_t> planned_ms;
  std::string_view note;
};

struct StopArgs {
  SessionState outcome = SessionState::kCompleted;
  std::optional<std::uint8_t> focus;
  std::optional<std::string_view> note;  // replaces the note when given
};

class TimerEngine {
 public:
  TimerEngine(const TimerClock& clock, TimerStore& store) : clock_(clock), store_(store) {}

  // Start-up: takes the database's active sessions. Returns the ones whose open
  // segment was moved from another boot's clock onto this one's (to be persisted with
  // TimerStore::write_rebase before serving).
  std::vector<Session> adopt(TimerSnapshot snapshot);

  bool needs_reload(std::uint32_t uid) const { return stale_.contains(uid); }
  std::uint64_t epoch(std::uint32_t uid) const;
  // A reload that began at `epoch` read `active` from the database: install it, unless
  // memory moved on meanwhile.
  void install(std::uint32_t uid, std::uint64_t epoch, std::optional<Session> active);
  // The job of a mutation made at `epoch` failed: forget the uid's memory (once).
  void write_failed(std::uint32_t uid, std::uint64_t epoch);

  Mutation start(std::uint32_t uid, const StartArgs& args);
  Mutation pause(std::uint32_t uid, std::int64_t id);
  Mutation resume(std::uint32_t uid, std::int64_t id);
  Mutation interrupt(std::uint32_t uid, std::int64_t id, std::string_view reason);
  Mutation stop(std::uint32_t uid, std::int64_t id, const StopArgs& args);
  // timer.delete. The job sets *deleted to whether the database held the session.
  Mutation remove(std::uint32_t uid, std::int64_t id, std::shared_ptr<bool> deleted);

  const Session* active(std::uint32_t uid) const;
  std::size_t active_count() const { return active_.size(); }
  std::size_t running_count() const;
  const TimerClock& clock() const { return clock_; }

 private:
  // Moves an open segment of another boot onto this boot's clock; true if it did.
  bool rebase(Session& s, ClockReading now) const;
  // The uid's active session if it is `id`, else a kNotActive mutation in `out`.
  Session* find_active(std::uint32_t uid, std::int64_t id, Mutation& out);
  std::int64_t clamp_wall(const Session& s, ClockReading now) const { return std::max(now.wall_ms, s.started_at); }
  Mutation applied(std::uint32_t uid, ClockReading now, const Session* live, storage::GroupCommitter::Job job);
  static Mutation refused(ipc::WireCode code, std::string message);

  const TimerClock& clock_;
  TimerStore& store_;
  std::unordered_map<std::uint32_t, Session> active_;  // uid -> its running or paused session
  std::unordered_set<std::uint32_t> stale_;           // uids whose memory must be reloaded
  std::unordered_map<std::uint32_t, std::uint64_t> epochs_;  // bumped when a uid's memory is dropped
  std::int64_t last_id_ = 0;
  std::int64_t last_started_ = INT64_MIN;
  std::int64_t last_rev_ = 0;
};

}  // namespace durationd::app

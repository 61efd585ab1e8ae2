// SQL on timers.db: the schema (one numbered migration), the writes the timer engine
// hands to the group committer, and the reads behind timer.get / list / stats.
//
// Every row carries its owner's uid and every read filters on it: a uid never reads,
// lists, counts or deletes another uid's rows, whatever id it names.
//
// Statements are prepared once per connection and kept (a connection is used by one
// thread at a time, so are its statements). Thread-safe: the cache of statements is
// guarded by a mutex; everything else works on the Connection it is given, which the
// caller holds alone (a pool lease, or the group committer's batch connection).
//
// Known cost: the cache is keyed by sqlite3 handle, and storage::Connection has no
// hook for "closing". When admin.rotate_key closes the pool, the old connections stay
// allocated (SQLite keeps a connection with unfinalized statements as a zombie) until
// this store is destroyed: a few connections and their page caches per rotation. They
// hold no locks or transactions, so correctness is unaffected. The fix belongs in
// storage: a statement cache owned by Connection, finalized when it closes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "daemon/timer_session.hpp"
#include "storage/connection.hpp"
#include "storage/migrations.hpp"

struct sqlite3;

namespace durationd::app {

// timers.db's migrations (databases.cpp hands them to the store).
std::span<const storage::Migration> timer_migrations();

// What names one session row: the table's key.
struct SessionKey {
  std::uint32_t uid = 0;
  std::int64_t started_at = 0;
  std::int64_t id = 0;
};

struct ListQuery {
  std::uint32_t uid = 0;
  std::int64_t from_ms = INT64_MIN;  // started_at >= from_ms
  std::int64_t to_ms = INT64_MAX;    // started_at < to_ms
  std::optional<std::string> task;
  std::optional<std::string> tag;
  std::optional<SessionState> state;
  std::int64_t after_id = 0;  // ids > after_id
  std::uint32_t limit = 100;
};

struct ListPage {
  std::string sessions;  // `count` packed session maps, back to back
  std::uint32_t count = 0;
  std::optional<std::int64_t> next_after_id;
};

// One row as the stats scan sees it (timer_stats.cpp).
struct StatsRow {
  std::int64_t started_at = 0;  // only with StatsColumns::kNumbers
  SessionState state = SessionState::kRunning;
  std::int64_t active_ms = 0;  // up to now for a running session
  std::int64_t planned_ms = 0;  // 0 when none was planned
  std::int64_t interruptions = 0;
  std::int64_t focus = 0;  // 0 when not rated
  std::string_view task;  // only when asked for; valid during the callback only
  std::string_view tags;  // the packed msgpack array, only when asked for; likewise
};

// Which text columns a stats scan needs besides the numbers.
enum class StatsColumns { kNumbers, kTask, kTags };

// What the daemon needs at start.
struct TimerSnapshot {
  std::vector<Session> active;   // every running or paused session, all uids
  std::int64_t last_id = 0;      // the largest id ever given (ids are never reused)
  std::int64_t last_started = INT64_MIN;  // started_at of the newest session
  std::int64_t max_rev = 0;      // the largest write guard among active sessions
};

class TimerStore {
 public:
  TimerStore();
  ~TimerStore();  // finalizes every cached statement
  TimerStore(const TimerStore&) = delete;
  TimerStore& operator=(const TimerStore&) = delete;

  // ---- writes (run inside the group committer's transaction) ----
  // `tags` are the session's distinct tags, in order (also in s.tags, packed).
  storage::Result<void> insert_session(storage::Connection& c, const Session& s, std::span<const std::string> tags);
  // Each write applies only if the row still carries `expected_rev` and exactly the
  // interruptions the engine counted before it (else Errc::constraint: an earlier
  // write it was built on failed).
  storage::Result<void> write_pause(storage::Connection& c, const Session& s, std::int64_t expected_rev);
  storage::Result<void> write_resume(storage::Connection& c, const Session& s, std::int64_t expected_rev,
                                     std::int64_t pause_ended_at, std::int64_t pause_ms);
  // Appends interruption number `seq` (1-based).
  storage::Result<void> write_interruption(storage::Connection& c, const SessionKey& key, std::uint32_t seq,
                                           std::int64_t at, std::string_view reason, std::int64_t expected_rev);
  // Ends the session; closes its open pause when it was paused.
  storage::Result<void> write_stop(storage::Connection& c, const Session& s, std::int64_t expected_rev,
                                   bool close_pause, std::int64_t pause_ms);
  // Deletes the session of `uid` with everything that hangs off it; false when none.
  storage::Result<bool> delete_session(storage::Connection& c, std::uint32_t uid, std::int64_t id);
  // Moves an open segment recorded in another boot onto this boot's clock.
  storage::Result<void> write_rebase(storage::Connection& c, const Session& s);

  // ---- reads ----
  storage::Result<TimerSnapshot> load_snapshot(storage::Connection& c);
  // The running or paused session of `uid`, if any.
  storage::Result<std::optional<Session>> load_active(storage::Connection& c, std::uint32_t uid);
  // The session `id` of `uid`, with its interruptions.
  storage::Result<std::optional<Session>> find(storage::Connection& c, std::uint32_t uid, std::int64_t id);
  // Only its state (to tell NOT_FOUND from CONFLICT without reading interruptions).
  storage::Result<std::optional<SessionState>> find_state(storage::Connection& c, std::uint32_t uid, std::int64_t id);
  storage::Result<ListPage> list(storage::Connection& c, const ListQuery& q, ClockReading now, std::int64_t boot);
  // Calls `row` for every session of `uid` started in [from_ms, to_ms).
  storage::Result<void> scan_stats(storage::Connection& c, std::uint32_t uid, std::int64_t from_ms, std::int64_t to_ms,
                                   ClockReading now, std::int64_t boot, StatsColumns columns,
                                   const std::function<void(const StatsRow&)>& row);
  // started_at of the newest completed session of `uid` started before `before_ms`.
  storage::Result<std::optional<std::int64_t>> last_completed_before(storage::Connection& c, std::uint32_t uid,
                                                                     std::int64_t before_ms);
  // Counts for admin.status: all sessions, and running ones.
  storage::Result<std::pair<std::int64_t, std::int64_t>> count_sessions(storage::Connection& c);

 private:
  struct Statements;
  // The cached statements of `c` (prepared lazily, one set per connection).
  Statements& statements(storage::Connection& c);
  storage::Result<void> read_interruptions(Statements& st, Session& s);
  // The session `sel` (bound, selecting SESSION_COLUMNS) finds, interruptions and all.
  storage::Result<std::optional<Session>> read_found(Statements& st, storage::Statement& sel);

  std::mutex mutex_;
  std::unordered_map<sqlite3*, std::unique_ptr<Statements>> by_connection_;  // guarded by mutex_
};

}  // namespace durationd::app

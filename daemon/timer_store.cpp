#include "daemon/timer_store.hpp"

#include <array>

#include "ipc/msgpack_reader.hpp"
#include "storage/sqlite.hpp"

namespace durationd::app {
using storage::Connection;
using storage::Errc;
using storage::Error;
using storage::Result;
using storage::Statement;

namespace {

// Schema notes.
// - Times: wall-clock milliseconds since the epoch; durations: milliseconds measured on
//   the boot clock (timer_session.hpp). seg_* describe the open segment of a running or
//   paused session and are NULL once it has ended.
// - sessions is clustered by (uid, started_at, id): a uid's sessions in a time range
//   are one contiguous run of the table itself, so list pages and the stats scan read
//   them in order with no per-row index lookups. The engine gives ids out in started_at
//   order, so this order is also id order. Every write names the full key (the engine
//   knows uid, started_at and id), so it costs one descent of one B-tree.
// - ids are never reused, even after a delete: the largest given is kept in timer_meta.
// - Columns the stats scan reads come first; task, tags and note last, so a long note
//   does not cost the scans anything (SQLite stops reading a record at the last column
//   asked for, and never reads its overflow pages).
// - sessions_one_active makes "at most one running or paused session per uid" a
//   constraint of the database itself, not only of the engine's memory.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE sessions (
  uid           INTEGER NOT NULL,
  started_at    INTEGER NOT NULL,
  id            INTEGER NOT NULL,
  state         INTEGER NOT NULL CHECK (state BETWEEN 0 AND 3),
  ended_at      INTEGER,
  planned_ms    INTEGER,
  active_ms     INTEGER NOT NULL CHECK (active_ms >= 0),
  paused_ms     INTEGER NOT NULL CHECK (paused_ms >= 0),
  seg_wall      INTEGER,
  seg_boot      INTEGER,
  boot_id       INTEGER,
  pauses        INTEGER NOT NULL DEFAULT 0,
  interruptions INTEGER NOT NULL DEFAULT 0,
  focus         INTEGER CHECK (focus BETWEEN 1 AND 5),
  rev           INTEGER NOT NULL,
  task          TEXT NOT NULL,
  tags          BLOB NOT NULL,
  note          TEXT NOT NULL,
  PRIMARY KEY (uid, started_at, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX sessions_by_id ON sessions (id);
CREATE INDEX sessions_by_task ON sessions (uid, task, started_at);
CREATE UNIQUE INDEX sessions_one_active ON sessions (uid) WHERE state < 2;

CREATE TABLE timer_meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE session_tags (
  session_id INTEGER NOT NULL,
  tag        TEXT NOT NULL,
  uid        INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  PRIMARY KEY (session_id, tag)
) WITHOUT ROWID;
CREATE INDEX session_tags_by_tag ON session_tags (uid, tag, started_at);

CREATE TABLE pauses (
  session_id  INTEGER NOT NULL,
  seq         INTEGER NOT NULL,
  uid         INTEGER NOT NULL,
  started_at  INTEGER NOT NULL,
  ended_at    INTEGER,
  duration_ms INTEGER CHECK (duration_ms >= 0),
  PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;

CREATE TABLE interruptions (
  session_id INTEGER NOT NULL,
  seq        INTEGER NOT NULL,
  uid        INTEGER NOT NULL,
  at         INTEGER NOT NULL,
  reason     TEXT NOT NULL,
  PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
)sql";

constexpr storage::Migration kMigrations[] = {{1, kSchemaV1}};

// Page cache per timers.db connection, in KiB (SQLite's default is 2 MiB): 100,000
// sessions take about 8 MiB of table pages.
constexpr int kCacheKiB = 16 * 1024;

#define SESSION_COLUMNS(p)                                                                                         \
  p "id, " p "uid, " p "state, " p "started_at, " p "ended_at, " p "planned_ms, " p "active_ms, " p "paused_ms, " p \
    "seg_wall, " p "seg_boot, " p "boot_id, " p "pauses, " p "interruptions, " p "focus, " p "rev, " p "task, " p    \
    "tags, " p "note"

enum Slot : std::size_t {
  kInsertSession,
  kRecordLastId,
  kInsertTag,
  kPauseSession,
  kInsertPause,
  kResumeSession,
  kClosePause,
  kInsertInterruption,
  kStopSession,
  kDeleteSession,
  kDeleteTags,
  kDeletePauses,
  kDeleteInterruptions,
  kRebase,
  kSelectActiveAll,
  kSelectActiveUid,
  kSelectSession,
  kSelectState,
  kSelectInterruptions,
  kBoundForAfterId,
  kStatsScan,  // + StatsColumns
  kStatsScanTask,
  kStatsScanTags,
  kCompletedBackwards,
  kCountAll,
  kCountRunning,
  kList0,  // + mask: 1 task, 2 state, 4 tag, 8 the state is running or paused
  kSlotCount = kList0 + 16,
};

// Resets a statement when the scope ends, so no statement is left holding a read
// transaction (which would pin the WAL) or stale bindings.
class Use {
 public:
  explicit Use(Statement& s) : s_(s) {}
  ~Use() { s_.reset(); }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;

 private:
  Statement& s_;
};

std::optional<std::int64_t> column_opt(const Statement& st, int i) {
  if (st.column_is_null(i)) return std::nullopt;
  return st.column_int64(i);
}

void bind_opt(Statement& st, int i, const std::optional<std::int64_t>& v) {
  if (v) {
    st.bind(i, *v);
  } else {
    st.bind_null(i);
  }
}

// Reads SESSION_COLUMNS into `s` (interruptions not included).
void read_session(const Statement& st, Session& s) {
  s.id = st.column_int64(0);
  s.uid = static_cast<std::uint32_t>(st.column_int64(1));
  s.state = static_cast<SessionState>(st.column_int64(2));
  s.started_at = st.column_int64(3);
  s.ended_at = column_opt(st, 4);
  s.planned_ms = column_opt(st, 5);
  s.active_ms = st.column_int64(6);
  s.paused_ms = st.column_int64(7);
  s.seg_wall = st.column_int64(8);
  s.seg_boot = st.column_int64(9);
  s.boot_id = st.column_int64(10);
  s.pauses = st.column_int64(11);
  s.interruption_count = static_cast<std::uint32_t>(st.column_int64(12));
  const auto focus = column_opt(st, 13);
  s.focus = focus ? std::optional<std::uint8_t>(static_cast<std::uint8_t>(*focus)) : std::nullopt;
  s.rev = st.column_int64(14);
  s.task = st.column_text(15);
  const auto tags = st.column_blob(16);
  s.tags.assign(reinterpret_cast<const char*>(tags.data()), tags.size());
  s.note = st.column_text(17);
  s.interruptions.clear();
}

// The row-level guard of pause, resume and stop: the rev the engine saw, and exactly
// the interruptions the engine counted (the hot path does not touch the row).
constexpr std::string_view kGuard =
    " AND rev = ?20 AND coalesce((SELECT max(seq) FROM interruptions WHERE session_id = ?1), 0) = ?21";

Result<void> expect_one_change(Connection& c, std::int64_t id) {
  if (sqlite3_changes(c.handle()) == 1) return {};
  return Error{Errc::constraint,
               c.name() + ": session " + std::to_string(id) + " changed underneath this write (an earlier one failed)"};
}

std::string list_sql(unsigned mask) {
  const bool task = mask & 1, state = mask & 2, tag = mask & 4, active = mask & 8;
  std::string sql;
  if (tag) {
    sql = "SELECT " SESSION_COLUMNS("s.") " FROM session_tags t JOIN sessions s"
          " ON s.uid = t.uid AND s.started_at = t.started_at AND s.id = t.session_id"
          " WHERE t.uid = ?1 AND t.tag = ?7 AND t.started_at >= ?2 AND t.started_at < ?3 AND t.session_id > ?4";
    if (task) sql += " AND s.task = ?5";
    if (state) sql += " AND s.state = ?6";
    if (active) sql += " AND s.state < 2";
    sql += " ORDER BY t.started_at, t.session_id LIMIT ?8";
  } else {
    sql = "SELECT " SESSION_COLUMNS("") " FROM sessions"
          " WHERE uid = ?1 AND started_at >= ?2 AND started_at < ?3 AND id > ?4";
    if (task) sql += " AND task = ?5";
    if (state) sql += " AND state = ?6";
    // A uid has at most one running or paused session: the partial unique index finds
    // it at once instead of walking every session of the uid.
    if (active) sql += " AND state < 2";
    sql += " ORDER BY started_at, id LIMIT ?8";
  }
  return sql;
}

}  // namespace

std::span<const storage::Migration> timer_migrations() { return kMigrations; }

struct TimerStore::Statements {
  Connection* connection = nullptr;
  std::array<std::optional<Statement>, kSlotCount> slots;

  Result<Statement*> get(std::size_t slot, std::string_view sql) {
    auto& s = slots[slot];
    if (!s) {
      auto prepared = connection->prepare(sql);
      if (!prepared) return prepared.error();
      s.emplace(std::move(*prepared));
    }
    return &*s;
  }
};

TimerStore::TimerStore() = default;
TimerStore::~TimerStore() = default;

TimerStore::Statements& TimerStore::statements(Connection& c) {
  std::lock_guard lock(mutex_);
  auto& slot = by_connection_[c.handle()];
  if (!slot) {
    slot = std::make_unique<Statements>();
    // Decrypting pages is half the cost of a stats scan: let a connection keep up to
    // kCacheKiB of them (memory is only used for pages actually read).
    (void)c.exec("PRAGMA cache_size = -" + std::to_string(kCacheKiB));
  }
  // Connections move between leases (Lease holds the Connection by value): keep the
  // current address; the sqlite3 handle is what identifies it.
  slot->connection = &c;
  return *slot;
}

#define TRY_STMT(var, slot, sql)    \
  auto var##_r = st.get(slot, sql); \
  if (!var##_r) return var##_r.error(); \
  Statement& var = **var##_r;       \
  Use var##_use(var)

// ---- writes --------------------------------------------------------------------

Result<void> TimerStore::insert_session(Connection& c, const Session& s, std::span<const std::string> tags) {
  auto& st = statements(c);
  {
    TRY_STMT(ins, kInsertSession,
             "INSERT INTO sessions (id, uid, state, started_at, planned_ms, active_ms, paused_ms, seg_wall, seg_boot,"
             " boot_id, pauses, interruptions, rev, task, tags, note)"
             " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
    ins.bind(1, s.id).bind(2, std::int64_t{s.uid}).bind(3, static_cast<std::int64_t>(s.state)).bind(4, s.started_at);
    bind_opt(ins, 5, s.planned_ms);
    ins.bind(6, s.active_ms).bind(7, s.paused_ms).bind(8, s.seg_wall).bind(9, s.seg_boot).bind(10, s.boot_id);
    ins.bind(11, s.pauses).bind(12, std::int64_t{s.interruption_count}).bind(13, s.rev).bind(14, s.task);
    ins.bind_blob(15, ipc::as_bytes(s.tags)).bind(16, s.note);
    if (auto r = ins.run(); !r) return r;
  }
  {
    TRY_STMT(up, kRecordLastId,
             "INSERT OR REPLACE INTO timer_meta (key, value) VALUES ('last_id',"
             " max(?1, coalesce((SELECT value FROM timer_meta WHERE key = 'last_id'), 0)))");
    up.bind(1, s.id);
    if (auto r = up.run(); !r) return r;
  }
  for (const auto& tag : tags) {
    TRY_STMT(ins, kInsertTag, "INSERT INTO session_tags (session_id, tag, uid, started_at) VALUES (?1, ?2, ?3, ?4)");
    ins.bind(1, s.id).bind(2, tag).bind(3, std::int64_t{s.uid}).bind(4, s.started_at);
    if (auto r = ins.run(); !r) return r;
  }
  return {};
}

Result<void> TimerStore::write_pause(Connection& c, const Session& s, std::int64_t expected_rev) {
  auto& st = statements(c);
  {
    TRY_STMT(up, kPauseSession,
             std::string("UPDATE sessions SET state = 1, active_ms = ?2, seg_wall = ?3, seg_boot = ?4, boot_id = ?5,"
                         " pauses = ?6, rev = ?7, interruptions = ?21 WHERE uid = ?9 AND started_at = ?10 AND id = ?1") +
                 std::string(kGuard));
    up.bind(1, s.id).bind(2, s.active_ms).bind(3, s.seg_wall).bind(4, s.seg_boot).bind(5, s.boot_id);
    up.bind(6, s.pauses).bind(7, s.rev).bind(9, std::int64_t{s.uid}).bind(10, s.started_at);
    up.bind(20, expected_rev).bind(21, std::int64_t{s.interruption_count});
    if (auto r = up.run(); !r) return r;
    if (auto r = expect_one_change(c, s.id); !r) return r;
  }
  TRY_STMT(ins, kInsertPause, "INSERT INTO pauses (session_id, seq, uid, started_at) VALUES (?1, ?2, ?3, ?4)");
  ins.bind(1, s.id).bind(2, s.pauses).bind(3, std::int64_t{s.uid}).bind(4, s.seg_wall);
  return ins.run();
}

Result<void> TimerStore::write_resume(Connection& c, const Session& s, std::int64_t expected_rev,
                                      std::int64_t pause_ended_at, std::int64_t pause_ms) {
  auto& st = statements(c);
  {
    TRY_STMT(up, kResumeSession,
             std::string("UPDATE sessions SET state = 0, paused_ms = ?2, seg_wall = ?3, seg_boot = ?4, boot_id = ?5,"
                         " rev = ?6, interruptions = ?21 WHERE uid = ?8 AND started_at = ?9 AND id = ?1") +
                 std::string(kGuard));
    up.bind(1, s.id).bind(2, s.paused_ms).bind(3, s.seg_wall).bind(4, s.seg_boot).bind(5, s.boot_id);
    up.bind(6, s.rev).bind(8, std::int64_t{s.uid}).bind(9, s.started_at);
    up.bind(20, expected_rev).bind(21, std::int64_t{s.interruption_count});
    if (auto r = up.run(); !r) return r;
    if (auto r = expect_one_change(c, s.id); !r) return r;
  }
  TRY_STMT(close, kClosePause, "UPDATE pauses SET ended_at = ?3, duration_ms = ?4 WHERE session_id = ?1 AND seq = ?2");
  close.bind(1, s.id).bind(2, s.pauses).bind(3, pause_ended_at).bind(4, pause_ms);
  return close.run();
}

Result<void> TimerStore::write_interruption(Connection& c, const SessionKey& key, std::uint32_t seq,
                                            std::int64_t at, std::string_view reason, std::int64_t expected_rev) {
  auto& st = statements(c);
  // The hot path: one statement, and the session's row is only read. It applies only
  // if the row still has the rev the engine saw and the interruption before this one
  // is on disk, so nothing is appended after a lost write.
  TRY_STMT(ins, kInsertInterruption,
           "INSERT INTO interruptions (session_id, seq, uid, at, reason) SELECT ?1, ?2, ?3, ?4, ?5"
           " WHERE EXISTS (SELECT 1 FROM sessions WHERE uid = ?3 AND started_at = ?6 AND id = ?1 AND rev = ?7)"
           " AND coalesce((SELECT max(seq) FROM interruptions WHERE session_id = ?1), 0) = ?2 - 1");
  ins.bind(1, key.id).bind(2, std::int64_t{seq}).bind(3, std::int64_t{key.uid}).bind(4, at).bind(5, reason);
  ins.bind(6, key.started_at).bind(7, expected_rev);
  if (auto r = ins.run(); !r) return r;
  return expect_one_change(c, key.id);
}

Result<void> TimerStore::write_stop(Connection& c, const Session& s, std::int64_t expected_rev, bool close_pause,
                                    std::int64_t pause_ms) {
  auto& st = statements(c);
  {
    TRY_STMT(up, kStopSession,
             std::string("UPDATE sessions SET state = ?2, ended_at = ?3, active_ms = ?4, paused_ms = ?5,"
                         " seg_wall = NULL, seg_boot = NULL, boot_id = NULL, focus = ?6, note = ?7, rev = ?8,"
                         " interruptions = ?21 WHERE uid = ?10 AND started_at = ?11 AND id = ?1") +
                 std::string(kGuard));
    up.bind(1, s.id).bind(2, static_cast<std::int64_t>(s.state)).bind(3, s.ended_at.value_or(s.started_at));
    up.bind(4, s.active_ms).bind(5, s.paused_ms);
    if (s.focus) {
      up.bind(6, std::int64_t{*s.focus});
    } else {
      up.bind_null(6);
    }
    up.bind(7, s.note).bind(8, s.rev).bind(10, std::int64_t{s.uid}).bind(11, s.started_at);
    up.bind(20, expected_rev).bind(21, std::int64_t{s.interruption_count});
    if (auto r = up.run(); !r) return r;
    if (auto r = expect_one_change(c, s.id); !r) return r;
  }
  if (!close_pause) return {};
  TRY_STMT(close, kClosePause, "UPDATE pauses SET ended_at = ?3, duration_ms = ?4 WHERE session_id = ?1 AND seq = ?2");
  close.bind(1, s.id).bind(2, s.pauses).bind(3, s.ended_at.value_or(s.started_at)).bind(4, pause_ms);
  return close.run();
}

Result<bool> TimerStore::delete_session(Connection& c, std::uint32_t uid, std::int64_t id) {
  auto& st = statements(c);
  {
    TRY_STMT(del, kDeleteSession, "DELETE FROM sessions WHERE id = ?1 AND uid = ?2");
    del.bind(1, id).bind(2, std::int64_t{uid});
    if (auto r = del.run(); !r) return r.error();
    if (sqlite3_changes(c.handle()) == 0) return false;
  }
  constexpr std::pair<Slot, std::string_view> kChildren[] = {
      {kDeleteTags, "DELETE FROM session_tags WHERE session_id = ?1"},
      {kDeletePauses, "DELETE FROM pauses WHERE session_id = ?1"},
      {kDeleteInterruptions, "DELETE FROM interruptions WHERE session_id = ?1"},
  };
  for (const auto& [slot, sql] : kChildren) {
    TRY_STMT(del, slot, sql);
    del.bind(1, id);
    if (auto r = del.run(); !r) return r.error();
  }
  return true;
}

Result<void> TimerStore::write_rebase(Connection& c, const Session& s) {
  auto& st = statements(c);
  TRY_STMT(up, kRebase, "UPDATE sessions SET seg_boot = ?2, boot_id = ?3 WHERE uid = ?4 AND started_at = ?5 AND id = ?1");
  up.bind(1, s.id).bind(2, s.seg_boot).bind(3, s.boot_id).bind(4, std::int64_t{s.uid}).bind(5, s.started_at);
  return up.run();
}

// ---- reads ---------------------------------------------------------------------

Result<void> TimerStore::read_interruptions(Statements& st, Session& s) {
  s.interruptions.clear();
  // An ended session's count is exact; an active one's row may be behind its rows.
  if (s.interruption_count == 0 && !is_active(s.state)) return {};
  TRY_STMT(sel, kSelectInterruptions, "SELECT at, reason FROM interruptions WHERE session_id = ?1 ORDER BY seq");
  sel.bind(1, s.id);
  ipc::StringSink sink(s.interruptions);
  ipc::MsgpackWriter w(sink);
  std::uint32_t n = 0;
  for (;;) {
    auto row = sel.step();
    if (!row) return row.error();
    if (!*row) break;
    pack_interruption(w, sel.column_int64(0), sel.column_text(1));
    ++n;
  }
  s.interruption_count = n;  // the rows are the truth
  return {};
}

Result<TimerSnapshot> TimerStore::load_snapshot(Connection& c) {
  auto& st = statements(c);
  TimerSnapshot snap;
  {
    TRY_STMT(sel, kSelectActiveAll, "SELECT " SESSION_COLUMNS("") " FROM sessions WHERE state < 2");
    for (;;) {
      auto row = sel.step();
      if (!row) return row.error();
      if (!*row) break;
      Session s;
      read_session(sel, s);
      snap.max_rev = std::max(snap.max_rev, s.rev);
      snap.active.push_back(std::move(s));
    }
  }
  for (auto& s : snap.active)
    if (auto r = read_interruptions(st, s); !r) return r.error();
  auto seq = c.query_int("SELECT coalesce((SELECT value FROM timer_meta WHERE key = 'last_id'), 0)");
  if (!seq) return seq.error();
  auto max_id = c.query_int("SELECT coalesce(max(id), 0) FROM sessions");
  if (!max_id) return max_id.error();
  snap.last_id = std::max(*seq, *max_id);
  auto stmt = c.prepare("SELECT started_at FROM sessions ORDER BY id DESC LIMIT 1");
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  if (*row) snap.last_started = stmt->column_int64(0);
  return snap;
}

Result<std::optional<Session>> TimerStore::load_active(Connection& c, std::uint32_t uid) {
  auto& st = statements(c);
  TRY_STMT(sel, kSelectActiveUid, "SELECT " SESSION_COLUMNS("") " FROM sessions WHERE uid = ?1 AND state < 2");
  sel.bind(1, std::int64_t{uid});
  return read_found(st, sel);
}

Result<std::optional<Session>> TimerStore::find(Connection& c, std::uint32_t uid, std::int64_t id) {
  auto& st = statements(c);
  TRY_STMT(sel, kSelectSession, "SELECT " SESSION_COLUMNS("") " FROM sessions WHERE id = ?1 AND uid = ?2");
  sel.bind(1, id).bind(2, std::int64_t{uid});
  return read_found(st, sel);
}

Result<std::optional<Session>> TimerStore::read_found(Statements& st, Statement& sel) {
  std::optional<Session> s;
  auto row = sel.step();
  if (!row) return row.error();
  if (!*row) return s;
  read_session(sel, s.emplace());
  sel.reset();  // done with the row: release the statement before the next one runs
  if (auto r = read_interruptions(st, *s); !r) return r.error();
  return s;
}

Result<std::optional<SessionState>> TimerStore::find_state(Connection& c, std::uint32_t uid, std::int64_t id) {
  auto& st = statements(c);
  TRY_STMT(sel, kSelectState, "SELECT state FROM sessions WHERE id = ?1 AND uid = ?2");
  sel.bind(1, id).bind(2, std::int64_t{uid});
  auto row = sel.step();
  if (!row) return row.error();
  if (!*row) return std::optional<SessionState>();
  return std::optional<SessionState>(static_cast<SessionState>(sel.column_int64(0)));
}

Result<ListPage> TimerStore::list(Connection& c, const ListQuery& q, ClockReading now, std::int64_t boot) {
  auto& st = statements(c);
  std::int64_t lower = q.from_ms;
  if (q.after_id > 0) {
    // ids grow with started_at, so every id > after_id started no earlier than the
    // newest session at or below it: a bound the (uid, started_at) indexes can seek to
    // instead of walking past every earlier page.
    TRY_STMT(sel, kBoundForAfterId, "SELECT started_at FROM sessions WHERE id <= ?1 ORDER BY id DESC LIMIT 1");
    sel.bind(1, q.after_id);
    auto row = sel.step();
    if (!row) return row.error();
    if (*row) lower = std::max(lower, sel.column_int64(0));
  }
  const unsigned mask = (q.task ? 1u : 0u) | (q.state ? 2u : 0u) | (q.tag ? 4u : 0u) |
                        (q.state && is_active(*q.state) ? 8u : 0u);
  const std::string sql = list_sql(mask);
  ListPage page;
  std::vector<Session> sessions;
  {
    TRY_STMT(sel, kList0 + mask, sql);
    sel.bind(1, std::int64_t{q.uid}).bind(2, lower).bind(3, q.to_ms).bind(4, q.after_id);
    if (q.task) sel.bind(5, *q.task);
    if (q.state) sel.bind(6, static_cast<std::int64_t>(*q.state));
    if (q.tag) sel.bind(7, *q.tag);
    sel.bind(8, std::int64_t{q.limit} + 1);
    for (;;) {
      auto row = sel.step();
      if (!row) return row.error();
      if (!*row) break;
      read_session(sel, sessions.emplace_back());
    }
  }
  if (sessions.size() > q.limit) {
    sessions.pop_back();
    page.next_after_id = sessions.back().id;
  }
  ipc::StringSink sink(page.sessions);
  ipc::MsgpackWriter w(sink);
  for (auto& s : sessions) {
    if (auto r = read_interruptions(st, s); !r) return r.error();
    pack_session(w, s, now, boot);
  }
  page.count = static_cast<std::uint32_t>(sessions.size());
  return page;
}

Result<void> TimerStore::scan_stats(Connection& c, std::uint32_t uid, std::int64_t from_ms, std::int64_t to_ms,
                                    ClockReading now, std::int64_t boot, StatsColumns columns,
                                    const std::function<void(const StatsRow&)>& callback) {
  auto& st = statements(c);
  // Handing columns over is most of a scan's cost, so the numbers are finished in SQL:
  // a running session's active time up to now (open_segment_ms() in SQL), and an
  // active session's interruptions counted from its rows (the hot path leaves the
  // row's count behind; CASE runs the count for that one session only).
#define STATS_NUMBERS                                                                                     \
  " state,"                                                                                               \
  " active_ms + CASE WHEN state = 0 THEN (CASE WHEN boot_id = ?4 AND ?5 >= seg_boot THEN ?5 - seg_boot"    \
  " ELSE max(0, ?6 - seg_wall) END) ELSE 0 END,"                                                          \
  " coalesce(planned_ms, 0),"                                                                             \
  " CASE WHEN state < 2 THEN (SELECT count(*) FROM interruptions WHERE session_id = id) ELSE interruptions END," \
  " coalesce(focus, 0)"
#define STATS_WHERE " FROM sessions WHERE uid = ?1 AND started_at >= ?2 AND started_at < ?3"
  const std::size_t slot = kStatsScan + static_cast<std::size_t>(columns);
  const char* sql = columns == StatsColumns::kTask   ? "SELECT" STATS_NUMBERS ", task" STATS_WHERE
                    : columns == StatsColumns::kTags ? "SELECT" STATS_NUMBERS ", tags" STATS_WHERE
                                                     : "SELECT" STATS_NUMBERS ", started_at" STATS_WHERE;
#undef STATS_NUMBERS
#undef STATS_WHERE
  TRY_STMT(sel, slot, sql);
  sel.bind(1, std::int64_t{uid}).bind(2, from_ms).bind(3, to_ms).bind(4, boot).bind(5, now.boot_ms).bind(6, now.wall_ms);
  StatsRow r;
  for (;;) {
    auto row = sel.step();
    if (!row) return row.error();
    if (!*row) break;
    r.state = static_cast<SessionState>(sel.column_int64(0));
    r.active_ms = sel.column_int64(1);
    r.planned_ms = sel.column_int64(2);
    r.interruptions = sel.column_int64(3);
    r.focus = sel.column_int64(4);
    if (columns == StatsColumns::kTask) {
      r.task = sel.column_text(5);
    } else if (columns == StatsColumns::kTags) {
      const auto tags = sel.column_blob(5);
      r.tags = {reinterpret_cast<const char*>(tags.data()), tags.size()};
    } else {
      r.started_at = sel.column_int64(5);
    }
    callback(r);
  }
  return {};
}

Result<std::optional<std::int64_t>> TimerStore::last_completed_before(Connection& c, std::uint32_t uid,
                                                                      std::int64_t before_ms) {
  auto& st = statements(c);
  TRY_STMT(sel, kCompletedBackwards,
           "SELECT started_at FROM sessions WHERE uid = ?1 AND started_at < ?2 AND state = 2"
           " ORDER BY started_at DESC LIMIT 1");
  sel.bind(1, std::int64_t{uid}).bind(2, before_ms);
  auto row = sel.step();
  if (!row) return row.error();
  if (!*row) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(sel.column_int64(0));
}

Result<std::pair<std::int64_t, std::int64_t>> TimerStore::count_sessions(Connection& c) {
  auto& st = statements(c);
  std::pair<std::int64_t, std::int64_t> out;
  {
    TRY_STMT(all, kCountAll, "SELECT count(*) FROM sessions");
    auto row = all.step();
    if (!row) return row.error();
    out.first = all.column_int64(0);
  }
  TRY_STMT(running, kCountRunning, "SELECT count(*) FROM sessions WHERE state < 2 AND state = 0");
  auto row = running.step();
  if (!row) return row.error();
  out.second = running.column_int64(0);
  return out;
}

}  // namespace durationd::app

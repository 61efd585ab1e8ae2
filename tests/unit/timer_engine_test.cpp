// The timer state machine against a real timers.db, on a clock moved by hand: every
// legal and illegal transition, durations from the boot clock, wall-clock jumps,
// restarts and reboots, and what happens to memory when a write fails.
#include "tests/unit/timer_fixture.hpp"

using namespace durationd::test;
using durationd::ipc::WireCode;
using Kind = Mutation::Kind;

namespace {

constexpr std::uint32_t kAlice = 1000;
constexpr std::uint32_t kBob = 1001;

void same_as_stored(TimerFixture& f, const Session& s) {
  const auto stored = f.find(s.uid, s.id);
  REQUIRE(stored);
  const auto now = f.clock.now();
  CHECK(session_json(*stored, now, f.clock.boot_id()) == session_json(s, now, f.clock.boot_id()));
}

}  // namespace

TEST_CASE("timer engine: a session runs, pauses, resumes, is interrupted and completes") {
  TimerFixture f;
  const Session started = f.start(kAlice, "write report", {"work", "writing"}, 25 * kMinute);
  CHECK(started.id == 1);
  CHECK(started.state == SessionState::kRunning);
  CHECK(started.started_at == kT0);
  same_as_stored(f, started);

  f.clock.advance(10 * kMinute);
  const Session paused = f.apply(f.engine->pause(kAlice, started.id));
  CHECK(paused.state == SessionState::kPaused);
  CHECK(paused.active_ms == 10 * kMinute);
  same_as_stored(f, paused);

  f.clock.advance(5 * kMinute);
  // Paused time counts up to now; active time stands still.
  CHECK(f.engine->active(kAlice)->paused_at(f.clock.now(), f.clock.boot_id()) == 5 * kMinute);
  CHECK(f.engine->active(kAlice)->active_at(f.clock.now(), f.clock.boot_id()) == 10 * kMinute);
  const Session resumed = f.apply(f.engine->resume(kAlice, started.id));
  CHECK(resumed.state == SessionState::kRunning);
  CHECK(resumed.paused_ms == 5 * kMinute);

  f.clock.advance(3 * kMinute);
  const Session interrupted = f.apply(f.engine->interrupt(kAlice, started.id, "phone"));
  CHECK(interrupted.interruption_count == 1);
  same_as_stored(f, interrupted);
  const Session twice = f.apply(f.engine->interrupt(kAlice, started.id, ""));
  CHECK(twice.interruption_count == 2);

  f.clock.advance(2 * kMinute);
  const Session done = f.apply(f.engine->stop(kAlice, started.id, {SessionState::kCompleted, 4, "went well"}));
  CHECK(done.state == SessionState::kCompleted);
  CHECK(done.active_ms == 15 * kMinute);
  CHECK(done.paused_ms == 5 * kMinute);
  CHECK(done.ended_at == kT0 + 20 * kMinute);
  CHECK(done.focus == 4);
  CHECK(done.note == "went well");
  CHECK(f.engine->active(kAlice) == nullptr);
  same_as_stored(f, done);

  const std::string json = session_json(*f.find(kAlice, started.id), f.clock.now(), f.clock.boot_id());
  CHECK(json ==
        R"({"id":1,"task":"write report","tags":["work","writing"],"state":"completed",)"
        R"("started_at":{"$ts":"2026-03-09T12:00:00Z"},"ended_at":{"$ts":"2026-03-09T12:20:00Z"},)"
        R"("planned_ms":1500000,"active_ms":900000,"paused_ms":300000,"interruptions":[)"
        R"({"at":{"$ts":"2026-03-09T12:18:00Z"},"reason":"phone"},{"at":{"$ts":"2026-03-09T12:18:00Z"},"reason":""}],)"
        R"("focus":4,"note":"went well"})");

  // The pause interval is on disk with its measured length.
  auto c = f.pool().acquire();
  CHECK(c->query_int("SELECT duration_ms FROM pauses WHERE session_id = 1 AND seq = 1").value() == 5 * kMinute);
  CHECK(c->query_int("SELECT ended_at - started_at FROM pauses WHERE session_id = 1").value() == 5 * kMinute);
  CHECK(c->query_int("SELECT count(*) FROM session_tags WHERE session_id = 1 AND uid = 1000").value() == 2);
  CHECK(c->query_int("SELECT count(*) FROM interruptions WHERE session_id = 1 AND uid = 1000").value() == 2);
}

TEST_CASE("timer engine: illegal transitions are refused and change nothing") {
  TimerFixture f;
  const Session s = f.start(kAlice, "focus");

  SECTION("a second start while one is running names the active session") {
    const Mutation m = f.engine->start(kAlice, {"another", {}, {}, ""});
    REQUIRE(m.kind == Kind::kRefused);
    CHECK(m.error.code == WireCode::kConflict);
    CHECK(m.error.message.find("session 1 is running") != std::string::npos);
    f.apply(f.engine->pause(kAlice, s.id));
    const Mutation again = f.engine->start(kAlice, {"another", {}, {}, ""});
    CHECK(again.error.message.find("session 1 is paused") != std::string::npos);
  }
  SECTION("resume a running session") {
    const Mutation m = f.engine->resume(kAlice, s.id);
    REQUIRE(m.kind == Kind::kRefused);
    CHECK(m.error.code == WireCode::kConflict);
  }
  SECTION("pause a paused session") {
    f.apply(f.engine->pause(kAlice, s.id));
    const Mutation m = f.engine->pause(kAlice, s.id);
    REQUIRE(m.kind == Kind::kRefused);
    CHECK(m.error.code == WireCode::kConflict);
  }
  SECTION("every op on an ended session is for the database to explain (CONFLICT)") {
    f.stop(kAlice, s.id, SessionState::kAbandoned);
    CHECK(f.engine->pause(kAlice, s.id).kind == Kind::kNotActive);
    CHECK(f.engine->resume(kAlice, s.id).kind == Kind::kNotActive);
    CHECK(f.engine->interrupt(kAlice, s.id, "x").kind == Kind::kNotActive);
    CHECK(f.engine->stop(kAlice, s.id, {}).kind == Kind::kNotActive);
    auto c = f.pool().acquire();
    CHECK(f.timer_store->find_state(*c, kAlice, s.id).value() == SessionState::kAbandoned);
  }
  SECTION("another uid's session does not exist for it") {
    CHECK(f.engine->pause(kBob, s.id).kind == Kind::kNotActive);
    CHECK(f.engine->stop(kBob, s.id, {}).kind == Kind::kNotActive);
    auto c = f.pool().acquire();
    CHECK_FALSE(f.timer_store->find_state(*c, kBob, s.id).value());
    CHECK_FALSE(f.timer_store->find(*c, kBob, s.id).value());
    // And it can have its own running session at the same time.
    CHECK(f.start(kBob, "bob's").id == 2);
  }
  SECTION("stopping a paused session closes the pause") {
    f.apply(f.engine->pause(kAlice, s.id));
    f.clock.advance(7 * kMinute);
    const Session done = f.stop(kAlice, s.id);
    CHECK(done.paused_ms == 7 * kMinute);
    CHECK(done.active_ms == 0);
    auto c = f.pool().acquire();
    CHECK(c->query_int("SELECT duration_ms FROM pauses WHERE session_id = 1").value() == 7 * kMinute);
  }
  // The memory and the database agree after every refusal.
  if (const Session* live = f.engine->active(kAlice)) same_as_stored(f, *live);
}

TEST_CASE("timer engine: tags are a set, in the order given") {
  TimerFixture f;
  const Session s = f.start(kAlice, "t", {"b", "a", "b", "c", "a"});
  CHECK(session_json(s, f.clock.now(), 1).find(R"("tags":["b","a","c"])") != std::string::npos);
  auto c = f.pool().acquire();
  CHECK(c->query_int("SELECT count(*) FROM session_tags").value() == 3);
}

TEST_CASE("timer engine: durations never go negative when the wall clock jumps") {
  TimerFixture f;
  const Session s = f.start(kAlice, "jumpy");
  f.clock.advance(10 * kMinute);
  f.clock.set_wall(kT0 - 5 * kHour);  // someone sets the clock back 5 hours
  f.clock.advance(2 * kMinute);
  const Session paused = f.apply(f.engine->pause(kAlice, s.id));
  CHECK(paused.active_ms == 12 * kMinute);
  f.clock.set_wall(kT0 + 9 * kHour);  // and forward again
  f.clock.advance(1 * kMinute);
  const Session done = f.stop(kAlice, s.id);
  CHECK(done.active_ms == 12 * kMinute);
  CHECK(done.paused_ms == 1 * kMinute);

  // An interruption or an end is never before the start.
  f.clock.set_wall(kT0 + 10 * kHour);
  const Session later = f.start(kAlice, "after");
  f.clock.set_wall(kT0);
  const Session interrupted = f.apply(f.engine->interrupt(kAlice, later.id, "x"));
  CHECK(session_json(interrupted, f.clock.now(), 1).find("2026-03-09T22:00:00Z") != std::string::npos);
  const Session ended = f.stop(kAlice, later.id);
  CHECK(*ended.ended_at == later.started_at);
  // And ids keep growing with started_at: a new session never starts before the last.
  const Session next = f.start(kAlice, "next");
  CHECK(next.id > later.id);
  CHECK(next.started_at >= later.started_at);
}

TEST_CASE("timer engine: a session open across a restart keeps counting") {
  TimerFixture f;
  const Session s = f.start(kAlice, "long haul");
  f.clock.advance(20 * kMinute);
  f.apply(f.engine->interrupt(kAlice, s.id, "door"));
  f.restart();
  f.clock.advance(10 * kMinute);  // the daemon was down for part of this

  const Session* live = f.engine->active(kAlice);
  REQUIRE(live);
  CHECK(live->id == s.id);
  CHECK(live->state == SessionState::kRunning);
  CHECK(live->interruption_count == 1);
  CHECK(live->active_at(f.clock.now(), f.clock.boot_id()) == 30 * kMinute);
  // New ids continue after the old ones; the one-active rule still holds.
  CHECK(f.engine->start(kAlice, {"x", {}, {}, ""}).kind == Kind::kRefused);
  const Session done = f.stop(kAlice, s.id);
  CHECK(done.active_ms == 30 * kMinute);
  CHECK(f.start(kAlice, "next").id == s.id + 1);
}

TEST_CASE("timer engine: across a reboot the open segment is measured by the wall clock") {
  TimerFixture f;
  const Session running = f.start(kAlice, "running through a reboot");
  const Session paused = f.start(kBob, "paused through a reboot");
  f.clock.advance(5 * kMinute);
  f.apply(f.engine->pause(kBob, paused.id));
  f.clock.advance(5 * kMinute);

  f.close();
  f.clock.reboot(/*new_boot_id=*/2, /*boot_ms=*/30'000);
  f.clock.set_wall(kT0 + 60 * kMinute);  // the machine was off for 50 minutes
  f.open();

  const auto now = f.clock.now();
  CHECK(f.engine->active(kAlice)->active_at(now, 2) == 60 * kMinute);
  CHECK(f.engine->active(kBob)->paused_at(now, 2) == 55 * kMinute);
  // The move onto the new boot's clock was persisted: readers of the database agree.
  CHECK(f.find(kAlice, running.id)->active_at(now, 2) == 60 * kMinute);
  CHECK(f.find(kBob, paused.id)->boot_id == 2);
  f.clock.advance(kMinute);
  CHECK(f.stop(kAlice, running.id).active_ms == 61 * kMinute);

  SECTION("a wall clock behind the segment's start counts zero, never negative") {
    f.close();
    f.clock.reboot(3);
    f.clock.set_wall(kT0 - kDay);
    f.open();
    CHECK(f.engine->active(kBob)->paused_at(f.clock.now(), 3) == 0);
    f.clock.advance(kMinute);  // and counts on from there on the new boot's clock
    CHECK(f.engine->active(kBob)->paused_at(f.clock.now(), 3) == kMinute);
  }
}

TEST_CASE("timer engine: a failed write is forgotten and the writes built on it write nothing") {
  TimerFixture f;
  const Session s = f.start(kAlice, "fragile");
  f.apply(f.engine->interrupt(kAlice, s.id, "committed"));

  // An interrupt whose commit fails (disk full, say), and two ops queued behind it.
  Mutation lost = f.engine->interrupt(kAlice, s.id, "lost");
  Mutation stale_pause = f.engine->pause(kAlice, s.id);
  Mutation stale_stop = f.engine->stop(kAlice, s.id, {});
  f.engine->write_failed(kAlice, lost.epoch);
  CHECK(f.engine->needs_reload(kAlice));
  // Their guards find another rev in the row: each fails and writes nothing.
  CHECK_FALSE(f.commit(stale_pause));
  CHECK_FALSE(f.commit(stale_stop));
  f.engine->write_failed(kAlice, stale_pause.epoch);  // no effect: already dropped
  const auto stored = f.find(kAlice, s.id);
  CHECK(stored->state == SessionState::kRunning);
  CHECK(stored->interruption_count == 1);

  // The next op reloads the uid's memory from the database and goes on from there.
  auto c = f.pool().acquire();
  auto loaded = f.timer_store->load_active(*c, kAlice);
  REQUIRE(loaded);
  f.engine->install(kAlice, f.engine->epoch(kAlice), std::move(*loaded));
  CHECK_FALSE(f.engine->needs_reload(kAlice));
  CHECK(f.engine->active(kAlice)->interruption_count == 1);
  const Session again = f.apply(f.engine->interrupt(kAlice, s.id, "after"));
  CHECK(again.interruption_count == 2);
  same_as_stored(f, again);

  SECTION("a start queued behind a failed stop cannot make a second active session") {
    Mutation lost_stop = f.engine->stop(kAlice, s.id, {});
    Mutation start = f.engine->start(kAlice, {"second", {}, {}, ""});
    REQUIRE(start.kind == Kind::kApplied);
    f.engine->write_failed(kAlice, lost_stop.epoch);
    CHECK_FALSE(f.commit(start));  // the unique index refuses it
    auto c2 = f.pool().acquire();
    CHECK(c2->query_int("SELECT count(*) FROM sessions WHERE uid = 1000 AND state < 2").value() == 1);
  }
}

TEST_CASE("timer engine: delete") {
  TimerFixture f;
  const Session ended = f.session_at(kAlice, kT0, 25, "old");
  const Session live = f.start(kAlice, "live");
  f.apply(f.engine->interrupt(kAlice, live.id, "x"));

  auto del = [&](std::uint32_t uid, std::int64_t id) {
    auto flag = std::make_shared<bool>(false);
    Mutation m = f.engine->remove(uid, id, flag);
    REQUIRE(f.commit(m));
    return *flag;
  };
  CHECK_FALSE(del(kBob, ended.id));  // not Bob's: nothing happens
  CHECK(f.find(kAlice, ended.id));
  CHECK(del(kAlice, ended.id));
  CHECK_FALSE(f.find(kAlice, ended.id));
  CHECK_FALSE(del(kAlice, ended.id));
  CHECK(del(kAlice, live.id));  // an active one too: the uid may start again
  CHECK(f.engine->active(kAlice) == nullptr);
  auto c = f.pool().acquire();
  CHECK(c->query_int("SELECT (SELECT count(*) FROM interruptions) + (SELECT count(*) FROM pauses) +"
                     " (SELECT count(*) FROM session_tags)").value() == 0);
  // Ids are never reused.
  CHECK(f.start(kAlice, "new").id == live.id + 1);
}

TEST_CASE("timer engine: a session keeps at most kMaxInterruptions interruptions") {
  TimerFixture f;
  const Session s = f.start(kAlice, "noisy");
  for (std::uint32_t i = 0; i < kMaxInterruptions; ++i)
    REQUIRE(f.engine->interrupt(kAlice, s.id, "r").kind == Kind::kApplied);
  const Mutation m = f.engine->interrupt(kAlice, s.id, "one too many");
  REQUIRE(m.kind == Kind::kRefused);
  CHECK(m.error.code == WireCode::kConflict);
}

TEST_CASE("timer clock: the system clock reads both clocks and knows its boot") {
  SystemTimerClock clock;
  CHECK(clock.knows_boot());
  const auto a = clock.now();
  const auto b = clock.now();
  CHECK(b.boot_ms >= a.boot_ms);
  CHECK(a.wall_ms > kT0 - 365 * kDay);
  CHECK(SystemTimerClock().boot_id() == clock.boot_id());
}

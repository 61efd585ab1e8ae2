// timer.stats on crafted sessions at chosen times: day groups under non-zero offsets,
// streaks with gaps, focus_avg over rated sessions only, running sessions up to now.
#include <time.h>

#include <chrono>
#include <iostream>

#include "tests/unit/timer_fixture.hpp"

using namespace durationd::test;

namespace {

constexpr std::uint32_t kAlice = 1000;
constexpr std::uint32_t kBob = 1001;

// CPU time of this thread in ms: the machine may be shared, wall time would mislead.
double cpu_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

const Tally& group(const StatsResult& r, std::string_view key) {
  for (const auto& [k, t] : r.groups)
    if (k == key) return t;
  FAIL("no group " << key);
  static Tally none;
  return none;
}

std::vector<std::string> keys(const StatsResult& r) {
  std::vector<std::string> out;
  for (const auto& [k, t] : r.groups) out.push_back(k);
  return out;
}

std::string stats_json(const StatsResult& r) {
  std::string packed, out;
  durationd::ipc::StringSink sink(packed);
  durationd::ipc::MsgpackWriter w(sink);
  pack_stats(w, r);
  REQUIRE(durationd::ipc::msgpack_to_json(durationd::ipc::as_bytes(packed), out));
  return out;
}

}  // namespace

TEST_CASE("timer stats: day numbers and keys in an offset from UTC") {
  CHECK(day_key(0) == "1970-01-01");
  CHECK(day_key(-1) == "1969-12-31");
  CHECK(day_key(day_number(kT0, 0)) == "2026-03-09");
  // 2026-03-09T22:30Z is already the 10th two hours east of UTC, still the 9th west.
  const std::int64_t late = kT0 + 10 * kHour + 30 * kMinute;
  CHECK(day_key(day_number(late, 120)) == "2026-03-10");
  CHECK(day_key(day_number(late, -300)) == "2026-03-09");
  // 2026-03-09T03:00Z is still the 8th in New York (UTC-5).
  CHECK(day_key(day_number(kT0 - 9 * kHour, -300)) == "2026-03-08");
  CHECK(day_key(day_number(-1, 0)) == "1969-12-31");
  CHECK(day_key(day_number(0, -1)) == "1969-12-31");
  CHECK(day_key(day_number(kT0, 0) + 366) == "2027-03-10");
  CHECK(day_key(day_number(1'709'208'000'000, 0)) == "2024-02-29");
}

TEST_CASE("timer stats: the streak counter") {
  SECTION("ending on the last day") {
    StreakCounter s(100);
    CHECK(s.add(100));
    CHECK(s.add(100));
    CHECK(s.add(99));
    CHECK(s.add(98));
    CHECK_FALSE(s.add(96));
    CHECK(s.days() == 3);
  }
  SECTION("the last day has none yet: ending on the day before") {
    StreakCounter s(100);
    CHECK(s.add(99));
    CHECK(s.add(98));
    CHECK(s.days() == 2);
  }
  SECTION("nothing on the last two days") {
    StreakCounter s(100);
    CHECK_FALSE(s.add(98));
    CHECK(s.days() == 0);
  }
  SECTION("no sessions") { CHECK(StreakCounter(5).days() == 0); }
}

TEST_CASE("timer stats: groups by day under a non-zero offset, a session counts on the day it started") {
  TimerFixture f;
  // UTC+2. The 9th: one at 10:00 local. A session from 23:30 local the 9th to 00:30 the
  // 10th counts on the 9th. Then one at 00:30 local the 10th (22:30Z the 9th).
  f.session_at(kAlice, kT0 - 4 * kHour, 30, "a", SessionState::kCompleted, 4);                  // 08:00Z = 10:00 +2
  f.session_at(kAlice, kT0 + 9 * kHour + 30 * kMinute, 60, "b", SessionState::kCompleted, {});  // 21:30Z = 23:30 +2
  f.session_at(kAlice, kT0 + 10 * kHour + 30 * kMinute, 20, "a", SessionState::kAbandoned, 2);  // 22:30Z = 00:30 +2
  f.session_at(kBob, kT0, 45, "bob");  // another uid: never counted for Alice

  StatsQuery q;
  q.uid = kAlice;
  q.group_by = GroupBy::kDay;
  q.tz_offset_min = 120;
  q.to_ms = kT0 + 2 * kDay;
  const StatsResult east = f.stats(q);
  CHECK(keys(east) == std::vector<std::string>{"2026-03-09", "2026-03-10"});
  CHECK(group(east, "2026-03-09").sessions == 2);
  CHECK(group(east, "2026-03-09").active_ms == 90 * kMinute);
  CHECK(group(east, "2026-03-10").sessions == 1);
  CHECK(group(east, "2026-03-10").abandoned == 1);
  CHECK(east.totals.sessions == 3);
  CHECK(east.totals.completed == 2);
  CHECK(east.totals.active_ms == 110 * kMinute);

  // In UTC all three started on the 9th.
  q.tz_offset_min = 0;
  const StatsResult utc = f.stats(q);
  CHECK(keys(utc) == std::vector<std::string>{"2026-03-09"});
  CHECK(group(utc, "2026-03-09").sessions == 3);
  // And five hours west of UTC too; the first is then on the 9th at 03:00.
  q.tz_offset_min = -300;
  CHECK(keys(f.stats(q)) == std::vector<std::string>{"2026-03-09"});
}

TEST_CASE("timer stats: focus_avg over rated sessions only, nil when none") {
  TimerFixture f;
  f.session_at(kAlice, kT0, 10, "rated", SessionState::kCompleted, 4);
  f.session_at(kAlice, kT0 + kHour, 10, "rated", SessionState::kCompleted, 5);
  f.session_at(kAlice, kT0 + 2 * kHour, 10, "rated", SessionState::kCompleted, {});  // unrated: ignored
  f.session_at(kAlice, kT0 + 3 * kHour, 10, "unrated", SessionState::kCompleted, {});
  StatsQuery q;
  q.uid = kAlice;
  q.group_by = GroupBy::kTask;
  q.to_ms = kT0 + kDay;
  const StatsResult r = f.stats(q);
  CHECK(keys(r) == std::vector<std::string>{"rated", "unrated"});
  CHECK(group(r, "rated").focus_avg() == Approx(4.5));
  CHECK(group(r, "rated").sessions == 3);
  CHECK_FALSE(group(r, "unrated").focus_avg());
  CHECK(r.totals.focus_avg() == Approx(4.5));
  const std::string json = stats_json(r);
  CHECK(json.find(R"("key":"rated","sessions":3,"completed":3,"abandoned":0,"active_ms":1800000,)"
                  R"("planned_ms":0,"interruptions":0,"focus_avg":4.5})") != std::string::npos);
  CHECK(json.find(R"("key":"unrated","sessions":1,"completed":1,"abandoned":0,"active_ms":600000,)"
                  R"("planned_ms":0,"interruptions":0,"focus_avg":null})") != std::string::npos);
  // A whole-number average is still a float on the wire.
  f.session_at(kAlice, kT0 + 4 * kHour, 10, "three", SessionState::kCompleted, 3);
  q.group_by = GroupBy::kTask;
  const std::string three = stats_json(f.stats(q));
  CHECK(three.find(R"("key":"three","sessions":1,"completed":1,"abandoned":0,"active_ms":600000,)"
                   R"("planned_ms":0,"interruptions":0,"focus_avg":3.0})") != std::string::npos);
}

TEST_CASE("timer stats: streak_days, with a gap, in the offset") {
  TimerFixture f;
  const std::int64_t day0 = kT0 - 10 * kHour;  // 2026-03-09T02:00Z
  // Completed sessions on days 0, 1, (gap on 2), 3, 4, 5; day 6 has only an abandoned
  // one; day 5 also has an abandoned one.
  for (int d : {0, 1, 3, 4, 5}) f.session_at(kAlice, day0 + d * kDay, 25, "work");
  f.session_at(kAlice, day0 + 5 * kDay + kHour, 5, "work", SessionState::kAbandoned);
  f.session_at(kAlice, day0 + 6 * kDay, 5, "work", SessionState::kAbandoned);

  StatsQuery q;
  q.uid = kAlice;
  q.group_by = GroupBy::kDay;
  SECTION("the last day (day 6) has none completed: the streak ends on day 5") {
    q.to_ms = day0 + 6 * kDay + 12 * kHour;
    CHECK(f.stats(q).streak_days == 3);
  }
  SECTION("ending on a day with a completed session") {
    q.to_ms = day0 + 4 * kDay + 12 * kHour;
    CHECK(f.stats(q).streak_days == 2);
  }
  SECTION("to at midnight: the day of `to` has nothing in range, the day before ends it") {
    q.to_ms = day0 - 2 * kHour + 5 * kDay;  // 2026-03-14T00:00Z, start of day 5
    CHECK(f.stats(q).streak_days == 2);       // days 3 and 4
  }
  SECTION("two days without one: no streak") {
    q.to_ms = day0 + 7 * kDay + 12 * kHour;
    CHECK(f.stats(q).streak_days == 0);
  }
  SECTION("from does not cut a streak short") {
    q.from_ms = day0 + 5 * kDay;
    q.to_ms = day0 + 5 * kDay + 12 * kHour;
    const StatsResult r = f.stats(q);
    CHECK(r.totals.sessions == 2);
    CHECK(r.streak_days == 3);
  }
  SECTION("the offset decides the day: at UTC-5 day 0's session is on the evening before") {
    // 02:00Z is 21:00 the day before at UTC-5, so every session moves one day back;
    // the streak ending at to's day (day 5 local) is days 2, 3, 4 local.
    q.tz_offset_min = -300;
    q.to_ms = day0 + 5 * kDay + 12 * kHour;
    CHECK(f.stats(q).streak_days == 3);
  }
  SECTION("to absent: today, by the daemon's clock") {
    f.clock.set_wall(day0 + 5 * kDay + 20 * kHour);
    CHECK(f.stats(q).streak_days == 3);
    f.clock.set_wall(day0 + 7 * kDay + kHour);
    CHECK(f.stats(q).streak_days == 0);
  }
}

TEST_CASE("timer stats: running sessions count up to now, from is included and to excluded, tags and totals") {
  TimerFixture f;
  const Session first = f.session_at(kAlice, kT0, 30, "essay", SessionState::kCompleted, 3, {"school", "writing"});
  f.clock.set_wall(kT0 + kHour);
  const Session live = f.start(kAlice, "essay", {"school"}, 50 * kMinute);
  f.clock.advance(5 * kMinute);
  f.apply(f.engine->interrupt(kAlice, live.id, "knock"));
  f.apply(f.engine->interrupt(kAlice, live.id, "knock again"));
  f.clock.advance(15 * kMinute);

  StatsQuery q;
  q.uid = kAlice;
  q.group_by = GroupBy::kTag;
  const StatsResult r = f.stats(q);  // to absent: now
  CHECK(keys(r) == std::vector<std::string>{"school", "writing"});
  CHECK(group(r, "school").sessions == 2);
  CHECK(group(r, "school").active_ms == 30 * kMinute + 20 * kMinute);
  CHECK(group(r, "school").planned_ms == 50 * kMinute);
  CHECK(group(r, "school").interruptions == 2);
  CHECK(group(r, "writing").sessions == 1);
  CHECK(r.totals.sessions == 2);  // each session once in the totals
  CHECK(r.totals.active_ms == 50 * kMinute);
  CHECK(r.streak_days == 1);

  // [from, to): a session starting exactly at `to` is out, exactly at `from` is in.
  q.from_ms = first.started_at;
  q.to_ms = live.started_at;
  CHECK(f.stats(q).totals.sessions == 1);
  q.from_ms = first.started_at + 1;
  q.to_ms = live.started_at + 1;
  CHECK(f.stats(q).totals.sessions == 1);
  CHECK(f.stats(q).totals.active_ms == 20 * kMinute);
  q.from_ms = live.started_at;
  q.to_ms = live.started_at;
  CHECK(f.stats(q).groups.empty());

  // Untagged sessions are in the totals only.
  f.stop(kAlice, live.id);
  f.session_at(kAlice, kT0 + 3 * kHour, 10, "untagged");
  q.from_ms = INT64_MIN;
  q.to_ms.reset();
  const StatsResult all = f.stats(q);
  CHECK(all.totals.sessions == 3);
  CHECK(group(all, "school").sessions == 2);
}

// A benchmark, not a test (run with: unit_tests "[.bench]"): stats and list over
// 100,000 sessions of one uid (unit_tests "timer stats: benchmark*").
TEST_CASE("timer stats: benchmark over 100000 sessions of one uid", "[.bench]") {
  TimerFixture f;
  const char* tasks[] = {"email", "code review", "writing", "planning", "reading", "deep work", "meetings"};
  const char* tags[] = {"work", "home", "study", "admin"};
  {
    auto c = f.pool().acquire();
    auto tx = durationd::storage::Transaction::begin(*c);
    for (int i = 0; i < 100'000; ++i) {
      std::vector<std::string_view> t{tags[i % 4]};
      if (i % 3 == 0) t.push_back(tags[(i + 1) % 4]);
      f.clock.set_wall(kT0 - 400 * kDay + static_cast<std::int64_t>(i) * 5 * kMinute);
      Mutation m = f.engine->start(kAlice, {tasks[i % 7], t, 25 * kMinute, "a short note"});
      const auto id = m.session().id;
      REQUIRE(m.job(*c));
      if (i % 10 == 0) {
        Mutation in = f.engine->interrupt(kAlice, id, "slack");
        REQUIRE(in.job(*c));
      }
      f.clock.advance(25 * kMinute);
      Mutation s = f.engine->stop(kAlice, id,
                                  {i % 6 == 0 ? SessionState::kAbandoned : SessionState::kCompleted,
                                   i % 2 ? std::optional<std::uint8_t>(static_cast<std::uint8_t>(1 + i % 5)) : std::nullopt,
                                   std::nullopt});
      REQUIRE(s.job(*c));
    }
    REQUIRE(tx->commit());
  }
  f.session_at(kBob, f.clock.now().wall_ms, 5, "noise");  // "now" right after: a year-long streak
  for (auto by : {GroupBy::kDay, GroupBy::kTask, GroupBy::kTag}) {
    StatsQuery q;
    q.uid = kAlice;
    q.group_by = by;
    q.tz_offset_min = 60;
    for (int run = 0; run < 3; ++run) {
      const auto t0 = std::chrono::steady_clock::now();
      const double c0 = cpu_ms();
      const StatsResult r = f.stats(q);
      const double cpu = cpu_ms() - c0;
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
      std::cout << "stats group_by " << (by == GroupBy::kDay ? "day" : by == GroupBy::kTask ? "task" : "tag")
                << " over " << r.totals.sessions << " sessions (" << r.groups.size() << " groups, streak "
                << r.streak_days << "): " << static_cast<double>(us.count()) / 1000.0 << " ms wall, " << cpu
                << " ms cpu\n";
    }
  }
  ListQuery lq;
  lq.uid = kAlice;
  lq.limit = 1000;
  const auto t0 = std::chrono::steady_clock::now();
  int pages = 0;
  for (;;) {
    const ListPage page = f.list(lq);
    ++pages;
    if (!page.next_after_id) break;
    lq.after_id = *page.next_after_id;
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  std::cout << "list: " << pages << " pages of 1000: " << ms.count() << " ms\n";
}


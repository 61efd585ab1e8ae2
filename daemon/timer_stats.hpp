// timer.stats: one scan over a uid's sessions started in [from, to) computes every
// group and the totals (protocol.md, "Timer sessions"); a second, backwards walk over
// completed sessions finds the streak.
//
// - A session counts once in the totals and on the day it started (in the requested
//   offset from UTC), running ones with their active time up to now.
// - group_by "tag": a session counts in the group of each of its tags; untagged
//   sessions are in the totals only.
// - focus_avg averages the rated sessions only; nil when none is rated.
// - streak_days: consecutive days, each with at least one completed session, ending on
//   the range's last day (the day of `to`, or today) — or on the day before it when
//   that day has none yet. The walk is not cut off at `from`: a streak is a fact about
//   the days before `to`, and "this week" should not shorten a 40-day streak to 7.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/timer_store.hpp"
#include "ipc/msgpack_writer.hpp"

namespace durationd::app {

enum class GroupBy { kDay, kTask, kTag };
std::optional<GroupBy> parse_group_by(std::string_view name);

// Offsets from UTC that timer.stats accepts, in minutes (real ones span -12:00..+14:00).
inline constexpr std::int64_t kMaxTzOffsetMin = 1439;

struct StatsQuery {
  std::uint32_t uid = 0;
  std::int64_t from_ms = INT64_MIN;  // absent: from the first session
  std::optional<std::int64_t> to_ms;  // absent: now
  GroupBy group_by = GroupBy::kDay;
  std::int64_t tz_offset_min = 0;
};

struct Tally {
  std::int64_t sessions = 0;
  std::int64_t completed = 0;
  std::int64_t abandoned = 0;
  std::int64_t active_ms = 0;
  std::int64_t planned_ms = 0;
  std::int64_t interruptions = 0;
  std::int64_t focus_sum = 0;
  std::int64_t focus_count = 0;

  void add(const StatsRow& row);
  std::optional<double> focus_avg() const;
};

struct StatsResult {
  std::vector<std::pair<std::string, Tally>> groups;  // ordered by key
  Tally totals;
  std::int64_t streak_days = 0;
};

// The day (days since 1970-01-01) that `wall_ms` falls on at `tz_offset_min` from UTC.
std::int64_t day_number(std::int64_t wall_ms, std::int64_t tz_offset_min);
// "YYYY-MM-DD" of a day number.
std::string day_key(std::int64_t day);

// Folds days of completed sessions, newest first, into a streak ending on `last_day`.
class StreakCounter {
 public:
  explicit StreakCounter(std::int64_t last_day) : expect_(last_day) {}
  // Returns false once the streak is broken (no older day can extend it).
  bool add(std::int64_t day);
  std::int64_t days() const { return days_; }

 private:
  std::int64_t expect_;
  bool may_skip_last_ = true;
  std::int64_t days_ = 0;
};

// Runs the stats query on `c`. `now` is the daemon clock's reading for "now".
storage::Result<StatsResult> compute_stats(storage::Connection& c, TimerStore& store, const StatsQuery& q,
                                           ClockReading now, std::int64_t boot);

void pack_stats(ipc::MsgpackWriter& w, const StatsResult& result);

}  // namespace durationd::app

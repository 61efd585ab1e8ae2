#include "daemon/timer_stats.hpp"

#include "ipc/timestamp.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <unordered_map>

#include "ipc/msgpack_reader.hpp"

namespace durationd::app {
namespace {

constexpr std::int64_t kDayMs = 86'400'000;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Heterogeneous lookup: find by string_view, allocate a key only for a new group.
struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using GroupMap = std::unordered_map<std::string, Tally, KeyHash, std::equal_to<>>;

Tally& group_for(GroupMap& groups, std::string_view key) {
  auto it = groups.find(key);
  if (it == groups.end()) it = groups.emplace(std::string(key), Tally{}).first;
  return it->second;
}

void pack_tally(ipc::MsgpackWriter& w, const Tally& t) {
  ipc::pack_str(w, "sessions");
  w.pack_int64(t.sessions);
  ipc::pack_str(w, "completed");
  w.pack_int64(t.completed);
  ipc::pack_str(w, "abandoned");
  w.pack_int64(t.abandoned);
  ipc::pack_str(w, "active_ms");
  w.pack_int64(t.active_ms);
  ipc::pack_str(w, "planned_ms");
  w.pack_int64(t.planned_ms);
  ipc::pack_str(w, "interruptions");
  w.pack_int64(t.interruptions);
  ipc::pack_str(w, "focus_avg");
  if (const auto avg = t.focus_avg()) {
    ipc::pack_float64(w, *avg);
  } else {
    w.pack_nil();
  }
}

}  // namespace

std::optional<GroupBy> parse_group_by(std::string_view name) {
  if (name == "day") return GroupBy::kDay;
  if (name == "task") return GroupBy::kTask;
  if (name == "tag") return GroupBy::kTag;
  return std::nullopt;
}

void Tally::add(const StatsRow& row) {
  ++sessions;
  completed += row.state == SessionState::kCompleted;
  abandoned += row.state == SessionState::kAbandoned;
  active_ms += row.active_ms;
  planned_ms += row.planned_ms;
  interruptions += row.interruptions;
  if (row.focus != 0) {
    focus_sum += row.focus;
    ++focus_count;
  }
}

std::optional<double> Tally::focus_avg() const {
  if (focus_count == 0) return std::nullopt;
  return static_cast<double>(focus_sum) / static_cast<double>(focus_count);
}

std::int64_t day_number(std::int64_t wall_ms, std::int64_t tz_offset_min) {
  return floor_div(wall_ms + tz_offset_min * 60'000, kDayMs);
}

std::string day_key(std::int64_t day) {
  const ipc::CivilDate c = ipc::civil_from_days(day);
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(c.year), c.month, c.day);
  return std::string(buf, static_cast<std::size_t>(n));
}

bool StreakCounter::add(std::int64_t day) {
  if (day > expect_) return true;  // another session of a day already counted
  if (day == expect_ || (may_skip_last_ && day == expect_ - 1)) {
    // The range's last day may have no completed session yet: then the streak may
    // end on the day before it.
    ++days_;
    expect_ = day - 1;
    may_skip_last_ = false;
    return true;
  }
  return false;
}

storage::Result<StatsResult> compute_stats(storage::Connection& c, TimerStore& store, const StatsQuery& q,
                                           ClockReading now, std::int64_t boot) {
  const std::int64_t to_ms = q.to_ms.value_or(now.wall_ms);
  StatsResult result;
  std::map<std::int64_t, Tally> by_day;
  GroupMap by_key;
  // Rows come in started_at order: a day's sessions are one run.
  std::int64_t run_day = INT64_MIN;
  Tally* run = nullptr;
  const StatsColumns columns = q.group_by == GroupBy::kTask  ? StatsColumns::kTask
                               : q.group_by == GroupBy::kTag ? StatsColumns::kTags
                                                             : StatsColumns::kNumbers;
  auto scanned = store.scan_stats(c, q.uid, q.from_ms, to_ms, now, boot, columns, [&](const StatsRow& row) {
    result.totals.add(row);
    switch (q.group_by) {
      case GroupBy::kDay: {
        const std::int64_t day = day_number(row.started_at, q.tz_offset_min);
        if (run == nullptr || day != run_day) {
          run_day = day;
          run = &by_day[day];
        }
        run->add(row);
        break;
      }
      case GroupBy::kTask:
        group_for(by_key, row.task).add(row);
        break;
      case GroupBy::kTag: {
        ipc::MsgpackReader reader(ipc::as_bytes(row.tags));
        ipc::MsgToken t;
        if (!reader.next(t) || t.kind != ipc::MsgKind::kArray) break;
        const std::uint32_t n = t.count;
        for (std::uint32_t i = 0; i < n && reader.next(t); ++i)
          if (t.kind == ipc::MsgKind::kStr) group_for(by_key, ipc::as_chars(t.payload)).add(row);
        break;
      }
    }
  });
  if (!scanned) return scanned.error();

  if (q.group_by == GroupBy::kDay) {
    for (const auto& [day, tally] : by_day) result.groups.emplace_back(day_key(day), tally);
  } else {
    for (auto& [key, tally] : by_key) result.groups.emplace_back(key, tally);
    std::sort(result.groups.begin(), result.groups.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
  }

  // One seek per day of the streak: the newest completed session before the start of
  // the last day counted.
  StreakCounter streak(day_number(to_ms, q.tz_offset_min));
  for (std::int64_t before = to_ms;;) {
    auto last = store.last_completed_before(c, q.uid, before);
    if (!last) return last.error();
    if (!*last) break;
    const std::int64_t day = day_number(**last, q.tz_offset_min);
    if (!streak.add(day)) break;
    before = day * kDayMs - q.tz_offset_min * 60'000;  // the day's first millisecond
  }
  result.streak_days = streak.days();
  return result;
}

void pack_stats(ipc::MsgpackWriter& w, const StatsResult& result) {
  w.pack_map(3);
  ipc::pack_str(w, "groups");
  w.pack_array(static_cast<std::uint32_t>(result.groups.size()));
  for (const auto& [key, tally] : result.groups) {
    w.pack_map(8);
    ipc::pack_str(w, "key");
    ipc::pack_str(w, key);
    pack_tally(w, tally);
  }
  ipc::pack_str(w, "totals");
  w.pack_map(7);
  pack_tally(w, result.totals);
  ipc::pack_str(w, "streak_days");
  w.pack_int64(result.streak_days);
}

}  // namespace durationd::app

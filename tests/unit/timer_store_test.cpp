// timer.list at the store level: filters, the [from, to) range, stable id order and
// paging with after_id across a few thousand sessions of two uids.
#include <algorithm>
#include <set>

#include "ipc/msgpack_reader.hpp"
#include "tests/unit/timer_fixture.hpp"

using namespace durationd::test;
namespace ipc = durationd::ipc;

namespace {

constexpr std::uint32_t kAlice = 1000;
constexpr std::uint32_t kBob = 1001;

struct Made {
  std::int64_t id;
  std::uint32_t uid;
  std::string task;
  bool tagged;
  SessionState state;
  std::int64_t started_at;
};

// The ids in a page (reads the packed session maps' "id" fields).
std::vector<std::int64_t> ids_of(const ListPage& page) {
  std::vector<std::int64_t> ids;
  ipc::MsgpackReader r(ipc::as_bytes(page.sessions));
  for (std::uint32_t i = 0; i < page.count; ++i) {
    ipc::MsgToken map;
    REQUIRE(r.next(map));
    for (std::uint32_t k = 0; k < map.count; ++k) {
      ipc::MsgToken key, value;
      REQUIRE(r.next(key));
      if (ipc::as_chars(key.payload) == "id") {
        REQUIRE(r.next(value));
        ids.push_back(static_cast<std::int64_t>(value.uint));
      } else {
        ipc::Bytes skipped;
        REQUIRE(r.read_raw(skipped));
      }
    }
  }
  return ids;
}

// Every page of `q`, checking the paging contract on the way.
std::vector<std::int64_t> walk(TimerFixture& f, ListQuery q, int* pages = nullptr) {
  std::vector<std::int64_t> all;
  int n = 0;
  for (;;) {
    const ListPage page = f.list(q);
    const auto ids = ids_of(page);
    ++n;
    REQUIRE(ids.size() <= q.limit);
    if (page.next_after_id) {
      REQUIRE(ids.size() == q.limit);  // a full page, and it says where to go on
      CHECK(*page.next_after_id == ids.back());
    }
    all.insert(all.end(), ids.begin(), ids.end());
    if (!page.next_after_id) break;
    q.after_id = *page.next_after_id;
    REQUIRE(n < 10'000);
  }
  if (pages) *pages = n;
  return all;
}

struct Population {
  std::vector<Made> made;
  std::vector<std::int64_t> ids(const std::function<bool(const Made&)>& keep) const {
    std::vector<std::int64_t> out;
    for (const auto& m : made)
      if (keep(m)) out.push_back(m.id);
    return out;
  }
};

// `n` ended sessions, one a minute, two of Alice's for each of Bob's, all in one
// transaction (each op's job as the group committer would run it).
Population populate(TimerFixture& f, int n) {
  Population pop;
  const char* tasks[] = {"a", "b", "c"};
  auto c = f.pool().acquire();
  auto tx = durationd::storage::Transaction::begin(*c);
  REQUIRE(tx);
  for (int i = 0; i < n; ++i) {
    const std::uint32_t uid = i % 3 == 2 ? kBob : kAlice;
    const bool tagged = i % 5 == 0;
    std::vector<std::string_view> tags;
    if (tagged) tags = {"x", "y"};
    Mutation m = f.engine->start(uid, {tasks[i % 3 == 2 ? 0 : (i / 3) % 3], tags, {}, ""});
    REQUIRE(m.kind == Mutation::Kind::kApplied);
    const Session s = m.session();
    REQUIRE(m.job(*c));
    f.clock.advance(kMinute);
    const auto outcome = i % 4 == 0 ? SessionState::kAbandoned : SessionState::kCompleted;
    Mutation stop = f.engine->stop(uid, s.id, {outcome, {}, {}});
    REQUIRE(stop.job(*c));
    pop.made.push_back({s.id, uid, s.task, tagged, outcome, s.started_at});
  }
  REQUIRE(tx->commit());
  return pop;
}

}  // namespace

TEST_CASE("timer list: pages across thousands of sessions, in id order, each exactly once") {
  TimerFixture f;
  const Population pop = populate(f, 3000);
  const auto alice = pop.ids([](const Made& m) { return m.uid == kAlice; });
  REQUIRE(alice.size() == 2000);

  for (std::uint32_t limit : {1u, 7u, 100u, 999u, 1000u}) {
    INFO("limit " << limit);
    ListQuery q;
    q.uid = kAlice;
    q.limit = limit;
    int pages = 0;
    if (limit == 1) {
      // A thousand round trips would only repeat the others: check the first pages.
      const ListPage first = f.list(q);
      CHECK(ids_of(first) == std::vector<std::int64_t>{alice[0]});
      CHECK(first.next_after_id == alice[0]);
      continue;
    }
    CHECK(walk(f, q, &pages) == alice);
    CHECK(pages == static_cast<int>((alice.size() + limit - 1) / limit));
  }
  // 2000 sessions in pages of 1000: the second page is full and is the last one.
  ListQuery q;
  q.uid = kAlice;
  q.limit = 1000;
  q.after_id = alice[999];
  const ListPage last = f.list(q);
  CHECK(last.count == 1000);
  CHECK_FALSE(last.next_after_id);

  // Bob sees only Bob's.
  ListQuery b;
  b.uid = kBob;
  b.limit = 1000;
  CHECK(walk(f, b) == pop.ids([](const Made& m) { return m.uid == kBob; }));
  ListQuery nobody;
  nobody.uid = 4242;
  CHECK(f.list(nobody).count == 0);
}

TEST_CASE("timer list: filters and the from-to range (to excluded), with paging") {
  TimerFixture f;
  const Population pop = populate(f, 1200);
  const std::int64_t from = kT0 + 100 * kMinute, to = kT0 + 1000 * kMinute;

  ListQuery q;
  q.uid = kAlice;
  q.limit = 7;
  SECTION("from and to: started_at in [from, to)") {
    q.from_ms = from;
    q.to_ms = to;
    CHECK(walk(f, q) == pop.ids([&](const Made& m) {
      return m.uid == kAlice && m.started_at >= from && m.started_at < to;
    }));
  }
  SECTION("task") {
    q.task = "b";
    CHECK(walk(f, q) == pop.ids([](const Made& m) { return m.uid == kAlice && m.task == "b"; }));
  }
  SECTION("tag") {
    q.tag = "y";
    CHECK(walk(f, q) == pop.ids([](const Made& m) { return m.uid == kAlice && m.tagged; }));
    q.tag = "nope";
    CHECK(walk(f, q).empty());
  }
  SECTION("state") {
    q.state = SessionState::kAbandoned;
    CHECK(walk(f, q) == pop.ids([](const Made& m) { return m.uid == kAlice && m.state == SessionState::kAbandoned; }));
  }
  SECTION("all filters at once") {
    q.from_ms = from;
    q.to_ms = to;
    q.task = "c";
    q.tag = "x";
    q.state = SessionState::kCompleted;
    const auto expected = pop.ids([&](const Made& m) {
      return m.uid == kAlice && m.started_at >= from && m.started_at < to && m.task == "c" && m.tagged &&
             m.state == SessionState::kCompleted;
    });
    REQUIRE_FALSE(expected.empty());
    CHECK(walk(f, q) == expected);
  }
  SECTION("after_id may name a deleted session or someone else's") {
    const auto alice = pop.ids([](const Made& m) { return m.uid == kAlice; });
    const std::int64_t gone = alice[500];
    auto flag = std::make_shared<bool>();
    Mutation del = f.engine->remove(kAlice, gone, flag);
    REQUIRE(f.commit(del));
    q.after_id = gone;
    q.limit = 3;
    CHECK(ids_of(f.list(q)) == std::vector<std::int64_t>{alice[501], alice[502], alice[503]});
    const auto bob = pop.ids([](const Made& m) { return m.uid == kBob; });
    q.after_id = bob[100];
    const auto after_bob = pop.ids([&](const Made& m) { return m.uid == kAlice && m.id > bob[100]; });
    CHECK(ids_of(f.list(q)) == std::vector<std::int64_t>(after_bob.begin(), after_bob.begin() + 3));
  }
  SECTION("running and paused sessions") {
    const Session live = f.start(kAlice, "now");
    q.state = SessionState::kRunning;
    CHECK(ids_of(f.list(q)) == std::vector<std::int64_t>{live.id});
    q.state = SessionState::kPaused;
    CHECK(f.list(q).count == 0);
    f.apply(f.engine->pause(kAlice, live.id));
    CHECK(ids_of(f.list(q)) == std::vector<std::int64_t>{live.id});
  }
}

TEST_CASE("timer store: the indexes serve list and stats") {
  TimerFixture f;
  auto c = f.pool().acquire();
  auto plan = [&](std::string sql) {
    auto st = c->prepare("EXPLAIN QUERY PLAN " + sql);
    REQUIRE(st);
    std::string out;
    while (st->step().value()) out += std::string(st->column_text(3)) + "\n";
    return out;
  };
  const std::string by_start = plan(
      "SELECT id FROM sessions WHERE uid = 1 AND started_at >= 0 AND started_at < 9 AND id > 0 "
      "ORDER BY started_at, id LIMIT 10");
  CHECK(by_start.find("USING PRIMARY KEY (uid=? AND started_at>? AND started_at<?)") != std::string::npos);
  CHECK(by_start.find("TEMP B-TREE") == std::string::npos);  // no sort: key order is id order
  CHECK(plan("SELECT id FROM sessions WHERE uid = 1 AND started_at >= 0 AND started_at < 9 AND id > 0 AND task = 'a' "
             "ORDER BY started_at, id LIMIT 10")
            .find("sessions_by_task") != std::string::npos);
  const std::string by_tag =
      plan("SELECT s.id FROM session_tags t JOIN sessions s ON s.uid = t.uid AND s.started_at = t.started_at AND "
           "s.id = t.session_id WHERE t.uid = 1 AND t.tag = 'x' AND t.started_at >= 0 AND t.started_at < 9 AND "
           "t.session_id > 0 ORDER BY t.started_at, t.session_id");
  CHECK(by_tag.find("session_tags_by_tag") != std::string::npos);
  CHECK(by_tag.find("TEMP B-TREE") == std::string::npos);
  CHECK(plan("SELECT id FROM sessions WHERE uid = 1 AND started_at >= 0 AND started_at < 9 AND id > 0 AND state = 0 "
             "AND state < 2 ORDER BY started_at, id LIMIT 10")
            .find("sessions_one_active") != std::string::npos);
  CHECK(plan("SELECT started_at FROM sessions WHERE uid = 1 AND started_at >= 0 AND started_at < 9")
            .find("USING PRIMARY KEY") != std::string::npos);
  CHECK(plan("SELECT state FROM sessions WHERE id = 5 AND uid = 1").find("sessions_by_id") != std::string::npos);
}

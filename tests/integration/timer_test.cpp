// timer.* against the real daemon: every op, every legal and illegal transition, bad
// input, both encodings, paging over the wire, uid isolation (a client run as another
// uid), restart with a running session, and a SIGKILL in the middle of writers of
// several uids after which every acknowledged write must still be there.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "daemon_process.hpp"
#include "ipc/client.hpp"
#include "ipc/msgpack_writer.hpp"
#include "ipc/timestamp.hpp"
#include "raw_connection.hpp"
#include "request_args.hpp"

using namespace durationd::test;
using namespace std::chrono_literals;
namespace ipc = durationd::ipc;
namespace json = boost::json;

namespace {

using Args = RequestArgs;

json::object ok(const ipc::Response& r) {
  INFO(r.error_code << ": " << r.error_message);
  REQUIRE(r.ok);
  auto v = json::parse(result_json(r));
  REQUIRE(v.is_object());
  return v.as_object();
}

void fails(const ipc::Response& r, std::string_view code, std::string_view mentions = {}) {
  INFO("expected " << code << " mentioning '" << mentions << "', got " << (r.ok ? "ok " + result_json(r) : r.error_code + ": " + r.error_message));
  REQUIRE_FALSE(r.ok);
  CHECK(r.error_code == code);
  if (!mentions.empty()) CHECK(r.error_message.find(mentions) != std::string::npos);
}

std::int64_t num(const json::object& o, std::string_view k) { return o.at(k).to_number<std::int64_t>(); }
std::string text(const json::object& o, std::string_view k) { return std::string(o.at(k).as_string()); }

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The socket and its folder opened to everyone, for clients run as other uids.
void open_to_all(const DaemonProcess& d) {
  REQUIRE(::chmod(d.dir().c_str(), 0711) == 0);
  REQUIRE(::chmod(d.socket().c_str(), 0666) == 0);
}

std::vector<std::string> ctl(const DaemonProcess& d, std::vector<std::string> words) {
  std::vector<std::string> out{durationctl_for_all(), "--socket", d.socket().string()};
  out.insert(out.end(), words.begin(), words.end());
  return out;
}

}  // namespace

TEST_CASE("timer: every op over the wire, and the session map field by field") {
  DaemonProcess daemon;
  ipc::Client c(daemon.socket());
  const std::int64_t before = now_ms();

  auto s = ok(call(c, "timer.start",
                   Args().str("task", "write report").strs("tags", {"work", "writing"}).uint("planned_ms", 1'500'000)
                       .str("note", "first draft")));
  const std::int64_t id = num(s, "id");
  CHECK(id == 1);
  CHECK(text(s, "task") == "write report");
  CHECK(json::serialize(s.at("tags")) == R"(["work","writing"])");
  CHECK(text(s, "state") == "running");
  CHECK(s.at("ended_at").is_null());
  CHECK(num(s, "planned_ms") == 1'500'000);
  CHECK(num(s, "active_ms") >= 0);
  CHECK(num(s, "paused_ms") == 0);
  CHECK(s.at("interruptions").as_array().empty());
  CHECK(s.at("focus").is_null());
  CHECK(text(s, "note") == "first draft");
  CHECK(s.size() == 12);
  // Timestamps are the timestamp extension (binary mode): JSON shows them as $ts.
  const auto started = ipc::parse_rfc3339(std::string(s.at("started_at").as_object().at("$ts").as_string()));
  REQUIRE(started);
  CHECK(started->seconds * 1000 >= before - 1000);

  std::this_thread::sleep_for(150ms);
  s = ok(call(c, "timer.pause", Args().uint("id", id)));
  CHECK(text(s, "state") == "paused");
  CHECK(num(s, "active_ms") >= 150);
  std::this_thread::sleep_for(100ms);
  s = ok(call(c, "timer.get", Args().uint("id", id)));
  CHECK(num(s, "paused_ms") >= 100);  // counted up to now
  s = ok(call(c, "timer.interrupt", Args().uint("id", id).str("reason", "phone")));  // also while paused
  CHECK(s.at("interruptions").as_array().size() == 1);
  s = ok(call(c, "timer.resume", Args().uint("id", id)));
  CHECK(text(s, "state") == "running");
  s = ok(call(c, "timer.interrupt", Args().uint("id", id)));
  const auto& interruptions = s.at("interruptions").as_array();
  REQUIRE(interruptions.size() == 2);
  CHECK(text(interruptions[0].as_object(), "reason") == "phone");
  CHECK(text(interruptions[1].as_object(), "reason") == "");
  CHECK(interruptions[1].as_object().at("at").as_object().contains("$ts"));

  s = ok(call(c, "timer.stop", Args().uint("id", id).uint("focus", 4).str("note", "done")));
  CHECK(text(s, "state") == "completed");
  CHECK(num(s, "focus") == 4);
  CHECK(text(s, "note") == "done");
  CHECK(s.at("ended_at").is_object());
  const std::int64_t active = num(s, "active_ms");
  const std::int64_t paused = num(s, "paused_ms");
  CHECK(active >= 150);
  CHECK(paused >= 100);
  // An ended session stands still.
  std::this_thread::sleep_for(50ms);
  const auto again = ok(call(c, "timer.get", Args().uint("id", id)));
  CHECK(num(again, "active_ms") == active);
  CHECK(json::serialize(again) == json::serialize(s));

  // Another one, abandoned, with no optional fields; then list, stats, delete.
  const auto second = ok(call(c, "timer.start", Args().str("task", "other")));
  CHECK(json::serialize(second.at("tags")) == "[]");
  CHECK(second.at("planned_ms").is_null());
  CHECK(text(second, "note") == "");
  const auto abandoned = ok(call(c, "timer.stop", Args().uint("id", 2).str("outcome", "abandoned").nil("focus")));
  CHECK(text(abandoned, "state") == "abandoned");
  CHECK(text(abandoned, "note") == "");  // no note given: kept

  auto list = ok(call(c, "timer.list"));
  CHECK(list.at("sessions").as_array().size() == 2);
  CHECK(list.at("next_after_id").is_null());
  list = ok(call(c, "timer.list", Args().uint("limit", 1)));
  CHECK(list.at("sessions").as_array().size() == 1);
  CHECK(num(list, "next_after_id") == 1);
  list = ok(call(c, "timer.list", Args().uint("limit", 1).uint("after_id", 1)));
  CHECK(num(list.at("sessions").as_array()[0].as_object(), "id") == 2);
  CHECK(list.at("next_after_id").is_null());
  CHECK(ok(call(c, "timer.list", Args().str("tag", "work"))).at("sessions").as_array().size() == 1);
  CHECK(ok(call(c, "timer.list", Args().str("state", "abandoned"))).at("sessions").as_array().size() == 1);
  CHECK(ok(call(c, "timer.list", Args().str("task", "other"))).at("sessions").as_array().size() == 1);
  CHECK(ok(call(c, "timer.list", Args().ts("from", now_ms() + 60'000))).at("sessions").as_array().empty());
  CHECK(ok(call(c, "timer.list", Args().ts("to", before - 60'000))).at("sessions").as_array().empty());

  const auto stats = ok(call(c, "timer.stats", Args().str("group_by", "task").sint("tz_offset_min", -300)));
  const auto& groups = stats.at("groups").as_array();
  REQUIRE(groups.size() == 2);
  CHECK(text(groups[1].as_object(), "key") == "write report");
  CHECK(num(groups[1].as_object(), "interruptions") == 2);
  CHECK(num(groups[1].as_object(), "planned_ms") == 1'500'000);
  CHECK(groups[1].as_object().at("focus_avg").to_number<double>() == 4.0);
  CHECK(groups[0].as_object().at("focus_avg").is_null());
  const auto& totals = stats.at("totals").as_object();
  CHECK(num(totals, "sessions") == 2);
  CHECK(num(totals, "completed") == 1);
  CHECK(num(totals, "abandoned") == 1);
  CHECK(totals.size() == 7);
  CHECK(num(stats, "streak_days") == 1);
  const auto by_day = ok(call(c, "timer.stats", Args().str("group_by", "day")));
  REQUIRE(by_day.at("groups").as_array().size() == 1);
  CHECK(text(by_day.at("groups").as_array()[0].as_object(), "key").size() == 10);

  CHECK(ok(call(c, "timer.delete", Args().uint("id", 2))).at("deleted").as_bool());
  CHECK_FALSE(ok(call(c, "timer.delete", Args().uint("id", 2))).at("deleted").as_bool());
  fails(call(c, "timer.get", Args().uint("id", 2)), "NOT_FOUND");
  // Ids are never reused.
  CHECK(num(ok(call(c, "timer.start", Args().str("task", "third"))), "id") == 3);
}

TEST_CASE("timer: brief writes answer with interruption_count instead of the growing list") {
  DaemonProcess daemon;
  ipc::Client c(daemon.socket());
  const auto started = ok(call(c, "timer.start", Args().str("task", "t").boolean("brief", true)));
  CHECK(started.at("interruption_count").as_int64() == 0);
  CHECK(!started.contains("interruptions"));
  const auto id = static_cast<std::uint64_t>(num(started, "id"));
  for (int i = 0; i < 3; ++i) ok(call(c, "timer.interrupt", Args().uint("id", id).str("reason", "r")));
  const auto brief = ok(call(c, "timer.interrupt", Args().uint("id", id).boolean("brief", true)));
  CHECK(brief.at("interruption_count").as_int64() == 4);
  CHECK(!brief.contains("interruptions"));
  CHECK(brief.size() == 12);  // every other field of the session is there
  // Without it (or with false) the answer is the contract's, list and all.
  const auto full = ok(call(c, "timer.pause", Args().uint("id", id).boolean("brief", false)));
  CHECK(full.at("interruptions").as_array().size() == 4);
  CHECK(!full.contains("interruption_count"));
  CHECK(ok(call(c, "timer.stop", Args().uint("id", id).boolean("brief", true))).at("interruption_count").as_int64() == 4);
  CHECK(ok(call(c, "timer.get", Args().uint("id", id))).at("interruptions").as_array().size() == 4);
  // protocol.md: keys it does not name are ignored, so a `brief` that is not true is too.
  const auto other = ok(call(c, "timer.start", Args().str("task", "t").str("brief", "yes")));
  CHECK(other.contains("interruptions"));
}

TEST_CASE("timer: illegal transitions are CONFLICT, unknown ids NOT_FOUND") {
  DaemonProcess daemon;
  ipc::Client c(daemon.socket());
  const std::int64_t id = num(ok(call(c, "timer.start", Args().str("task", "t"))), "id");

  fails(call(c, "timer.start", Args().str("task", "second")), "CONFLICT", "session 1 is running");
  fails(call(c, "timer.resume", Args().uint("id", id)), "CONFLICT");
  ok(call(c, "timer.pause", Args().uint("id", id)));
  fails(call(c, "timer.pause", Args().uint("id", id)), "CONFLICT");
  fails(call(c, "timer.start", Args().str("task", "second")), "CONFLICT", "session 1 is paused");
  ok(call(c, "timer.stop", Args().uint("id", id)));  // a paused session may be stopped
  for (const char* op : {"timer.pause", "timer.resume", "timer.interrupt", "timer.stop"})
    fails(call(c, op, Args().uint("id", id)), "CONFLICT", "has ended");
  for (const char* op : {"timer.pause", "timer.resume", "timer.interrupt", "timer.stop", "timer.get"})
    fails(call(c, op, Args().uint("id", 999)), "NOT_FOUND");
  fails(call(c, "timer.get", Args().uint("id", 0)), "NOT_FOUND");
  // The uid may start again once the active one has ended.
  CHECK(num(ok(call(c, "timer.start", Args().str("task", "next"))), "id") == 2);
  // The connection stays open after every error.
  CHECK(c.call("ping").ok);
}

TEST_CASE("timer: bad input is refused with the contract's code, naming the field") {
  DaemonProcess daemon;
  ipc::Client c(daemon.socket());
  const std::string task257(257, 't'), tag65(65, 'g'), note4097(4097, 'n'), reason257(257, 'r');
  std::vector<std::string> tags17;
  for (int i = 0; i < 17; ++i) tags17.push_back("t" + std::to_string(i));

  fails(call(c, "timer.start"), "BAD_REQUEST", "task");
  fails(call(c, "timer.start", Args().str("task", "")), "BAD_REQUEST", "task");
  fails(call(c, "timer.start", Args().str("task", task257)), "TOO_LARGE", "task");
  fails(call(c, "timer.start", Args().uint("task", 5)), "BAD_REQUEST", "task");
  fails(call(c, "timer.start", Args().str("task", "t").strs("tags", {tag65})), "TOO_LARGE", "tags");
  fails(call(c, "timer.start", Args().str("task", "t").strs("tags", {""})), "BAD_REQUEST", "tags");
  fails(call(c, "timer.start", Args().str("task", "t").strs("tags", tags17)), "BAD_REQUEST", "tags");
  fails(call(c, "timer.start", Args().str("task", "t").str("tags", "x")), "BAD_REQUEST", "tags");
  fails(call(c, "timer.start", Args().str("task", "t").str("note", note4097)), "TOO_LARGE", "note");
  fails(call(c, "timer.start", Args().str("task", "t").sint("planned_ms", -1)), "BAD_REQUEST", "planned_ms");
  // The limits themselves are fine.
  std::vector<std::string> tags16(tags17.begin(), tags17.end() - 1);
  const auto max = ok(call(c, "timer.start", Args().str("task", std::string(256, 't')).strs("tags", tags16)
                                                 .str("note", std::string(4096, 'n'))));
  const std::int64_t id = num(max, "id");

  fails(call(c, "timer.interrupt", Args().uint("id", id).str("reason", reason257)), "TOO_LARGE", "reason");
  ok(call(c, "timer.interrupt", Args().uint("id", id).str("reason", std::string(256, 'r'))));
  fails(call(c, "timer.pause"), "BAD_REQUEST", "id");
  fails(call(c, "timer.pause", Args().str("id", "1")), "BAD_REQUEST", "id");
  fails(call(c, "timer.stop", Args().uint("id", id).uint("focus", 0)), "BAD_REQUEST", "focus");
  fails(call(c, "timer.stop", Args().uint("id", id).uint("focus", 6)), "BAD_REQUEST", "focus");
  fails(call(c, "timer.stop", Args().uint("id", id).str("outcome", "done")), "BAD_REQUEST", "outcome");
  fails(call(c, "timer.stop", Args().uint("id", id).str("outcome", "running")), "BAD_REQUEST", "outcome");
  fails(call(c, "timer.stop", Args().uint("id", id).str("note", note4097)), "TOO_LARGE", "note");
  // None of those changed the session.
  CHECK(text(ok(call(c, "timer.get", Args().uint("id", id))), "state") == "running");

  fails(call(c, "timer.list", Args().uint("limit", 1001)), "BAD_REQUEST", "limit");
  fails(call(c, "timer.list", Args().uint("limit", 0)), "BAD_REQUEST", "limit");
  ok(call(c, "timer.list", Args().uint("limit", 1000)));
  fails(call(c, "timer.list", Args().str("state", "sleeping")), "BAD_REQUEST", "state");
  fails(call(c, "timer.list", Args().str("from", "yesterday")), "BAD_REQUEST", "from");
  fails(call(c, "timer.list", Args().str("task", task257)), "TOO_LARGE", "task");
  fails(call(c, "timer.list", Args().str("tag", tag65)), "TOO_LARGE", "tag");
  fails(call(c, "timer.stats"), "BAD_REQUEST", "group_by");
  fails(call(c, "timer.stats", Args().str("group_by", "week")), "BAD_REQUEST", "group_by");
  fails(call(c, "timer.stats", Args().str("group_by", "day").sint("tz_offset_min", 1440)), "BAD_REQUEST",
        "tz_offset_min");
  fails(call(c, "timer.stats", Args().str("group_by", "day").str("tz_offset_min", "+01:00")), "BAD_REQUEST",
        "tz_offset_min");
  ok(call(c, "timer.stats", Args().str("group_by", "day").sint("tz_offset_min", -720)));
  // An optional argument given as nil is the same as one left out.
  ok(call(c, "timer.list", Args().nil("limit").nil("from").nil("state")));
}

TEST_CASE("timer: JSON-lines clients read and send timestamps as $ts") {
  DaemonProcess daemon;
  RawConnection c(daemon.socket());
  c.send(R"({"op":"timer.start","id":1,"args":{"task":"json","tags":["a"]}})" "\n");
  auto v = json::parse(c.read_line()).as_object();
  REQUIRE(v.at("ok").as_bool());
  const auto& s = v.at("result").as_object();
  const std::string started(s.at("started_at").as_object().at("$ts").as_string());
  CHECK(started.back() == 'Z');
  CHECK((started.size() == 24 || started.size() == 20));  // milliseconds: ...T19:00:00.123Z, or ...T19:00:00Z
  c.send(R"({"op":"timer.list","id":2,"args":{"from":{"$ts":")" + started + R"("},"to":null}})" "\n");
  v = json::parse(c.read_line()).as_object();
  CHECK(v.at("result").as_object().at("sessions").as_array().size() == 1);
  c.send(R"({"op":"timer.list","id":3,"args":{"to":{"$ts":")" + started + R"("}}})" "\n");
  v = json::parse(c.read_line()).as_object();
  CHECK(v.at("result").as_object().at("sessions").as_array().empty());  // [from, to): to excludes it
  c.send(R"({"op":"timer.stats","id":4,"args":{"group_by":"tag","tz_offset_min":330}})" "\n");
  v = json::parse(c.read_line()).as_object();
  CHECK(v.at("result").as_object().at("groups").as_array().size() == 1);
  c.send(R"({"op":"timer.stop","id":5,"args":{"id":1,"focus":9}})" "\n");
  v = json::parse(c.read_line()).as_object();
  CHECK(v.at("error").as_object().at("code").as_string() == "BAD_REQUEST");
}

TEST_CASE("timer: paging over the wire across 2,000 sessions") {
  DaemonProcess daemon;
  ipc::Client c(daemon.socket());
  // Pipelined: a fresh daemon gives ids 1, 2, 3... so each stop can name its start.
  constexpr int kSessions = 2000;
  std::uint64_t next = 1, received = 1;
  for (int i = 1; i <= kSessions; ++i) {
    const std::string start = Args().str("task", i % 2 ? "odd" : "even").packed();
    const std::string stop = Args().uint("id", static_cast<std::uint64_t>(i)).packed();
    c.send("timer.start", next++, ipc::as_bytes(start));
    c.send("timer.stop", next++, ipc::as_bytes(stop));
    if (i % 250 != 0) continue;  // read as we go, so neither side's buffers fill up
    for (; received < next; ++received) {
      const auto r = c.receive();
      REQUIRE(r.id == received);
      REQUIRE(r.ok);
    }
  }
  for (std::uint64_t limit : {1000u, 333u}) {
    std::vector<std::int64_t> ids;
    std::optional<std::int64_t> after;
    int pages = 0;
    for (;;) {
      Args a;
      a.uint("limit", limit);
      if (after) a.uint("after_id", static_cast<std::uint64_t>(*after));
      const auto page = ok(call(c, "timer.list", a));
      ++pages;
      for (const auto& s : page.at("sessions").as_array()) ids.push_back(num(s.as_object(), "id"));
      if (page.at("next_after_id").is_null()) break;
      after = num(page, "next_after_id");
      CHECK(*after == ids.back());
    }
    CHECK(pages == static_cast<int>((kSessions + limit - 1) / limit));
    REQUIRE(ids.size() == kSessions);
    for (int i = 0; i < kSessions; ++i) CHECK(ids[static_cast<std::size_t>(i)] == i + 1);
  }
  const auto odd = ok(call(c, "timer.list", Args().str("task", "odd").uint("limit", 1000)));
  CHECK(odd.at("sessions").as_array().size() == 1000);
  CHECK(odd.at("next_after_id").is_null());
  const auto stats = ok(call(c, "timer.stats", Args().str("group_by", "task")));
  CHECK(num(stats.at("totals").as_object(), "completed") == kSessions);
}

TEST_CASE("timer: concurrent writers share commits and every write is acknowledged once") {
  DaemonProcess daemon;
  ipc::Client first(daemon.socket());
  const std::int64_t id = num(ok(call(first, "timer.start", Args().str("task", "busy"))), "id");

  constexpr int kConnections = 50, kEach = 40;
  std::atomic<int> acknowledged{0}, failed{0};
  const auto t0 = std::chrono::steady_clock::now();
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kConnections; ++t)
      threads.emplace_back([&, t] {
        ipc::Client c(daemon.socket());
        const std::string args = Args().uint("id", static_cast<std::uint64_t>(id)).str("reason", "c" + std::to_string(t)).packed();
        for (int i = 0; i < kEach; ++i) (c.call("timer.interrupt", ipc::as_bytes(args)).ok ? acknowledged : failed)++;
      });
  }
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "timer.interrupt: " << acknowledged << " durable writes from " << kConnections << " connections in "
            << seconds << " s (" << acknowledged / seconds << "/s; each response carries the whole, growing session)\n";
  CHECK(failed == 0);
  CHECK(acknowledged == kConnections * kEach);
  const auto s = ok(call(first, "timer.get", Args().uint("id", static_cast<std::uint64_t>(id))));
  CHECK(s.at("interruptions").as_array().size() == static_cast<std::size_t>(kConnections * kEach));

  // Many connections of one uid racing to start: exactly one wins.
  ok(call(first, "timer.stop", Args().uint("id", static_cast<std::uint64_t>(id))));
  std::atomic<int> started{0}, conflicts{0};
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 20; ++t)
      threads.emplace_back([&] {
        ipc::Client c(daemon.socket());
        const auto r = call(c, "timer.start", Args().str("task", "race"));
        (r.ok ? started : conflicts)++;
      });
  }
  CHECK(started == 1);
  CHECK(conflicts == 19);
}

TEST_CASE("timer: two uids never see each other's sessions") {
  DaemonProcess daemon;
  open_to_all(daemon);
  ipc::Client root(daemon.socket());
  const std::int64_t mine = num(ok(call(root, "timer.start", Args().str("task", "root's secret task"))), "id");
  ok(call(root, "timer.interrupt", Args().uint("id", static_cast<std::uint64_t>(mine)).str("reason", "r")));
  const std::string id = std::to_string(mine);

  std::string out;
  auto nobody = [&](std::vector<std::string> words) {
    return run_command(as_uid(65534, ctl(daemon, std::move(words))), {}, &out);
  };
  for (const char* op : {"get", "pause", "resume", "stop"}) {
    const auto r = nobody({"timer", op, id});
    CHECK(r.exit_code == 1);
    CHECK(r.stderr_text.find("NOT_FOUND") != std::string::npos);
  }
  auto r = nobody({"timer", "interrupt", id, "--reason", "x"});
  CHECK(r.stderr_text.find("NOT_FOUND") != std::string::npos);
  CHECK(nobody({"--json", "timer", "delete", id}).exit_code == 0);
  CHECK(out == "{\"deleted\":false}\n");
  CHECK(nobody({"--json", "timer", "list"}).exit_code == 0);
  CHECK(out == "{\"sessions\":[],\"next_after_id\":null}\n");
  CHECK(nobody({"--json", "timer", "stats", "--by", "task"}).exit_code == 0);
  CHECK(out.find("\"sessions\":0") != std::string::npos);
  CHECK(out.find("secret") == std::string::npos);
  // The other uid has its own one-active-session rule, its own ids' view.
  REQUIRE(nobody({"--json", "timer", "start", "nobody's task"}).exit_code == 0);
  const auto theirs = json::parse(out).as_object();
  CHECK(num(theirs, "id") == mine + 1);
  CHECK(nobody({"--json", "timer", "list"}).exit_code == 0);
  CHECK(json::parse(out).as_object().at("sessions").as_array().size() == 1);
  CHECK(nobody({"--json", "hello"}).exit_code == 0);
  CHECK(out.find("\"uid\":65534") != std::string::npos);

  // And root sees only its own, untouched.
  const auto list = ok(call(root, "timer.list"));
  REQUIRE(list.at("sessions").as_array().size() == 1);
  const auto& s = list.at("sessions").as_array()[0].as_object();
  CHECK(num(s, "id") == mine);
  CHECK(text(s, "state") == "running");
  CHECK(s.at("interruptions").as_array().size() == 1);
  fails(call(root, "timer.get", Args().uint("id", static_cast<std::uint64_t>(mine + 1))), "NOT_FOUND");
  fails(call(root, "timer.stop", Args().uint("id", static_cast<std::uint64_t>(mine + 1))), "NOT_FOUND");
  CHECK_FALSE(ok(call(root, "timer.delete", Args().uint("id", static_cast<std::uint64_t>(mine + 1)))).at("deleted").as_bool());
}

TEST_CASE("timer: a session running across a restart stays running and keeps counting") {
  TempDir state;
  const auto state_dir = state.path() / "state";
  std::int64_t id = 0, active_before = 0, paused_id = 0;
  {
    DaemonProcess daemon({.state_dir = state_dir});
    ipc::Client c(daemon.socket());
    id = num(ok(call(c, "timer.start", Args().str("task", "long").strs("tags", {"x"}))), "id");
    ok(call(c, "timer.interrupt", Args().uint("id", static_cast<std::uint64_t>(id)).str("reason", "before")));
    std::this_thread::sleep_for(300ms);
    active_before = num(ok(call(c, "timer.get", Args().uint("id", static_cast<std::uint64_t>(id)))), "active_ms");
    CHECK(active_before >= 300);
    CHECK(daemon.stop(SIGTERM).exit_code == 0);
  }
  std::this_thread::sleep_for(200ms);  // down for a while: that time counts too
  {
    DaemonProcess daemon({.state_dir = state_dir});
    ipc::Client c(daemon.socket());
    auto s = ok(call(c, "timer.get", Args().uint("id", static_cast<std::uint64_t>(id))));
    CHECK(text(s, "state") == "running");
    CHECK(num(s, "active_ms") >= active_before + 200);
    CHECK(s.at("interruptions").as_array().size() == 1);
    // The daemon knows it is active: the one-session rule and the write path hold.
    fails(call(c, "timer.start", Args().str("task", "another")), "CONFLICT", "session " + std::to_string(id));
    s = ok(call(c, "timer.interrupt", Args().uint("id", static_cast<std::uint64_t>(id)).str("reason", "after")));
    CHECK(s.at("interruptions").as_array().size() == 2);
    s = ok(call(c, "timer.pause", Args().uint("id", static_cast<std::uint64_t>(id))));
    paused_id = num(s, "id");
    CHECK(daemon.stop(SIGTERM).exit_code == 0);
  }
  {
    DaemonProcess daemon({.state_dir = state_dir});
    ipc::Client c(daemon.socket());
    std::this_thread::sleep_for(100ms);
    auto s = ok(call(c, "timer.get", Args().uint("id", static_cast<std::uint64_t>(paused_id))));
    CHECK(text(s, "state") == "paused");
    CHECK(num(s, "paused_ms") >= 100);
    s = ok(call(c, "timer.stop", Args().uint("id", static_cast<std::uint64_t>(paused_id)).uint("focus", 5)));
    CHECK(text(s, "state") == "completed");
    CHECK(num(ok(call(c, "timer.start", Args().str("task", "next"))), "id") == id + 1);
  }
}

TEST_CASE("timer: SIGKILL while several uids write loses no acknowledged write") {
  TempDir state;
  const auto state_dir = state.path() / "state";
  auto daemon = std::make_unique<DaemonProcess>(DaemonOptions{.state_dir = state_dir});
  open_to_all(*daemon);
  const std::string socket = daemon->socket().string();

  // What each session was last acknowledged as: its state and interruption count.
  struct Acked {
    std::string state;
    std::size_t interruptions = 0;
  };
  using Ledger = std::map<std::int64_t, Acked>;
  auto record = [](Ledger& ledger, const json::object& s) {
    Acked& a = ledger[num(s, "id")];
    a.state = text(s, "state");
    a.interruptions = std::max(a.interruptions, s.at("interruptions").as_array().size());
  };

  // Root: in-process, start / interrupt x3 / stop as fast as the commits allow.
  Ledger root_ledger;
  std::atomic<bool> stop_root{false};
  std::jthread root_writer([&] {
    try {
      ipc::Client c(daemon->socket());
      while (!stop_root) {
        const auto started = call(c, "timer.start", Args().str("task", "root"));
        if (!started.ok) break;
        const auto s = json::parse(result_json(started)).as_object();
        record(root_ledger, s);
        const auto id = static_cast<std::uint64_t>(num(s, "id"));
        for (int i = 0; i < 3; ++i) {
          const auto r = call(c, "timer.interrupt", Args().uint("id", id).str("reason", "i"));
          if (!r.ok) return;
          record(root_ledger, json::parse(result_json(r)).as_object());
        }
        const auto r = call(c, "timer.stop", Args().uint("id", id));
        if (!r.ok) return;
        record(root_ledger, json::parse(result_json(r)).as_object());
      }
    } catch (const std::exception&) {
      // The daemon died mid-call: whatever was acknowledged is in the ledger.
    }
  });

  // Two other uids: durationctl in a shell loop; each acknowledged answer is one JSON
  // line on stdout (a failed call prints nothing there).
  const std::string loop =
      "i=0; while [ $i -lt 150 ]; do "
      "\"$0\" --socket \"$1\" --json timer start \"task $i\"; "
      "\"$0\" --socket \"$1\" --json timer interrupt --reason r; "
      "\"$0\" --socket \"$1\" --json timer stop; "
      "i=$((i+1)); done; exit 0";
  std::map<std::uint32_t, std::string> outputs{{65534u, ""}, {65533u, ""}};
  std::vector<std::jthread> others;
  for (std::uint32_t uid : {65534u, 65533u})
    others.emplace_back([&, uid] {
      std::string out;
      try {
        run_command(as_uid(uid, {"/bin/sh", "-c", loop, durationctl_for_all(), socket}), {}, &out, 120s);
      } catch (const std::exception& e) {
        out = std::string("spawn failed: ") + e.what();
      }
      outputs.at(uid) = out;  // its own entry; the map is read after the threads are joined
    });

  std::this_thread::sleep_for(1500ms);
  const auto killed = daemon->stop(SIGKILL);
  CHECK(killed.signal == SIGKILL);
  stop_root = true;
  root_writer.join();
  others.clear();  // joins: the loops run out quickly once nobody answers
  daemon.reset();

  daemon = std::make_unique<DaemonProcess>(DaemonOptions{.state_dir = state_dir});
  open_to_all(*daemon);
  INFO("root acknowledged " << root_ledger.size() << " sessions");
  REQUIRE(root_ledger.size() > 3);
  auto check_ledger = [](const Ledger& ledger, const std::map<std::int64_t, json::object>& now) {
    for (const auto& [id, acked] : ledger) {
      INFO("session " << id << " acknowledged as " << acked.state << " with " << acked.interruptions << " interruptions");
      const auto it = now.find(id);
      REQUIRE(it != now.end());
      const auto& s = it->second;
      CHECK(s.at("interruptions").as_array().size() >= acked.interruptions);
      if (acked.state == "completed" || acked.state == "abandoned") CHECK(text(s, "state") == acked.state);
    }
  };
  // Every session `uid` can list (root: its own; they are per uid like everything else).
  auto all_sessions = [&](std::uint32_t uid) {
    std::map<std::int64_t, json::object> by_id;
    std::string out;
    auto argv = ctl(*daemon, {"--json", "timer", "list", "--all"});
    if (uid != 0) argv = as_uid(uid, argv);
    REQUIRE(run_command(argv, {}, &out).exit_code == 0);
    INFO("list: " << out.substr(0, 300));
    const auto listed = json::parse(out);
    REQUIRE(listed.is_object());
    for (const auto& s : listed.as_object().at("sessions").as_array())
      by_id[num(s.as_object(), "id")] = s.as_object();
    return by_id;
  };
  check_ledger(root_ledger, all_sessions(0));

  for (const auto& [uid, out] : outputs) {
    Ledger ledger;
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.empty()) continue;
      INFO("line: " << line);
      const auto v = json::parse(line);
      REQUIRE(v.is_object());
      record(ledger, v.as_object());
    }
    INFO("uid " << uid << " acknowledged " << ledger.size() << " sessions");
    CHECK(!ledger.empty());
    check_ledger(ledger, all_sessions(uid));
  }
}

TEST_CASE("durationctl timer: human tables, --json, export") {
  DaemonProcess daemon;
  std::string out;
  auto run = [&](std::vector<std::string> words) { return run_command(ctl(daemon, std::move(words)), {}, &out); };

  REQUIRE(run({"timer", "start", "write", "the", "report", "--tag", "work", "--planned", "25m", "--note", "n"}).exit_code == 0);
  CHECK(out.find("running") != std::string::npos);
  CHECK(out.find("write the report  [work]") != std::string::npos);
  CHECK(out.find("planned: 0:25:00") != std::string::npos);
  CHECK(run({"timer", "pause"}).exit_code == 0);  // no id: your running session
  CHECK(out.find("paused") != std::string::npos);
  CHECK(run({"timer", "resume", "1"}).exit_code == 0);
  CHECK(run({"timer", "interrupt", "--reason", "door\x1b[31m"}).exit_code == 0);
  CHECK(out.find("door?[31m") != std::string::npos);  // control characters never reach the terminal
  CHECK(run({"timer", "stop", "--focus", "4"}).exit_code == 0);
  CHECK(out.find("completed") != std::string::npos);
  CHECK(run({"--json", "timer", "get", "1"}).exit_code == 0);
  const auto s = json::parse(out).as_object();
  CHECK(num(s, "focus") == 4);
  CHECK(num(s, "planned_ms") == 1'500'000);

  const auto failed = run({"timer", "stop"});
  CHECK(failed.exit_code == 1);
  CHECK(failed.stderr_text.find("no running or paused session") != std::string::npos);
  CHECK(run({"timer", "stop", "1"}).stderr_text.find("CONFLICT") != std::string::npos);
  CHECK(run({"timer", "start", "=cmd", "--tag", "a,b"}).exit_code == 0);
  CHECK(run({"timer", "stop", "2", "--abandon"}).exit_code == 0);

  CHECK(run({"timer", "list"}).exit_code == 0);
  CHECK(out.find("ID  STATE") != std::string::npos);
  CHECK(out.find("abandoned") != std::string::npos);
  CHECK(run({"timer", "list", "--limit", "1"}).exit_code == 0);
  CHECK(out.find("more: --after 1") != std::string::npos);
  CHECK(run({"--json", "timer", "list", "--state", "completed"}).exit_code == 0);
  CHECK(json::parse(out).as_object().at("sessions").as_array().size() == 1);

  CHECK(run({"timer", "stats", "--by", "task", "--tz", "+02:00"}).exit_code == 0);
  CHECK(out.find("TASK") != std::string::npos);
  CHECK(out.find("write the report") != std::string::npos);
  CHECK(out.find("streak: 1 day") != std::string::npos);
  CHECK(out.find("\u2588") != std::string::npos);  // the bar chart
  CHECK(run({"timer", "stats", "--from", "-7d"}).exit_code == 0);
  CHECK(out.find("DAY") != std::string::npos);
  CHECK(run({"--json", "timer", "stats", "--by", "tag"}).exit_code == 0);
  CHECK(json::parse(out).as_object().at("groups").as_array().size() == 2);

  CHECK(run({"timer", "export", "--from", "-1d", "--to", "now"}).exit_code == 0);
  std::istringstream csv(out);
  std::string header, row1, row2;
  std::getline(csv, header);
  std::getline(csv, row1);
  std::getline(csv, row2);
  CHECK(header == "id,task,tags,state,started_at,ended_at,planned_ms,active_ms,paused_ms,interruptions,focus,note\r");
  CHECK(row1.rfind("1,write the report,work,completed,", 0) == 0);
  CHECK(row2.rfind("2,'=cmd,\"a,b\",abandoned,", 0) == 0);  // quoted, and no formula
  CHECK(run({"timer", "export", "--format", "jsonl"}).exit_code == 0);
  std::istringstream jl(out);
  std::string line;
  int n = 0;
  while (std::getline(jl, line)) CHECK(num(json::parse(line).as_object(), "id") == ++n);
  CHECK(n == 2);
  const auto file = daemon.dir() / "export.csv";
  CHECK(run({"timer", "export", "--output", file.string()}).exit_code == 0);
  CHECK(read_file(file).rfind("id,task,", 0) == 0);

  CHECK(run({"timer", "delete", "2"}).exit_code == 0);
  CHECK(out == "deleted session 2\n");
  CHECK(run({"timer"}).exit_code == 2);
  CHECK(run({"timer", "frobnicate"}).exit_code == 2);
  CHECK(run({"timer", "start"}).exit_code == 2);
  CHECK(run({"timer", "stats", "--tz", "somewhere"}).exit_code == 2);
  CHECK(run({"timer", "list", "--from", "yesterday-ish"}).exit_code == 2);
  CHECK(run({"timer", "start", "x", "--planned", "soon"}).exit_code == 2);
}

TEST_CASE("timer: admin.status counts sessions") {
  DaemonProcess daemon;
  ipc::Client c(daemon.socket());
  ok(call(c, "timer.start", Args().str("task", "t")));
  const auto status = ok(c.call("admin.status"));
  const auto& timer = status.at("timer").as_object();
  CHECK(num(timer, "sessions") == 1);
  CHECK(num(timer, "running") == 1);
}

// A benchmark, not a test (integration_tests "[.bench]"): durable timer.interrupt on one
// session from 50 connections, by the session's size (every response carries it all).
TEST_CASE("timer: interrupt throughput", "[.bench]") {
  DaemonProcess daemon;
  ipc::Client first(daemon.socket());
  const auto id = static_cast<std::uint64_t>(num(ok(call(first, "timer.start", Args().str("task", "bench"))), "id"));
  constexpr int kConnections = 50;
  std::vector<std::unique_ptr<ipc::Client>> clients;
  for (int i = 0; i < kConnections; ++i) clients.push_back(std::make_unique<ipc::Client>(daemon.socket()));
  const std::string args = Args().uint("id", id).str("reason", "x").packed();
  for (int round = 0; round < 4; ++round) {
    constexpr int kEach = 50;
    std::atomic<int> acked{0};
    const auto t0 = std::chrono::steady_clock::now();
    {
      std::vector<std::jthread> threads;
      for (auto& c : clients)
        threads.emplace_back([&, cl = c.get()] {
          for (int i = 0; i < kEach; ++i) acked += cl->call("timer.interrupt", ipc::as_bytes(args)).ok;
        });
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "interrupts " << round * kConnections * kEach << ".." << (round + 1) * kConnections * kEach << ": "
              << acked / s << " acknowledged writes/s\n";
  }
}

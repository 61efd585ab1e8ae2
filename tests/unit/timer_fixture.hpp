// What the timer unit tests share: a real timers.db (SQLCipher, the timer schema) in a
// temporary state dir, the timer store, and an engine on a clock the test moves by hand.
// Jobs are committed the way the group committer would: each in a transaction on a
// pooled connection. Sessions at chosen historical times come from moving the clock.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "daemon/timer_clock.hpp"
#include "daemon/timer_engine.hpp"
#include "daemon/timer_stats.hpp"
#include "daemon/timer_store.hpp"
#include "ipc/json_codec.hpp"
#include "storage/store.hpp"
#include "tests/support/catch_result.hpp"

namespace durationd::test {

using namespace durationd::app;

// 2026-03-09T12:00:00Z, a Monday.
inline constexpr std::int64_t kT0 = 1'773'057'600'000;
inline constexpr std::int64_t kMinute = 60'000;
inline constexpr std::int64_t kHour = 3'600'000;
inline constexpr std::int64_t kDay = 86'400'000;

struct TimerFixture {
  TimerFixture() : clock(kT0) {
    std::string pattern = (std::filesystem::temp_directory_path() / "durationd-timer-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
    open();
  }
  ~TimerFixture() {
    close();
    std::filesystem::remove_all(dir);
  }

  void open() {
    auto opened = storage::Store::open({dir, 256'000, 2}, "timer unit test passphrase",
                                       {{"timers.db", timer_migrations(), {}}});
    if (!opened) FAIL(opened.error().message);
    store = std::move(*opened);
    timer_store = std::make_unique<TimerStore>();
    engine = std::make_unique<TimerEngine>(clock, *timer_store);
    auto c = pool().acquire();
    auto snapshot = timer_store->load_snapshot(*c);
    REQUIRE(snapshot);
    for (const auto& s : engine->adopt(std::move(*snapshot))) REQUIRE(timer_store->write_rebase(*c, s));
  }
  // As a daemon stopping: the engine's memory is gone, the database stays.
  void close() {
    engine.reset();
    timer_store.reset();  // its statements before the store's connections
    store.reset();
  }
  void restart() {
    close();
    open();
  }

  storage::ConnectionPool& pool() { return store->pool("timers.db"); }

  // Commits a mutation's job in a transaction of its own.
  storage::Result<void> commit(Mutation& m) {
    REQUIRE(m.kind == Mutation::Kind::kApplied);
    auto c = pool().acquire();
    auto tx = storage::Transaction::begin(*c);
    if (!tx) return tx.error();
    auto r = m.job(*c);
    if (!r) return r;
    return tx->commit();
  }
  // Applies and commits; the session as the op left it.
  Session apply(Mutation m) {
    INFO(m.error.message);
    REQUIRE(m.kind == Mutation::Kind::kApplied);
    Session s = m.session();
    REQUIRE(commit(m));
    return s;
  }

  Session start(std::uint32_t uid, std::string_view task, std::vector<std::string_view> tags = {},
                std::optional<std::int64_t> planned = std::nullopt) {
    return apply(engine->start(uid, {task, std::move(tags), planned, ""}));
  }
  Session stop(std::uint32_t uid, std::int64_t id, SessionState outcome = SessionState::kCompleted,
               std::optional<std::uint8_t> focus = std::nullopt) {
    return apply(engine->stop(uid, id, {outcome, focus, std::nullopt}));
  }
  // A session of `minutes` active minutes started at wall time `at`.
  Session session_at(std::uint32_t uid, std::int64_t at, std::int64_t minutes, std::string_view task,
                     SessionState outcome = SessionState::kCompleted, std::optional<std::uint8_t> focus = std::nullopt,
                     std::vector<std::string_view> tags = {}) {
    clock.set_wall(at);
    const Session s = start(uid, task, std::move(tags));
    clock.advance(minutes * kMinute);
    return stop(uid, s.id, outcome, focus);
  }

  std::optional<Session> find(std::uint32_t uid, std::int64_t id) {
    auto c = pool().acquire();
    auto s = timer_store->find(*c, uid, id);
    REQUIRE(s);
    return *s;
  }
  ListPage list(const ListQuery& q) {
    auto c = pool().acquire();
    auto page = timer_store->list(*c, q, clock.now(), clock.boot_id());
    REQUIRE(page);
    return std::move(*page);
  }
  StatsResult stats(const StatsQuery& q) {
    auto c = pool().acquire();
    auto r = compute_stats(*c, *timer_store, q, clock.now(), clock.boot_id());
    REQUIRE(r);
    return std::move(*r);
  }

  std::filesystem::path dir;
  ManualTimerClock clock;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<TimerStore> timer_store;
  std::unique_ptr<TimerEngine> engine;
};

// The JSON text of a packed session, for readable assertions.
inline std::string session_json(const Session& s, ClockReading now, std::int64_t boot) {
  std::string packed, out;
  ipc::StringSink sink(packed);
  ipc::MsgpackWriter w(sink);
  pack_session(w, s, now, boot);
  REQUIRE(ipc::msgpack_to_json(ipc::as_bytes(packed), out));
  return out;
}

}  // namespace durationd::test

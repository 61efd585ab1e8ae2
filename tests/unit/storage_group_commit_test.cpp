// GroupCommitter and WorkerPool with a real SQLCipher database.
#include <sys/resource.h>

#include <atomic>
#include <csignal>
#include <chrono>
#include <future>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

#include "storage/group_commit.hpp"
#include "storage/store.hpp"
#include "storage/worker_pool.hpp"
#include "tests/support/catch_result.hpp"

using namespace durationd::storage;
namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

constexpr Migration kSchema[] = {{1, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)"}};

struct Fixture {
  Fixture() {
    std::string pattern = (fs::temp_directory_path() / "durationd-gc-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
    auto opened = Store::open({dir, 256'000, 2}, "group commit test passphrase", {{"cache.db", kSchema, {}}});
    REQUIRE(opened.has_value());
    store = std::move(*opened);
  }
  ~Fixture() {
    store.reset();
    fs::remove_all(dir);
  }
  std::int64_t rows() {
    auto c = store->pool("cache.db").acquire();
    return c->query_int("SELECT count(*) FROM t").value();
  }
  fs::path dir;
  std::unique_ptr<Store> store;
};

GroupCommitter::Job insert(std::string value) {
  return [value](Connection& c) -> Result<void> {
    auto stmt = c.prepare("INSERT INTO t(v) VALUES (?)");
    if (!stmt) return stmt.error();
    stmt->bind(1, value);
    return stmt->run();
  };
}

}  // namespace

TEST_CASE("group commit: concurrent writers share commits and every job is committed when told so") {
  Fixture f;
  std::atomic<int> ok = 0, failed = 0;
  {
    GroupCommitter committer(f.store->pool("cache.db"));
    std::vector<std::thread> writers;
    for (int w = 0; w < 8; ++w)
      writers.emplace_back([&, w] {
        for (int i = 0; i < 50; ++i)
          committer.submit(insert(std::to_string(w) + ":" + std::to_string(i)),
                           [&](Result<void> r) { (r ? ok : failed)++; });
      });
    for (auto& t : writers) t.join();
    committer.flush();
    const auto stats = committer.stats();
    CHECK(stats.jobs == 400u);
    CHECK(stats.batches < 400u);  // at least some jobs shared a commit
    CHECK(stats.largest_batch > 1u);
  }
  CHECK(ok == 400);
  CHECK(failed == 0);
  CHECK(f.rows() == 400);
}

TEST_CASE("group commit: a failing job is rolled back alone, its batch-mates commit") {
  Fixture f;
  std::vector<std::optional<bool>> outcome(3);
  {
    GroupCommitter committer(f.store->pool("cache.db"));
    committer.submit(insert("a"), [&](Result<void> r) { outcome[0] = r.has_value(); });
    committer.submit(insert("a"), [&](Result<void> r) { outcome[1] = r.has_value(); });  // UNIQUE violation
    committer.submit(insert("b"), [&](Result<void> r) { outcome[2] = r.has_value(); });
    committer.flush();
  }
  CHECK(outcome[0] == true);
  CHECK(outcome[1] == false);
  CHECK(outcome[2] == true);
  CHECK(f.rows() == 2);
}

TEST_CASE("group commit: a job after which SQLite rolled the whole transaction back fails its batch, and only "
          "what is reported committed is in the database") {
  Fixture f;
  std::vector<std::optional<bool>> outcome(3);
  {
    GroupCommitter committer(f.store->pool("cache.db"));
    // A real full disk, as a file size limit: a job whose pages must spill to the WAL
    // mid-transaction gets SQLITE_FULL, and SQLite cancels the whole transaction.
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &limit) == 0);
    const rlimit unlimited = limit;
    limit.rlim_cur = 256 << 10;
    auto spill = [](Connection& c) -> Result<void> {
      if (auto r = c.exec("PRAGMA cache_size = 8"); !r) return r;
      auto stmt = c.prepare("INSERT INTO t(v) VALUES (?)");
      if (!stmt) return stmt.error();
      stmt->bind(1, std::string(4 << 20, 'x'));
      return stmt->run();
    };
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &limit) == 0);
    committer.submit(insert("a"), [&](Result<void> r) { outcome[0] = r.has_value(); });
    committer.submit(spill, [&](Result<void> r) { outcome[1] = r.has_value(); });
    committer.submit(insert("c"), [&](Result<void> r) { outcome[2] = r.has_value(); });
    committer.flush();
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &unlimited) == 0);
  }
  CHECK(outcome[1] == false);
  auto c = f.store->pool("cache.db").acquire();
  CHECK(c->query_int("SELECT count(*) FROM t WHERE v = 'a'").value() == (outcome[0] == true ? 1 : 0));
  CHECK(c->query_int("SELECT count(*) FROM t WHERE v = 'c'").value() == (outcome[2] == true ? 1 : 0));
}

TEST_CASE("group commit and worker pool: coroutines resume on the event loop with the result") {
  Fixture f;
  GroupCommitter committer(f.store->pool("cache.db"));
  WorkerPool workers(2);
  asio::io_context io;
  const auto loop_thread = std::this_thread::get_id();
  bool committed = false, resumed_on_loop = false, read_off_loop = false;
  std::int64_t read = -1;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto r = co_await committer.async_commit(insert("x"), asio::use_awaitable);
        committed = r.has_value();
        resumed_on_loop = std::this_thread::get_id() == loop_thread;
        read = co_await workers.run([&] {
          read_off_loop = std::this_thread::get_id() != loop_thread;
          auto c = f.store->pool("cache.db").acquire();
          return c->query_int("SELECT count(*) FROM t").value();
        });
        resumed_on_loop = resumed_on_loop && std::this_thread::get_id() == loop_thread;
      },
      asio::detached);
  io.run();
  CHECK(committed);
  CHECK(resumed_on_loop);
  CHECK(read_off_loop);
  CHECK(read == 1);
}

// A job that waits, inside its batch, until the test lets it go: what is submitted
// meanwhile queues up for the next batch.
struct HeldJob {
  std::promise<void> started, release;
  GroupCommitter::Job job() {
    return [this, go = release.get_future().share()](Connection& c) {
      started.set_value();
      go.wait();
      return insert("held")(c);
    };
  }
};

TEST_CASE("group commit: after a shared commit, the next batch gathers as many jobs as the last") {
  Fixture f;
  GroupCommitter committer(f.store->pool("cache.db"), {.gather = std::chrono::seconds(30)});
  std::atomic<int> done = 0;
  auto count = [&](Result<void> r) {
    if (r) ++done;
  };
  // Batch 1 is the held job alone; the four queued meanwhile are batch 2.
  HeldJob held;
  committer.submit(held.job(), count);
  held.started.get_future().wait();
  for (int i = 0; i < 4; ++i) committer.submit(insert("second " + std::to_string(i)), count);
  held.release.set_value();
  while (done < 5) std::this_thread::yield();
  committer.flush();  // nothing is queued: only waits for the stats
  REQUIRE(committer.stats().batches == 2);
  REQUIRE(committer.stats().largest_batch == 4);

  // Three of the four writers come back: the batch waits for the fourth.
  for (int i = 0; i < 3; ++i) committer.submit(insert("third " + std::to_string(i)), count);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(done == 5);
  committer.submit(insert("third 3"), count);
  while (done < 9) std::this_thread::yield();
  committer.flush();
  CHECK(committer.stats().batches == 3);  // all four in one commit
  CHECK(f.rows() == 9);
}

TEST_CASE("group commit: a lone writer and flush() never wait to gather") {
  Fixture f;
  GroupCommitter committer(f.store->pool("cache.db"), {.gather = std::chrono::seconds(30)});
  const auto started = std::chrono::steady_clock::now();
  // One job at a time: each batch is one job, so none waits for company.
  for (int i = 0; i < 5; ++i) {
    std::promise<bool> committed;
    committer.submit(insert("lone " + std::to_string(i)), [&](Result<void> r) { committed.set_value(r.has_value()); });
    CHECK(committed.get_future().get());
  }
  // A shared batch of two (queued behind a held job), then one job alone: it would wait
  // for a second one to gather, but flush() commits it now.
  std::atomic<int> done = 0;
  auto count = [&](Result<void> r) {
    if (r) ++done;
  };
  HeldJob held;
  committer.submit(held.job(), count);
  held.started.get_future().wait();
  committer.submit(insert("pair 1"), count);
  committer.submit(insert("pair 2"), count);
  held.release.set_value();
  while (done < 3) std::this_thread::yield();
  committer.submit(insert("alone"), count);
  committer.flush();
  CHECK(done == 4);
  CHECK(f.rows() == 9);
  // Far below the 30 s a wrongful gather would take (a bound, not a speed claim).
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(20));
}

TEST_CASE("group commit: an urgent job goes before normal jobs queued earlier, in a transaction of its own") {
  Fixture f;
  std::vector<std::string> order;  // written by jobs, on the writer thread only
  std::promise<void> running;
  std::promise<void> release;
  auto released = release.get_future().share();
  GroupCommitter committer(f.store->pool("cache.db"));
  auto job = [&](std::string name) {
    return [&, name](Connection& c) -> Result<void> {
      order.push_back(name);
      return insert(name)(c);
    };
  };
  // The writer is busy with "first" while the others are queued behind it.
  committer.submit(
      [&](Connection& c) -> Result<void> {
        running.set_value();
        released.wait();
        return job("first")(c);
      },
      [](Result<void>) {});
  running.get_future().wait();
  committer.submit(job("background"), [](Result<void>) {});
  committer.submit(job("urgent"), [](Result<void>) {}, GroupCommitter::Priority::kUrgent);
  release.set_value();
  committer.flush();
  REQUIRE(order == std::vector<std::string>{"first", "urgent", "background"});
  CHECK(committer.stats().batches == 3);  // none shared a transaction
  CHECK(f.rows() == 3);
}

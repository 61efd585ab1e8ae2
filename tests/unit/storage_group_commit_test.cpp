// GroupCommitter and WorkerPool with a real SQLCipher database.
#include <atomic>
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

// Group commit: one writer thread per database runs queued write jobs in batches, one
// transaction (synchronous = FULL) per batch, so concurrent durable writers share a
// single fsync. A job's result is known only once its batch has committed: "durable
// before the response" holds for every job, however many share the commit.
//
// Jobs commit in the order they were submitted, except that urgent jobs (someone waits
// for them, e.g. a durable put) go before every normal job still queued (background
// work: the write-behind), in transactions of their own: they wait at most for the
// transaction already running, never for background work queued before them.
//
// Each job runs inside its own SAVEPOINT, so a job that fails (a constraint, a row it
// refuses) is rolled back alone; a failed COMMIT (disk full) fails the whole batch and
// nothing of it is written.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "storage/connection_pool.hpp"
#include "storage/histogram.hpp"

namespace durationd::storage {

class GroupCommitter {
 public:
  // What runs inside the batch's transaction, on the writer thread.
  using Job = std::function<Result<void>(Connection&)>;
  // Called on the writer thread once the job's fate is known.
  using Done = std::function<void(Result<void>)>;
  enum class Priority { kNormal, kUrgent };

  struct Stats {
    std::uint64_t batches = 0;
    std::uint64_t jobs = 0;
    std::uint64_t largest_batch = 0;
    std::uint64_t failed_commits = 0;
    // Jobs per commit, and each commit's time from BEGIN to the end of COMMIT's fsync.
    Histogram batch_sizes{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
    Histogram commit_seconds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};
  };

  struct Options {
    std::size_t max_batch = 1024;  // jobs that may share one commit
    // In the manner of PostgreSQL's commit_delay: after a shared commit, the next batch
    // waits up to this long for as many jobs as the last one had. They are mostly the
    // same clients, each sending its next write as soon as its acknowledgement arrives;
    // without the wait, 50 such clients split into two alternating half-size batches.
    // A lone writer (last batch of one) never waits.
    std::chrono::microseconds gather{500};
  };

  // `pool` must outlive the committer.
  explicit GroupCommitter(ConnectionPool& pool, Options options);
  explicit GroupCommitter(ConnectionPool& pool) : GroupCommitter(pool, Options{}) {}
  ~GroupCommitter();  // runs what is queued, then stops
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  void submit(Job job, Done done, Priority priority = Priority::kNormal);

  // For coroutines: `co_await committer.async_commit(job, use_awaitable)` resumes on
  // the awaiting coroutine's executor with the job's Result<void>.
  template <class Token>
  auto async_commit(Job job, Token&& token, Priority priority = Priority::kNormal) {
    return boost::asio::async_initiate<Token, void(Result<void>)>(
        [this, priority](auto handler, Job j) {
          // The handler is move-only; std::function needs copies: share it.
          using Handler = decltype(handler);
          auto work = boost::asio::make_work_guard(handler);
          auto shared = std::make_shared<std::pair<Handler, decltype(work)>>(std::move(handler), std::move(work));
          submit(std::move(j), [shared](Result<void> result) {
            auto executor = boost::asio::get_associated_executor(shared->first, shared->second.get_executor());
            boost::asio::post(executor, [shared, result = std::move(result)]() mutable {
              std::move(shared->first)(std::move(result));
            });
          }, priority);
        },
        token, std::move(job));
  }

  // Blocks until everything submitted so far has been committed (or has failed).
  void flush();

  Stats stats() const;

 private:
  struct Pending {
    Job job;
    Done done;
  };
  void run();
  // Commits one batch, counts it in stats_, then calls each job's done().
  void commit_batch(std::deque<Pending>& batch);

  ConnectionPool& pool_;
  const Options options_;
  std::size_t last_batch_ = 0;  // writer thread only
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Pending> queue_;   // guarded by mutex_
  std::deque<Pending> urgent_;  // guarded by mutex_: committed before queue_
  bool busy_ = false;          // guarded by mutex_: a batch is running
  bool stopping_ = false;      // guarded by mutex_
  int flushing_ = 0;           // guarded by mutex_: callers waiting in flush()
  Stats stats_;                // guarded by mutex_
  std::thread writer_;
};

}  // namespace durationd::storage

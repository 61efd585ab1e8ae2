#include "storage/group_commit.hpp"

#include <chrono>

namespace durationd::storage {

GroupCommitter::GroupCommitter(ConnectionPool& pool, Options options)
    : pool_(pool), options_(options), writer_([this] { run(); }) {}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  writer_.join();
}

void GroupCommitter::submit(Job job, Done done, Priority priority) {
  {
    std::lock_guard lock(mutex_);
    (priority == Priority::kUrgent ? urgent_ : queue_).push_back({std::move(job), std::move(done)});
  }
  wake_.notify_one();
}

void GroupCommitter::flush() {
  std::unique_lock lock(mutex_);
  ++flushing_;  // a batch gathering more jobs starts now
  wake_.notify_all();
  idle_.wait(lock, [&] { return queue_.empty() && urgent_.empty() && !busy_; });
  --flushing_;
}

GroupCommitter::Stats GroupCommitter::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void GroupCommitter::run() {
  for (;;) {
    std::deque<Pending> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || !urgent_.empty(); });
      if (queue_.empty() && urgent_.empty()) return;  // stopping, and nothing left to write
      if (last_batch_ > 1 && options_.gather.count() > 0) {
        const std::size_t expected = std::min(last_batch_, options_.max_batch);
        wake_.wait_for(lock, options_.gather, [&] {
          return stopping_ || flushing_ > 0 || queue_.size() + urgent_.size() >= expected;
        });
      }
      // Everything that arrived while the previous batch was committing goes together;
      // urgent jobs alone, if there are any.
      std::deque<Pending>& from = urgent_.empty() ? queue_ : urgent_;
      while (!from.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(from.front()));
        from.pop_front();
      }
      busy_ = true;
    }
    last_batch_ = batch.size();
    commit_batch(batch);
    {
      std::lock_guard lock(mutex_);
      busy_ = false;
    }
    idle_.notify_all();
  }
}

void GroupCommitter::commit_batch(std::deque<Pending>& batch) {
  auto connection = pool_.acquire();
  const auto started = std::chrono::steady_clock::now();
  std::vector<Result<void>> results(batch.size());
  auto tx = Transaction::begin(*connection);
  Result<void> committed = tx ? Result<void>() : Result<void>(tx.error());
  if (committed) {
    // Prepared once a batch rather than compiled again for every job: a timer write is
    // one short INSERT, no more work than parsing "SAVEPOINT job" twice.
    auto savepoint = connection->prepare("SAVEPOINT job");
    auto release = connection->prepare("RELEASE job");
    auto rollback = connection->prepare("ROLLBACK TO job");
    auto step = [](Result<Statement>& st) -> Result<void> {
      if (!st) return st.error();
      st->reset();
      return st->run();
    };
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (auto r = step(savepoint); !r) {
        results[i] = r;
        continue;
      }
      results[i] = batch[i].job(*connection);
      if (!results[i] && !connection->in_transaction()) {
        // SQLite cancelled the whole transaction (a full disk, an I/O error): the jobs
        // before this one are undone, and the next SAVEPOINT would open a transaction of
        // its own that RELEASE commits. The batch fails as one.
        committed = results[i];
        break;
      }
      if (!results[i]) (void)step(rollback);
      (void)step(release);
    }
    if (committed) committed = tx->commit();
  }
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  {
    // Counted before anyone hears of the commit: a client that asks for the metrics once
    // answered finds its own write in them.
    std::lock_guard lock(mutex_);
    if (!committed) ++stats_.failed_commits;
    ++stats_.batches;
    stats_.jobs += batch.size();
    stats_.largest_batch = std::max<std::uint64_t>(stats_.largest_batch, batch.size());
    stats_.batch_sizes.observe(static_cast<double>(batch.size()));
    stats_.commit_seconds.observe(took.count());
  }
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(committed ? std::move(results[i]) : committed);
}

}  // namespace durationd::storage

// Threads for blocking database work. A coroutine on the event loop awaits run(f): f
// runs on a worker thread and the coroutine resumes on its own executor with f's
// result (or its exception), so SQLCipher never blocks the event loop.
#pragma once

#include <cstddef>
#include <optional>
#include <type_traits>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace durationd::storage {

class WorkerPool {
 public:
  explicit WorkerPool(std::size_t threads) : pool_(threads) {}
  ~WorkerPool() { join(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  template <class F>
  boost::asio::awaitable<std::invoke_result_t<F&>> run(F f) {
    using R = std::invoke_result_t<F&>;
    // co_spawn's result must be default-constructible; optional<R> always is.
    auto result = co_await boost::asio::co_spawn(
        pool_.get_executor(), [&f]() -> boost::asio::awaitable<std::optional<R>> { co_return std::optional<R>(f()); },
        boost::asio::use_awaitable);
    co_return std::move(*result);
  }

  // Finishes queued work and stops the threads.
  void join() { pool_.join(); }

 private:
  boost::asio::thread_pool pool_;
};

}  // namespace durationd::storage

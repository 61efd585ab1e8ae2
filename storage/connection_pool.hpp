// A fixed-size pool of connections to one database, handing out RAII leases, in the
// manner of WCDB's HandlePool: every new connection is keyed in one place (open()).
// Thread-safe. acquire() blocks, so it is called from worker threads, never from the
// event loop.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <vector>

#include "storage/connection.hpp"

namespace durationd::storage {

class ConnectionPool {
 public:
  struct Stats {
    std::size_t size = 0;
    std::size_t in_use = 0;
    std::uint64_t waits = 0;  // acquisitions that had to wait for a free connection
  };

  class Lease {
   public:
    Lease(ConnectionPool& pool, Connection connection) : pool_(&pool), connection_(std::move(connection)) {}
    ~Lease();
    Lease(Lease&& other) noexcept = default;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    Connection& operator*() { return connection_; }
    Connection* operator->() { return &connection_; }

   private:
    ConnectionPool* pool_;
    Connection connection_;
  };

  // Opens `size` connections now, so a bad key or a full disk shows at start.
  ConnectionPool(std::filesystem::path path, std::size_t size);
  Result<void> open(const DatabaseKey& key);

  // Waits for a free connection.
  Lease acquire();

  // Stops handing out connections, waits until every lease is back, closes them all.
  void close();
  // Opens the pool again under `key` (after close()) and wakes waiting acquirers.
  Result<void> reopen(const DatabaseKey& key);

  Stats stats() const;
  const std::filesystem::path& path() const { return path_; }

 private:
  void give_back(Connection connection);

  const std::filesystem::path path_;
  const std::size_t size_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Connection> free_;  // guarded by mutex_
  std::size_t in_use_ = 0;        // guarded by mutex_
  std::uint64_t waits_ = 0;       // guarded by mutex_
  bool open_ = false;             // guarded by mutex_
};

}  // namespace durationd::storage

#include "storage/connection_pool.hpp"

namespace durationd::storage {

ConnectionPool::Lease::~Lease() {
  if (pool_ && connection_.is_open()) pool_->give_back(std::move(connection_));
}

ConnectionPool::ConnectionPool(std::filesystem::path path, std::size_t size) : path_(std::move(path)), size_(size) {}

Result<void> ConnectionPool::open(const DatabaseKey& key) {
  std::vector<Connection> opened;
  for (std::size_t i = 0; i < size_; ++i) {
    auto c = Connection::open(path_, key, {.create = false});
    if (!c) return c.error();
    opened.push_back(std::move(*c));
  }
  std::lock_guard lock(mutex_);
  free_ = std::move(opened);
  open_ = true;
  changed_.notify_all();
  return {};
}

ConnectionPool::Lease ConnectionPool::acquire() {
  std::unique_lock lock(mutex_);
  if (!open_ || free_.empty()) ++waits_;
  changed_.wait(lock, [&] { return open_ && !free_.empty(); });
  Connection c = std::move(free_.back());
  free_.pop_back();
  ++in_use_;
  return Lease(*this, std::move(c));
}

void ConnectionPool::give_back(Connection connection) {
  std::lock_guard lock(mutex_);
  --in_use_;
  if (open_) free_.push_back(std::move(connection));
  changed_.notify_all();
}

void ConnectionPool::close() {
  std::unique_lock lock(mutex_);
  open_ = false;
  changed_.wait(lock, [&] { return in_use_ == 0; });
  free_.clear();
}

Result<void> ConnectionPool::reopen(const DatabaseKey& key) { return open(key); }

ConnectionPool::Stats ConnectionPool::stats() const {
  std::lock_guard lock(mutex_);
  return {size_, in_use_, waits_};
}

}  // namespace durationd::storage

// What every op family (core, cache, timer, admin) gets to work with, and the hooks
// the daemon calls on it. One file per family registers its ops, as dragonfly's
// string_family.cc does.
#pragma once

#include <memory>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "daemon/access_policy.hpp"
#include "daemon/config.hpp"
#include "daemon/op_registry.hpp"
#include "storage/group_commit.hpp"
#include "storage/store.hpp"
#include "storage/worker_pool.hpp"

namespace durationd::app {

// Shared by the families; everything here outlives them.
struct AppContext {
  const Config& config;
  storage::Store& store;
  storage::WorkerPool& workers;          // blocking database reads go here
  storage::GroupCommitter& cache_writer;  // durable writes to cache.db
  storage::GroupCommitter& timer_writer;  // durable writes to timers.db
  const AccessPolicy& policy;
  boost::asio::any_io_executor loop;      // the event loop's executor
};

class Family {
 public:
  virtual ~Family() = default;
  // The daemon is ready: start periodic work (sweeps, write-behind) on ctx.loop.
  virtual void start() {}
  // SIGTERM: cancel periodic work so the event loop can run out of work.
  virtual void stop() {}
  // After the event loop has finished: write everything still pending. Blocks.
  virtual void flush() {}
};

// Registers every family's ops; the returned families live as long as the registry.
std::vector<std::unique_ptr<Family>> make_families(OpRegistry& registry, AppContext& context);

}  // namespace durationd::app

// What every op family (core, cache, timer, admin) gets to work with, and the hooks
// the daemon calls on it. One file per family registers its ops, as dragonfly's
// string_family.cc does.
#pragma once

#include <memory>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "daemon/access_policy.hpp"
#include "daemon/config.hpp"
#include "daemon/metrics_text.hpp"
#include "daemon/op_registry.hpp"
#include "daemon/request_counters.hpp"
#include "daemon/security_events.hpp"
#include "ipc/msgpack_writer.hpp"
#include "ipc/server.hpp"
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
  SecurityLog& security;                  // security events (journald, admin.events)
  const ipc::Server* server = nullptr;    // set once the server exists (for admin.status)
  const RequestCounters* requests = nullptr;  // set once every op is registered (admin.metrics)
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
  // admin.rotate_key succeeded: keys derived from the old database keys (e.g. the
  // cache's integrity MAC subkey) must be derived again. Runs on the event loop.
  virtual void on_keys_rotated() {}
  // admin.status: a family with something to report names its key ("cache", "timer")
  // and packs exactly one value for it. Runs on the event loop.
  virtual std::string_view status_key() const { return {}; }
  virtual boost::asio::awaitable<void> pack_status(ipc::MsgpackWriter& writer) {
    writer.pack_nil();
    co_return;
  }
  // admin.metrics: the family's own metric families, from memory only (no database
  // reads: scrapes are frequent). Runs on the event loop.
  virtual void write_metrics(MetricsText&) const {}
};

// Registers every family's ops and appends the families to `families` (the admin family
// last: it keeps a reference to `families` to report on the others, so the vector must
// outlive every family in it).
void make_families(OpRegistry& registry, AppContext& context, std::vector<std::unique_ptr<Family>>& families);

}  // namespace durationd::app

#include "daemon/admin_metrics.hpp"

#include "daemon/databases.hpp"

namespace durationd::app {
namespace {

void write_server(MetricsText& m, const ipc::ServerStats& s, std::chrono::steady_clock::duration uptime) {
  m.family("durationd_uptime_seconds", MetricType::kGauge, "Time since the daemon started.", "seconds");
  m.sample({}, std::chrono::duration<double>(uptime).count());
  m.family("durationd_connections", MetricType::kGauge, "Client connections open now.");
  m.sample(s.connections_current);
  m.family("durationd_connections_accepted", MetricType::kCounter, "Client connections accepted since start.");
  m.sample(s.connections_total);
  m.family("durationd_connections_rejected", MetricType::kCounter,
           "Connections refused: not allowed, or over a connection limit.");
  m.sample(s.connections_rejected);
}

void write_requests(MetricsText& m, const RequestCounters& requests) {
  m.family("durationd_requests", MetricType::kCounter,
           "Requests answered, by op and outcome (ok or the error code); op is empty for frames refused before an "
           "op was known and for unknown ops.");
  const auto& rows = requests.rows();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (std::size_t outcome = 0; outcome < RequestCounters::kOutcomes; ++outcome) {
      // Every registered op shows "ok" (a scraper sees the series from the start);
      // error series appear once they happen.
      if (rows[i][outcome] == 0 && (outcome != 0 || requests.op_name(i).empty())) continue;
      const std::string_view code =
          outcome == 0 ? std::string_view("ok") : ipc::wire_code_name(static_cast<ipc::WireCode>(outcome - 1));
      m.sample({{"op", requests.op_name(i)}, {"code", code}}, rows[i][outcome]);
    }
  }
}

void write_storage(MetricsText& m, const AppContext& ctx) {
  const std::pair<std::string_view, const storage::GroupCommitter*> writers[] = {
      {kCacheDatabase, &ctx.cache_writer}, {kTimersDatabase, &ctx.timer_writer}};
  std::vector<storage::ConnectionPool::Stats> pools;
  std::vector<storage::GroupCommitter::Stats> commits;
  for (const auto& [db, writer] : writers) {
    pools.push_back(ctx.store.pool(db).stats());
    commits.push_back(writer->stats());
  }
  auto each = [&](auto&& write) {
    for (std::size_t i = 0; i < std::size(writers); ++i) write(writers[i].first, pools[i], commits[i]);
  };
  m.family("durationd_pool_connections", MetricType::kGauge, "Database connections in each pool.");
  each([&](std::string_view db, const auto& pool, const auto&) { m.sample({{"db", db}}, std::uint64_t{pool.size}); });
  m.family("durationd_pool_in_use", MetricType::kGauge, "Database connections lent out now.");
  each([&](std::string_view db, const auto& pool, const auto&) { m.sample({{"db", db}}, std::uint64_t{pool.in_use}); });
  m.family("durationd_pool_waits", MetricType::kCounter, "Acquisitions that waited for a free connection.");
  each([&](std::string_view db, const auto& pool, const auto&) { m.sample({{"db", db}}, pool.waits); });
  m.family("durationd_commit_jobs", MetricType::kCounter, "Durable writes committed through group commit.");
  each([&](std::string_view db, const auto&, const auto& c) { m.sample({{"db", db}}, c.jobs); });
  m.family("durationd_commit_failures", MetricType::kCounter, "Group commits that failed (disk full, I/O error).");
  each([&](std::string_view db, const auto&, const auto& c) { m.sample({{"db", db}}, c.failed_commits); });
  m.family("durationd_commit_batch_size", MetricType::kHistogram, "Durable writes sharing one commit.");
  each([&](std::string_view db, const auto&, const auto& c) { m.sample({{"db", db}}, c.batch_sizes); });
  m.family("durationd_commit_seconds", MetricType::kHistogram,
           "Time of one group commit, BEGIN to durable COMMIT (synchronous=FULL).", "seconds");
  each([&](std::string_view db, const auto&, const auto& c) { m.sample({{"db", db}}, c.commit_seconds); });
}

void write_security(MetricsText& m, const SecurityLog& security) {
  m.family("durationd_security_events", MetricType::kCounter, "Security events recorded, by kind.");
  const auto counts = security.counts_by_kind();
  for (std::size_t i = 0; i < counts.size(); ++i)
    m.sample({{"kind", info_of(static_cast<SecurityEventKind>(i)).name}}, counts[i]);
  m.family("durationd_security_events_suppressed", MetricType::kCounter,
           "Security events counted but not logged by the per-peer rate limit.");
  m.sample(security.suppressed());
}

}  // namespace

std::string render_metrics(const AppContext& context, const std::vector<std::unique_ptr<Family>>& families,
                           std::chrono::steady_clock::duration uptime) {
  MetricsText m;
  write_server(m, context.server->stats(), uptime);
  if (context.requests != nullptr) write_requests(m, *context.requests);
  for (const auto& family : families) family->write_metrics(m);
  write_storage(m, context);
  write_security(m, context.security);
  return std::move(m).finish();
}

}  // namespace durationd::app

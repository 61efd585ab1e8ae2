// durationd's ipc::Service: looks each request's op up in the registry, applies the
// access policy and runs the op.
#pragma once

#include <unordered_map>

#include "daemon/access_policy.hpp"
#include "daemon/op_registry.hpp"
#include "daemon/request_counters.hpp"
#include "daemon/security_events.hpp"
#include "ipc/service.hpp"

namespace durationd::app {

class AppService final : public ipc::Service {
 public:
  struct Limits {
    std::size_t max_connections = 1024;
    std::size_t max_connections_per_uid = 128;
  };

  AppService(const OpRegistry& registry, const AccessPolicy& policy, SecurityLog& security,
             RequestCounters& requests, Limits limits)
      : registry_(registry), policy_(policy), security_(security), requests_(requests), limits_(limits) {}

  boost::asio::awaitable<void> handle(const ipc::Request& request, const ipc::Peer& peer, ipc::Reply& reply) override;
  void on_rejected(const ipc::Peer& peer, const ipc::WireError& error) override;
  std::optional<ipc::WireError> admit(const ipc::Peer& peer) override;
  void on_closed(const ipc::Peer& peer) override;

 private:
  // Rejected payloads and frames are security events (protocol.md, admin.events).
  void record_if_rejected(const ipc::Peer& peer, const ipc::WireError& error, std::string_view op);

  const OpRegistry& registry_;
  const AccessPolicy& policy_;
  SecurityLog& security_;
  RequestCounters& requests_;
  Limits limits_;
  std::size_t connections_ = 0;                    // admitted and open (event loop only)
  std::unordered_map<uid_t, std::size_t> per_uid_;  // the same, by uid
};

}  // namespace durationd::app

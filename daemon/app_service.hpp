// durationd's ipc::Service: looks each request's op up in the registry, applies the
// access policy and runs the op.
#pragma once

#include "daemon/access_policy.hpp"
#include "daemon/op_registry.hpp"
#include "daemon/security_events.hpp"
#include "ipc/service.hpp"

namespace durationd::app {

class AppService final : public ipc::Service {
 public:
  AppService(const OpRegistry& registry, const AccessPolicy& policy, SecurityLog& security)
      : registry_(registry), policy_(policy), security_(security) {}

  boost::asio::awaitable<void> handle(const ipc::Request& request, const ipc::Peer& peer, ipc::Reply& reply) override;
  void on_rejected(const ipc::Peer& peer, const ipc::WireError& error) override;

 private:
  // Rejected payloads and frames are security events (protocol.md, admin.events).
  void record_if_rejected(const ipc::Peer& peer, const ipc::WireError& error, std::string_view op);

  const OpRegistry& registry_;
  const AccessPolicy& policy_;
  SecurityLog& security_;
};

}  // namespace durationd::app

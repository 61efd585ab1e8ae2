// durationd's ipc::Service: looks each request's op up in the registry, applies the
// access policy and runs the op.
#pragma once

#include "daemon/access_policy.hpp"
#include "daemon/op_registry.hpp"
#include "ipc/service.hpp"

namespace durationd::app {

class AppService final : public ipc::Service {
 public:
  AppService(const OpRegistry& registry, const AccessPolicy& policy) : registry_(registry), policy_(policy) {}

  boost::asio::awaitable<void> handle(const ipc::Request& request, const ipc::Peer& peer, ipc::Reply& reply) override;
  void on_rejected(const ipc::Peer& peer, const ipc::WireError& error) override;

 private:
  const OpRegistry& registry_;
  const AccessPolicy& policy_;
};

}  // namespace durationd::app

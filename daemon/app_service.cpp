#include "daemon/app_service.hpp"

#include <spdlog/spdlog.h>

namespace durationd::app {
namespace {

// Op names come from the peer: quote one in a message only when it is short and
// printable, so a message never carries arbitrary bytes.
std::string describe_op(std::string_view op) {
  const bool printable = op.size() <= 64 && std::all_of(op.begin(), op.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
  return printable ? "\"" + std::string(op) + "\"" : std::string("(unprintable)");
}

}  // namespace

boost::asio::awaitable<void> AppService::handle(const ipc::Request& request, const ipc::Peer& peer,
                                                ipc::Reply& reply) {
  const OpSpec* spec = registry_.find(request.op);
  if (spec == nullptr) {
    reply.fail(ipc::WireCode::kUnknownOp, "unknown op " + describe_op(request.op));
    requests_.count(std::nullopt, ipc::WireCode::kUnknownOp);
    co_return;
  }
  const bool admin = policy_.is_admin(peer);
  if (spec->admin_only && !admin) {
    reply.fail(ipc::WireCode::kForbidden, "op " + describe_op(request.op) + " is for admin peers only");
    security_.record(SecurityEventKind::kAdminDenied, peer.uid, peer.pid,
                     "admin op " + describe_op(request.op) + " refused to a non-admin peer");
    requests_.count(spec->index, ipc::WireCode::kForbidden);
    co_return;
  }
  OpCall call{request, peer, reply, admin};
  co_await spec->handler(call);
  const auto& error = reply.error();
  requests_.count(spec->index, error ? std::optional(error->code) : std::nullopt);
  if (error) record_if_rejected(peer, *error, request.op);
}

std::optional<ipc::WireError> AppService::admit(const ipc::Peer& peer) {
  if (!policy_.is_allowed(peer)) {
    security_.record(SecurityEventKind::kPeerDenied, peer.uid, peer.pid, "peer is not on the allow-list");
    return ipc::WireError{ipc::WireCode::kForbidden, "this uid may not use durationd"};
  }
  std::size_t& mine = per_uid_[peer.uid];
  if (connections_ >= limits_.max_connections || mine >= limits_.max_connections_per_uid) {
    const bool total = connections_ >= limits_.max_connections;
    if (mine == 0) per_uid_.erase(peer.uid);
    security_.record(SecurityEventKind::kLimitExceeded, peer.uid, peer.pid,
                     total ? "connection limit reached (" + std::to_string(limits_.max_connections) + ")"
                           : "per-uid connection limit reached (" + std::to_string(limits_.max_connections_per_uid) + ")");
    return ipc::WireError{ipc::WireCode::kBusy, "too many connections; retry later"};
  }
  ++mine;
  ++connections_;
  spdlog::debug("connection from uid {} gid {} pid {} ({} open)", peer.uid, peer.gid, peer.pid, connections_);
  return std::nullopt;
}

void AppService::on_closed(const ipc::Peer& peer) {
  --connections_;
  spdlog::debug("connection from uid {} pid {} closed ({} open)", peer.uid, peer.pid, connections_);
  if (auto it = per_uid_.find(peer.uid); it != per_uid_.end() && --it->second == 0) per_uid_.erase(it);
}

void AppService::on_rejected(const ipc::Peer& peer, const ipc::WireError& error) {
  requests_.count(std::nullopt, error.code);
  record_if_rejected(peer, error, {});
}

void AppService::record_if_rejected(const ipc::Peer& peer, const ipc::WireError& error, std::string_view op) {
  const std::string where = op.empty() ? std::string() : " in op " + describe_op(op);
  switch (error.code) {
    case ipc::WireCode::kBadFrame:
      security_.record(SecurityEventKind::kBadFrame, peer.uid, peer.pid, "bad frame: " + error.message);
      break;
    case ipc::WireCode::kTooLarge:
    case ipc::WireCode::kTooDeep:
    case ipc::WireCode::kBadType:
      // The error message names the field and the limit, never the value.
      security_.record(SecurityEventKind::kPayloadRejected, peer.uid, peer.pid,
                       std::string(ipc::wire_code_name(error.code)) + where + ": " + error.message);
      break;
    default:
      break;
  }
}

}  // namespace durationd::app

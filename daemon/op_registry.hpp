// The table of operations. Each family (core, cache, timer, admin) registers its ops in
// its own file, as dragonfly's *_family.cc files do, instead of one giant switch.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "ipc/envelope.hpp"
#include "ipc/peer.hpp"
#include "ipc/reply.hpp"

namespace durationd::app {

// Everything an operation sees of one request.
struct OpCall {
  const ipc::Request& request;
  const ipc::Peer& peer;
  ipc::Reply& reply;
  bool peer_is_admin = false;
};

using OpHandler = std::function<boost::asio::awaitable<void>(OpCall&)>;

struct OpSpec {
  OpHandler handler;
  bool admin_only = false;
  std::size_t index = 0;  // set by OpRegistry::add: the op's position in names()
};

class OpRegistry {
 public:
  // Registering a name twice is a bug: throws std::logic_error.
  void add(std::string name, OpSpec spec);
  // nullptr for an unknown op.
  const OpSpec* find(std::string_view name) const;
  // Every registered name, in registration order (OpSpec::index).
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::map<std::string, OpSpec, std::less<>> ops_;
  std::vector<std::string> names_;
};

}  // namespace durationd::app

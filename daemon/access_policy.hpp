// Who may do what. For now: admin peers are root and the daemon's own uid, as the
// contract says; configured allow-lists and admin groups extend this.
#pragma once

#include <unistd.h>

#include "ipc/peer.hpp"

namespace durationd::app {

class AccessPolicy {
 public:
  AccessPolicy() : daemon_uid_(::geteuid()) {}
  bool is_admin(const ipc::Peer& peer) const { return peer.uid == 0 || peer.uid == daemon_uid_; }

 private:
  uid_t daemon_uid_;
};

}  // namespace durationd::app

#include "ipc/peer.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace durationd::ipc {

std::optional<Peer> read_peer_credentials(int socket_fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(socket_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred)
    return std::nullopt;
  Peer peer{cred.uid, cred.gid, cred.pid, {}};
  // The kernel's snapshot of the peer's supplementary groups, taken when it connected:
  // no race with /proc. ERANGE tells the size needed.
  socklen_t bytes = 0;
  if (::getsockopt(socket_fd, SOL_SOCKET, SO_PEERGROUPS, nullptr, &bytes) != 0 && errno != ERANGE) return peer;
  peer.groups.resize(bytes / sizeof(gid_t));
  if (bytes > 0 && ::getsockopt(socket_fd, SOL_SOCKET, SO_PEERGROUPS, peer.groups.data(), &bytes) != 0) {
    peer.groups.clear();
    return std::nullopt;  // the groups decide access: without them, refuse
  }
  peer.groups.resize(bytes / sizeof(gid_t));
  return peer;
}

}  // namespace durationd::ipc

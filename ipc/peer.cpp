#include "ipc/peer.hpp"

#include <sys/socket.h>

namespace durationd::ipc {

std::optional<Peer> read_peer_credentials(int socket_fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(socket_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred)
    return std::nullopt;
  return Peer{cred.uid, cred.gid, cred.pid};
}

}  // namespace durationd::ipc

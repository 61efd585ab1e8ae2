// Who is on the other end of a connection, as the kernel says (SO_PEERCRED), read once
// at accept. Decisions use uid and gid; the pid is only for logs.
#pragma once

#include <sys/types.h>

#include <optional>
#include <vector>

namespace durationd::ipc {

struct Peer {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
  std::vector<gid_t> groups;  // supplementary groups at connect time (SO_PEERGROUPS)
};

std::optional<Peer> read_peer_credentials(int socket_fd);

}  // namespace durationd::ipc

// Who may connect, and who is an admin (protocol.md "Identity and namespaces").
// Decisions use the peer's uid, gid and supplementary groups from the kernel; the pid
// is only for logs.
//   allowed: everyone when no allow-list is configured; else a listed uid, or a member
//            (primary or supplementary) of a listed group. Admins are always allowed.
//   admin:   uid 0, the daemon's own uid, a listed admin uid, or a member of a listed
//            admin group.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "ipc/peer.hpp"

namespace durationd::app {

struct AccessRules {
  std::vector<uid_t> allowed_uids;
  std::vector<std::string> allowed_groups;  // names or numeric gids
  std::vector<uid_t> admin_uids;
  std::vector<std::string> admin_groups;

  bool operator==(const AccessRules&) const = default;
};

class AccessPolicy {
 public:
  // Resolves group names now; throws std::runtime_error naming an unknown group.
  explicit AccessPolicy(const AccessRules& rules = {});

  bool is_allowed(const ipc::Peer& peer) const;
  bool is_admin(const ipc::Peer& peer) const;

 private:
  static bool in_any(const ipc::Peer& peer, const std::vector<gid_t>& gids);

  uid_t daemon_uid_;
  std::vector<uid_t> allowed_uids_;
  std::vector<gid_t> allowed_gids_;
  std::vector<uid_t> admin_uids_;
  std::vector<gid_t> admin_gids_;
};

// A group name or a numeric gid; throws std::runtime_error when unknown.
gid_t resolve_group(const std::string& name_or_gid);

}  // namespace durationd::app

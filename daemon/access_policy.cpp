#include "daemon/access_policy.hpp"

#include <grp.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace durationd::app {
namespace {

bool contains(const std::vector<uid_t>& v, uid_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

std::vector<gid_t> resolve_all(const std::vector<std::string>& names) {
  std::vector<gid_t> gids;
  for (const auto& n : names) gids.push_back(resolve_group(n));
  return gids;
}

}  // namespace

gid_t resolve_group(const std::string& name_or_gid) {
  gid_t gid = 0;
  const auto [end, ec] = std::from_chars(name_or_gid.data(), name_or_gid.data() + name_or_gid.size(), gid);
  if (ec == std::errc() && end == name_or_gid.data() + name_or_gid.size()) return gid;
  group entry{};
  group* found = nullptr;
  std::vector<char> buf(16384);
  if (::getgrnam_r(name_or_gid.c_str(), &entry, buf.data(), buf.size(), &found) != 0 || found == nullptr)
    throw std::runtime_error("unknown group \"" + name_or_gid + "\"");
  return found->gr_gid;
}

AccessPolicy::AccessPolicy(const AccessRules& rules)
    : daemon_uid_(::geteuid()),
      allowed_uids_(rules.allowed_uids),
      allowed_gids_(resolve_all(rules.allowed_groups)),
      admin_uids_(rules.admin_uids),
      admin_gids_(resolve_all(rules.admin_groups)) {}

bool AccessPolicy::in_any(const ipc::Peer& peer, const std::vector<gid_t>& gids) {
  for (gid_t g : gids)
    if (peer.gid == g || std::find(peer.groups.begin(), peer.groups.end(), g) != peer.groups.end()) return true;
  return false;
}

bool AccessPolicy::is_admin(const ipc::Peer& peer) const {
  return peer.uid == 0 || peer.uid == daemon_uid_ || contains(admin_uids_, peer.uid) || in_any(peer, admin_gids_);
}

bool AccessPolicy::is_allowed(const ipc::Peer& peer) const {
  if (allowed_uids_.empty() && allowed_gids_.empty()) return true;
  return contains(allowed_uids_, peer.uid) || in_any(peer, allowed_gids_) || is_admin(peer);
}

}  // namespace durationd::app

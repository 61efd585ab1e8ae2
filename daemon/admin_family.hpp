// admin.status, admin.events, admin.backup, admin.rotate_key: admin peers only.
#pragma once

#include <memory>
#include <vector>

#include "daemon/family.hpp"

namespace durationd::app {

// `families` are the others, reported on by admin.status and told about key rotation.
std::unique_ptr<Family> make_admin_family(OpRegistry& registry, AppContext& context,
                                          const std::vector<std::unique_ptr<Family>>& families);

}  // namespace durationd::app

#include "daemon/admin_family.hpp"
#include "daemon/cache_family.hpp"
#include "daemon/core_family.hpp"
#include "daemon/family.hpp"
#include "daemon/timer_family.hpp"

namespace durationd::app {

void make_families(OpRegistry& registry, AppContext& context, std::vector<std::unique_ptr<Family>>& families) {
  register_core_family(registry, context.config.max_frame);
  // One line per family: families.push_back(make_<name>_family(registry, context));
  families.push_back(make_cache_family(registry, context));
  families.push_back(make_timer_family(registry, context));
  // Last: it reports on the others, through the caller's vector (which outlives it).
  families.push_back(make_admin_family(registry, context, families));
}

}  // namespace durationd::app

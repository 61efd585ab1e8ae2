#include "daemon/core_family.hpp"
#include "daemon/family.hpp"

namespace durationd::app {

std::vector<std::unique_ptr<Family>> make_families(OpRegistry& registry, AppContext& context) {
  std::vector<std::unique_ptr<Family>> families;
  register_core_family(registry, context.config.max_frame);
  // One line per family: families.push_back(make_<name>_family(registry, context));
  return families;
}

}  // namespace durationd::app

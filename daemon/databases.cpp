#include "daemon/databases.hpp"

namespace durationd::app {

std::vector<storage::DatabaseSpec> database_specs() {
  // The cache and timer families add their schemas here as numbered migrations.
  return {
      {std::string(kCacheDatabase), {}, {}},
      {std::string(kTimersDatabase), {}, {}},
  };
}

}  // namespace durationd::app

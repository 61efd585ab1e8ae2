#include "daemon/databases.hpp"

#include "daemon/cache_store.hpp"
#include "daemon/timer_store.hpp"

namespace durationd::app {

std::vector<storage::DatabaseSpec> database_specs() {
  // The cache and timer families add their schemas here as numbered migrations.
  return {
      {std::string(kCacheDatabase), cache::cache_migrations(), cache::reseal_rows_for_rotation},
      {std::string(kTimersDatabase), timer_migrations(), {}},
  };
}

}  // namespace durationd::app

#include "daemon/databases.hpp"

#include "daemon/cache_store.hpp"
#include "daemon/timer_store.hpp"

namespace durationd::app {

std::vector<storage::DatabaseSpec> database_specs() {
  // The cache and timer families add their schemas here as numbered migrations.
  return {
      // A write-behind batch rewrites up to ~100k rows scattered over the table and three
      // indexes: with SQLite's default 2 MiB page cache, a batch into a 20 MiB cache.db
      // took 8 s and stalled every waiting put (durationd-bench -t put -n 400000 -r 100000);
      // with 32 MiB, under 1 s. Pages are cached only once touched, so this is a ceiling
      // per pooled connection, not an allocation.
      {std::string(kCacheDatabase), cache::cache_migrations(), cache::reseal_rows_for_rotation, 32 * 1024},
      {std::string(kTimersDatabase), timer_migrations(), {}},
  };
}

}  // namespace durationd::app

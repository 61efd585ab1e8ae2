// The daemon's databases and their schemas. Each op family owns the migrations of its
// database (cache.db: the cache; timers.db: focus-timer sessions).
#pragma once

#include <string_view>
#include <vector>

#include "storage/store.hpp"

namespace durationd::app {

inline constexpr std::string_view kCacheDatabase = "cache.db";
inline constexpr std::string_view kTimersDatabase = "timers.db";

std::vector<storage::DatabaseSpec> database_specs();

}  // namespace durationd::app

// Numbered schema migrations keyed on PRAGMA user_version, applied at start in one
// transaction: a database is at version N exactly when migrations 1..N have run.
#pragma once

#include <span>
#include <string_view>

#include "storage/connection.hpp"

namespace durationd::storage {

struct Migration {
  int version;           // 1, 2, 3... in order, no gaps
  std::string_view sql;  // one or more statements
};

// Applies every migration newer than the database's user_version. A database newer
// than the last migration (written by a later durationd) is refused with Errc::schema.
Result<void> apply_migrations(Connection& connection, std::span<const Migration> migrations);

}  // namespace durationd::storage

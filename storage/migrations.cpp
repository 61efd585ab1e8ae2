#include "storage/migrations.hpp"

namespace durationd::storage {

Result<void> apply_migrations(Connection& connection, std::span<const Migration> migrations) {
  auto tx = Transaction::begin(connection);
  if (!tx) return tx.error();
  auto current = connection.query_int("PRAGMA user_version");
  if (!current) return current.error();
  const int known = migrations.empty() ? 0 : migrations.back().version;
  if (*current > known)
    return Error{Errc::schema, connection.name() + " has schema version " + std::to_string(*current) +
                                   "; this durationd knows up to " + std::to_string(known)};
  for (const Migration& m : migrations) {
    if (m.version <= *current) continue;
    if (auto r = connection.exec(m.sql); !r) return r.error();
    if (auto r = connection.exec("PRAGMA user_version = " + std::to_string(m.version)); !r) return r.error();
  }
  return tx->commit();
}

}  // namespace durationd::storage

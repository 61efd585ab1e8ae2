#include "storage/inspection.hpp"

#include <utility>

#include "storage/database_key.hpp"

namespace durationd::storage {
namespace {

// Only the b-tree tables: count(*) on a virtual table would need its module loaded.
// Names starting with "sqlite_" are SQLite's own tables and indexes.
constexpr std::string_view kAllTablesSql =
    "SELECT name FROM sqlite_master WHERE type = 'table' AND rootpage > 0 ORDER BY name";
constexpr std::string_view kUserTablesSql =
    "SELECT name FROM sqlite_master WHERE type = 'table' AND rootpage > 0"
    " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name";
constexpr std::string_view kUserObjectsSql =
    "SELECT name FROM sqlite_master WHERE type = ?1 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
    "ORDER BY name";

// Refuses what inspect cannot open, with a message naming the file; returns its salt.
Result<Salt> salt_of_encrypted_file(const std::filesystem::path& path) {
  auto probe = probe_database_file(path);
  if (!probe) return probe.error();
  switch (probe->kind) {
    case FileKind::kMissing:
      return Error{Errc::io, path.string() + ": no such file"};
    case FileKind::kEmpty:
      return Error{Errc::corrupt, path.string() + ": empty file, not a database"};
    case FileKind::kPlaintext:
      return Error{
          Errc::plaintext,
          path.string() +
              ": a plaintext SQLite database, not encrypted (durationd migrate encrypts it)"};
    case FileKind::kEncrypted:
      break;
  }
  return probe->salt;
}

Result<void> read_settings(Connection& connection, InspectReport& report) {
  auto user_version = connection.query_int("PRAGMA user_version");
  if (!user_version) return user_version.error();
  auto page_size = connection.query_int("PRAGMA cipher_page_size");
  if (!page_size) return page_size.error();
  auto cipher = connection.query_text("PRAGMA cipher");
  if (!cipher) return cipher.error();
  auto version = connection.query_text("PRAGMA cipher_version");
  if (!version) return version.error();
  // Without an argument this only reads the mode; it never switches it.
  auto journal = connection.query_text("PRAGMA journal_mode");
  if (!journal) return journal.error();
  report.user_version = *user_version;
  report.page_size = *page_size;
  report.cipher = std::move(*cipher);
  report.cipher_version = std::move(*version);
  report.journal_mode = std::move(*journal);
  return {};
}

Result<std::vector<std::string>> list_named_objects(Connection& connection, std::string_view type) {
  auto stmt = connection.prepare(kUserObjectsSql);
  if (!stmt) return stmt.error();
  stmt->bind(1, type);
  std::vector<std::string> names;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) return names;
    names.emplace_back(stmt->column_text(0));
  }
}

Result<void> list_schema_objects(Connection& connection, InspectReport& report) {
  for (auto [type, names] : {std::pair{"index", &report.indexes}, std::pair{"view", &report.views},
                             std::pair{"trigger", &report.triggers}}) {
    auto listed = list_named_objects(connection, type);
    if (!listed) return listed.error();
    *names = std::move(*listed);
  }
  return {};
}

Result<std::vector<TableRows>> count_all_rows(Connection& connection) {
  auto names = list_tables(connection, TableSet::kUser);
  if (!names) return names.error();
  std::vector<TableRows> tables;
  tables.reserve(names->size());
  for (std::string& name : *names) {
    auto rows = count_rows(connection, name);
    if (!rows) return rows.error();
    tables.push_back({std::move(name), *rows});
  }
  return tables;
}

}  // namespace

std::string quote_identifier(std::string_view name) {
  std::string quoted = "\"";
  for (const char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

Result<std::vector<std::string>> list_tables(Connection& connection, TableSet set) {
  auto stmt = connection.prepare(set == TableSet::kAll ? kAllTablesSql : kUserTablesSql);
  if (!stmt) return stmt.error();
  std::vector<std::string> names;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) return names;
    names.emplace_back(stmt->column_text(0));
  }
}

Result<std::int64_t> count_rows(Connection& connection, std::string_view table) {
  return connection.query_int("SELECT count(*) FROM " + quote_identifier(table));
}

Result<std::string> check_integrity(Connection& connection) {
  auto stmt = connection.prepare("PRAGMA integrity_check");
  if (!stmt) return stmt.error();
  std::string findings;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    if (!findings.empty()) findings += "; ";
    // A finding may span lines; the message it ends up in is one line.
    for (const char c : stmt->column_text(0)) findings += c == '\n' ? ' ' : c;
  }
  return findings;
}

Result<InspectReport> inspect_database(const std::filesystem::path& path,
                                       std::string_view passphrase, std::uint32_t iterations) {
  auto salt = salt_of_encrypted_file(path);
  if (!salt) return salt.error();
  auto key = derive_database_key(passphrase, *salt, iterations);
  if (!key) return key.error();
  // wal = false: inspecting must not change the file's journal mode.
  auto connection = Connection::open(path, *key, {.create = false, .wal = false});
  if (!connection) {
    if (connection.error().code == Errc::wrong_key)
      return Error{Errc::wrong_key,
                   path.string() +
                       ": the passphrase does not open this database (wrong key, or not a "
                       "durationd database)"};
    return connection.error();  // names the file already
  }

  InspectReport report;
  report.kdf_iterations = iterations;
  if (auto r = read_settings(*connection, report); !r) return r.error();
  auto tables = count_all_rows(*connection);
  if (!tables) return tables.error();
  report.tables = std::move(*tables);
  if (auto r = list_schema_objects(*connection, report); !r) return r.error();
  auto integrity = check_integrity(*connection);
  if (!integrity) return integrity.error();
  report.integrity = std::move(*integrity);
  return report;
}

}  // namespace durationd::storage

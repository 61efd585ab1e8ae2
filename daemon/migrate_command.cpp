#include "daemon/migrate_command.hpp"

#include <sys/stat.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <iostream>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/digest.hpp"
#include "crypto/key_source.hpp"
#include "storage/plaintext_migration.hpp"

namespace durationd::app {
namespace {

// The page key is HKDF-SHA256 of this KDF's output (storage/database_key.hpp).
constexpr std::string_view kKdfName = "pbkdf2-hmac-sha512";

std::optional<crypto::LoadedKey> load_key(const Options& options, std::string_view command) {
  auto key = crypto::load_passphrase({.key_file = options.key_file});
  if (!key) {
    std::cerr << "durationd " << command << ": " << key.error().message << "\n";
    return std::nullopt;
  }
  return std::move(*key);
}

boost::json::array names_of(const std::vector<std::string>& names) {
  boost::json::array array;
  for (const auto& name : names) array.emplace_back(name);
  return array;
}

std::string count_of(std::int64_t n, std::string_view noun) {
  return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

bool migrate_one(const std::filesystem::path& file, std::string_view passphrase) {
  const std::string name = file.string();
  const storage::ProgressFn progress = [&name](std::string_view stage, int percent) {
    std::cerr << "migrate: " << name << ": " << stage << " " << percent << "%\n";
  };
  const auto report =
      storage::migrate_plaintext_database(file, passphrase, crypto::kKdfIterations, progress);
  if (!report) {
    std::cerr << "durationd migrate: " << report.error().message << "\n";
    return false;
  }
  if (report->outcome == storage::MigrationOutcome::kAlreadyEncrypted) {
    std::cout << name << ": already encrypted\n";
    return true;
  }
  std::cout << "migrated " << name << " ("
            << count_of(static_cast<std::int64_t>(report->tables), "table") << ", "
            << count_of(report->rows, "row") << "; backup " << report->backup.string() << ")\n";
  return true;
}

}  // namespace

int run_migrate(const Options& options) {
  // Backups and copies hold the user's data: ours alone (they are chmod 0600 as well).
  ::umask(077);
  const auto key = load_key(options, "migrate");
  if (!key) return 1;
  bool all_encrypted = true;
  for (const auto& file : options.files)
    all_encrypted = migrate_one(file, key->passphrase.view()) && all_encrypted;
  return all_encrypted ? 0 : 1;
}

int run_inspect(const Options& options) {
  ::umask(077);
  const auto key = load_key(options, "inspect");
  if (!key) return 1;
  const auto report = storage::inspect_database(options.files.front(), key->passphrase.view(),
                                                crypto::kKdfIterations);
  if (!report) {
    std::cerr << "durationd inspect: " << report.error().message << "\n";
    return 1;
  }
  std::cout << render_inspect_json(*report) << "\n";
  if (report->integrity != "ok") {
    std::cerr << "durationd inspect: " << options.files.front().string()
              << ": integrity check failed\n";
    return 1;
  }
  return 0;
}

std::string render_inspect_json(const storage::InspectReport& report) {
  boost::json::object tables;
  for (const auto& table : report.tables) tables[table.name] = table.rows;
  boost::json::object out;
  out["tables"] = std::move(tables);
  out["indexes"] = names_of(report.indexes);
  out["views"] = names_of(report.views);
  out["triggers"] = names_of(report.triggers);
  out["integrity"] = report.integrity;
  out["user_version"] = report.user_version;
  out["encrypted"] = true;
  out["cipher"] = report.cipher;
  out["cipher_version"] = report.cipher_version;
  out["page_size"] = report.page_size;
  out["kdf"] = kKdfName;
  out["kdf_iter"] = report.kdf_iterations;
  out["journal_mode"] = report.journal_mode;
  return boost::json::serialize(out);
}

}  // namespace durationd::app

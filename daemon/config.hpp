// The daemon's configuration file (JSON). Every key is optional; unknown keys are an
// error, so a typo never silently leaves a default in force. docs: packaging/durationd.json.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "daemon/access_policy.hpp"

namespace durationd::app {

struct Config {
  std::uint32_t max_frame = 16'777'215;  // can only be lowered
  std::chrono::milliseconds idle_timeout{60'000};
  std::string log_level = "info";  // trace, debug, info, warn, error, critical, off
  // Access and limits.
  AccessRules access;                     // allowed_uids/groups, admin_uids/groups
  std::string socket_group;               // empty: the daemon's group
  std::size_t max_connections = 1024;     // in total; beyond: BUSY, then close
  std::size_t max_connections_per_uid = 128;
  // Security events: per peer and kind, at most `burst` logged per interval; the rest
  // are counted and reported with the next one logged.
  std::size_t event_log_burst = 10;
  std::chrono::milliseconds event_log_interval{10'000};
  // Storage.
  std::uint32_t kdf_iterations = 256'000;  // PBKDF2-HMAC-SHA512 cost; can only be raised
  std::size_t pool_size = 4;               // connections per database
  std::filesystem::path backup_dir;        // empty: <state-dir>/backups
  // Algorithm names are checked against crypto/algorithm_policy.hpp: naming MD5, SHA-1,
  // DES, 3DES or RC4 anywhere refuses to start. Only these values are implemented.
  std::string kdf_algorithm = "pbkdf2-hmac-sha512";
  std::string mac_algorithm = "hmac-sha256";
  // Cache.
  std::uint64_t cache_memory_budget_bytes = 256ull << 20;  // the memory tier (LRU beyond it)
  std::uint64_t cache_disk_budget_bytes = 1ull << 30;      // cache.db (LRU and expired beyond it)
  std::chrono::milliseconds cache_flush_interval{1'000};   // write-behind of non-durable puts
  std::chrono::milliseconds cache_sweep_interval{10'000};  // removal of expired entries

  bool operator==(const Config&) const = default;
};

// Reads and validates a config file. Throws std::runtime_error with a message naming
// the file and the offending key.
Config load_config(const std::filesystem::path& file);

// The same, from JSON text (`origin` names it in messages).
Config parse_config(std::string_view json_text, const std::string& origin);

}  // namespace durationd::app

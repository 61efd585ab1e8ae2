// The daemon's configuration file (JSON). Every key is optional; unknown keys are an
// error, so a typo never silently leaves a default in force. docs: packaging/durationd.json.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

namespace durationd::app {

struct Config {
  std::uint32_t max_frame = 16'777'215;  // can only be lowered
  std::chrono::milliseconds idle_timeout{60'000};
  std::string log_level = "info";  // trace, debug, info, warn, error, critical, off
  // Storage.
  std::uint32_t kdf_iterations = 256'000;  // PBKDF2-HMAC-SHA512 cost; can only be raised
  std::size_t pool_size = 4;               // connections per database
  std::filesystem::path backup_dir;        // empty: <state-dir>/backups
  // Algorithm names are checked against crypto/algorithm_policy.hpp: naming MD5, SHA-1,
  // DES, 3DES or RC4 anywhere refuses to start. Only these values are implemented.
  std::string kdf_algorithm = "pbkdf2-hmac-sha512";
  std::string mac_algorithm = "hmac-sha256";
};

// Reads and validates a config file. Throws std::runtime_error with a message naming
// the file and the offending key.
Config load_config(const std::filesystem::path& file);

// The same, from JSON text (`origin` names it in messages).
Config parse_config(std::string_view json_text, const std::string& origin);

}  // namespace durationd::app

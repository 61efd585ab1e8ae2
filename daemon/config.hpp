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
};

// Reads and validates a config file. Throws std::runtime_error with a message naming
// the file and the offending key.
Config load_config(const std::filesystem::path& file);

// The same, from JSON text (`origin` names it in messages).
Config parse_config(std::string_view json_text, const std::string& origin);

}  // namespace durationd::app

// durationd's command line (protocol.md, "Command lines").
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace durationd::app {

enum class Command { kServe, kKeygen, kMigrate, kInspect, kHelp, kVersion };

struct Options {
  Command command = Command::kServe;
  std::filesystem::path socket;     // default: $RUNTIME_DIRECTORY/durationd.sock or /run/durationd/durationd.sock
  std::filesystem::path state_dir;  // default: $STATE_DIRECTORY or /var/lib/durationd
  std::optional<std::filesystem::path> key_file;
  std::optional<std::filesystem::path> config_file;
  bool foreground = false;
  std::vector<std::filesystem::path> files;  // keygen FILE, migrate PLAIN.db..., inspect DB
};

// Parses argv; throws std::invalid_argument with a one-line message on a usage error.
Options parse_options(int argc, char** argv);

std::string usage_text();

}  // namespace durationd::app

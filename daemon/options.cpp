#include "daemon/options.hpp"

#include <cstdlib>
#include <stdexcept>
#include <string_view>

namespace durationd::app {
namespace {

std::filesystem::path env_or(const char* name, const std::filesystem::path& suffix,
                             const std::filesystem::path& fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  // systemd may list several directories separated by ':'; ours is the first.
  const std::string_view first = std::string_view(value).substr(0, std::string_view(value).find(':'));
  return std::filesystem::path(first) / suffix;
}

}  // namespace

std::string usage_text() {
  return R"(usage:
  durationd [--socket PATH] [--state-dir DIR] [--key-file FILE] [--config FILE] [--foreground]
  durationd keygen FILE
  durationd migrate [--key-file FILE] PLAIN.db...
  durationd inspect [--key-file FILE] DB
  durationd --help | --version

  --socket PATH     Unix socket to listen on
                    (default $RUNTIME_DIRECTORY/durationd.sock, else /run/durationd/durationd.sock)
  --state-dir DIR   where the encrypted databases live
                    (default $STATE_DIRECTORY, else /var/lib/durationd)
  --key-file FILE   passphrase file (mode 0600 or tighter); see KEYS below
  --config FILE     JSON configuration file
  --foreground      log to the terminal; durationd never forks either way

KEYS: the passphrase comes from the first of $CREDENTIALS_DIRECTORY/durationd.key,
--key-file, and the environment variable DURATIOND_KEY; at least 16 bytes.
)";
}

Options parse_options(int argc, char** argv) {
  Options o;
  o.socket = env_or("RUNTIME_DIRECTORY", "durationd.sock", "/run/durationd/durationd.sock");
  o.state_dir = env_or("STATE_DIRECTORY", "", "/var/lib/durationd");

  int i = 1;
  if (argc > 1) {
    const std::string_view first = argv[1];
    if (first == "keygen") o.command = Command::kKeygen, ++i;
    if (first == "migrate") o.command = Command::kMigrate, ++i;
    if (first == "inspect") o.command = Command::kInspect, ++i;
  }
  auto value_of = [&](std::string_view flag) -> std::string {
    if (i + 1 >= argc) throw std::invalid_argument(std::string(flag) + " needs a value");
    return argv[++i];
  };
  const bool serving = o.command == Command::kServe;
  for (; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      o.command = Command::kHelp;
      return o;
    }
    if (arg == "--version") {
      o.command = Command::kVersion;
      return o;
    }
    if (arg == "--key-file" && o.command != Command::kKeygen) {
      o.key_file = value_of(arg);
    } else if (serving && arg == "--socket") {
      o.socket = value_of(arg);
    } else if (serving && arg == "--state-dir") {
      o.state_dir = value_of(arg);
    } else if (serving && arg == "--config") {
      o.config_file = value_of(arg);
    } else if (serving && arg == "--foreground") {
      o.foreground = true;
    } else if (!serving && !arg.starts_with("-")) {
      o.files.emplace_back(arg);
    } else {
      throw std::invalid_argument("unknown argument: " + std::string(arg));
    }
  }
  if (o.command == Command::kKeygen && o.files.size() != 1) throw std::invalid_argument("keygen takes one FILE");
  if (o.command == Command::kMigrate && o.files.empty()) throw std::invalid_argument("migrate needs at least one file");
  if (o.command == Command::kInspect && o.files.size() != 1) throw std::invalid_argument("inspect takes one DB");
  if (serving && o.socket.empty()) throw std::invalid_argument("--socket must not be empty");
  return o;
}

}  // namespace durationd::app

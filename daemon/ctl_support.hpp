// What durationctl's commands share: how they are registered, how they pack arguments
// and how they print answers. Each family's commands live in a file of their own
// (ctl_cache.cpp, ctl_timer.cpp, ...).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/client.hpp"
#include "ipc/msgpack_writer.hpp"

namespace durationd::ctl {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;        // the daemon answered with an error
constexpr int kExitUsage = 2;
constexpr int kExitUnavailable = 69;  // EX_UNAVAILABLE: the daemon is not there

struct Invocation {
  ipc::Client& client;
  bool json = false;               // --json: print the daemon's answers as JSON
  std::vector<std::string> words;  // what follows the command's name
};

struct Command {
  std::string name;   // the first word, e.g. "cache"
  std::string usage;  // lines for the help text, e.g. "cache get KEY [--ns NS]"
  std::function<int(Invocation&)> run;
};

// Each family adds its commands.
void add_core_commands(std::vector<Command>& commands);
void add_admin_commands(std::vector<Command>& commands);

// Packs a msgpack map through `fill`, which writes `pairs` key/value pairs.
std::string pack_map(std::uint32_t pairs, const std::function<void(ipc::MsgpackWriter&)>& fill);
inline ipc::Bytes as_bytes_of(const std::string& packed) { return ipc::as_bytes(packed); }
// The JSON text of a msgpack value ("null" if malformed).
std::string to_json(std::string_view msgpack);
// Prints an error response on stderr; returns kExitError.
int print_error(const ipc::Response& response);
// Prints a usage error on stderr; returns kExitUsage.
int usage_error(std::string_view message);

}  // namespace durationd::ctl

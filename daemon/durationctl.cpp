// durationctl: the command-line client. Speaks the binary protocol through ipc::Client.
//   exit 0: done; 1: the daemon answered with an error; 2: usage; 69: daemon unreachable.
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "durationd/version.hpp"
#include "ipc/client.hpp"
#include "ipc/json_codec.hpp"
#include "ipc/msgpack_reader.hpp"

namespace {
using namespace durationd;

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitUnavailable = 69;  // EX_UNAVAILABLE

struct Cli {
  std::filesystem::path socket;
  bool json = false;
  std::vector<std::string> words;
};

const char* kUsage = R"(usage: durationctl [--socket PATH] [--json] COMMAND

  --socket PATH   the daemon's socket (default $DURATIOND_SOCKET, else /run/durationd/durationd.sock)
  --json          print the daemon's answer as JSON

commands:
  ping            check that the daemon answers
  hello           server version, protocol, limits, and who you are to it
)";

std::string to_json(const std::string& msgpack) {
  std::string out;
  if (!ipc::msgpack_to_json(ipc::as_bytes(msgpack), out)) return "null";
  return out;
}

// Prints an error response and returns the exit code for it.
int print_error(const ipc::Response& r) {
  std::cerr << "durationctl: " << r.error_code << ": " << r.error_message << "\n";
  return kExitError;
}

int cmd_ping(ipc::Client& client, const Cli& cli) {
  const auto r = client.call("ping");
  if (!r.ok) return print_error(r);
  std::cout << (cli.json ? to_json(r.result) : "pong") << "\n";
  return 0;
}

int cmd_hello(ipc::Client& client, const Cli& cli) {
  const auto r = client.call("hello");
  if (!r.ok) return print_error(r);
  if (cli.json) {
    std::cout << to_json(r.result) << "\n";
    return 0;
  }
  // Human form: one "key: value" line per field, in the daemon's order.
  ipc::MsgpackReader reader(ipc::as_bytes(r.result));
  ipc::MsgToken map;
  if (!reader.next(map) || map.kind != ipc::MsgKind::kMap) return print_error(r);
  for (std::uint32_t i = 0; i < map.count; ++i) {
    ipc::MsgToken key;
    ipc::Bytes value;
    if (!reader.next(key) || !reader.read_raw(value)) break;
    std::string text;
    ipc::msgpack_to_json(value, text);
    if (text.size() >= 2 && text.front() == '"') text = text.substr(1, text.size() - 2);
    std::cout << ipc::as_chars(key.payload) << ": " << text << "\n";
  }
  return 0;
}

using Command = std::function<int(ipc::Client&, const Cli&)>;

const std::map<std::string, Command, std::less<>>& commands() {
  static const std::map<std::string, Command, std::less<>> table{{"ping", cmd_ping}, {"hello", cmd_hello}};
  return table;
}

}  // namespace

int main(int argc, char** argv) {
  Cli cli;
  const char* env_socket = std::getenv("DURATIOND_SOCKET");
  cli.socket = env_socket && *env_socket ? env_socket : "/run/durationd/durationd.sock";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--socket" && i + 1 < argc) {
      cli.socket = argv[++i];
    } else if (arg == "--json") {
      cli.json = true;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--version") {
      std::cout << "durationctl " << kVersion << "\n";
      return 0;
    } else if (arg.starts_with("--")) {
      std::cerr << "durationctl: unknown option " << arg << "\n" << kUsage;
      return kExitUsage;
    } else {
      cli.words.emplace_back(arg);
    }
  }
  if (cli.words.empty()) {
    std::cerr << kUsage;
    return kExitUsage;
  }
  const auto command = commands().find(cli.words.front());
  if (command == commands().end()) {
    std::cerr << "durationctl: unknown command " << cli.words.front() << "\n" << kUsage;
    return kExitUsage;
  }
  try {
    ipc::Client client(cli.socket);
    return command->second(client, cli);
  } catch (const std::system_error& e) {
    std::cerr << "durationctl: " << e.what() << " (is durationd running?)\n";
    return kExitUnavailable;
  } catch (const std::exception& e) {
    std::cerr << "durationctl: " << e.what() << "\n";
    return kExitUnavailable;
  }
}

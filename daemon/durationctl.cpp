// durationctl: the command-line client. Speaks the binary protocol through ipc::Client.
//   exit 0: done; 1: the daemon answered with an error; 2: usage; 69: daemon unreachable.
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "daemon/ctl_cache.hpp"
#include "daemon/ctl_support.hpp"
#include "daemon/ctl_timer.hpp"
#include "durationd/version.hpp"

using namespace durationd;

namespace {

std::vector<ctl::Command> all_commands() {
  std::vector<ctl::Command> commands;
  ctl::add_core_commands(commands);
  ctl::add_admin_commands(commands);
  ctl::add_cache_commands(commands);
  ctl::add_timer_commands(commands);
  // One line per family: ctl::add_<family>_commands(commands);
  return commands;
}

void print_usage(std::ostream& out, const std::vector<ctl::Command>& commands) {
  out << "usage: durationctl [--socket PATH] [--json] COMMAND ...\n\n"
         "  --socket PATH   the daemon's socket (default $DURATIOND_SOCKET, else /run/durationd/durationd.sock)\n"
         "  --json          print the daemon's answers as JSON\n\ncommands:\n";
  for (const auto& c : commands) out << "  " << c.usage << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  const auto commands = all_commands();
  std::string socket = ipc::default_socket_path();
  bool json = false;
  std::vector<std::string> words;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (!words.empty()) {
      words.emplace_back(arg);  // after the command, every word is the command's
    } else if (arg == "--socket" && i + 1 < argc) {
      socket = argv[++i];
    } else if (arg == "--json") {
      json = true;
    } else if (arg == "--help" || arg == "-h") {
      print_usage(std::cout, commands);
      return ctl::kExitOk;
    } else if (arg == "--version") {
      std::cout << "durationctl " << kVersion << "\n";
      return ctl::kExitOk;
    } else if (arg.starts_with("-")) {
      std::cerr << "durationctl: unknown option " << arg << "\n";
      print_usage(std::cerr, commands);
      return ctl::kExitUsage;
    } else {
      words.emplace_back(arg);
    }
  }
  if (words.empty()) {
    print_usage(std::cerr, commands);
    return ctl::kExitUsage;
  }
  const ctl::Command* command = nullptr;
  for (const auto& c : commands)
    if (c.name == words.front()) command = &c;
  if (command == nullptr) {
    std::cerr << "durationctl: unknown command " << words.front() << "\n";
    print_usage(std::cerr, commands);
    return ctl::kExitUsage;
  }
  words.erase(words.begin());
  // Options after the command (e.g. "timer list --json") are the command's to read,
  // but --json is common to all: honour it anywhere.
  for (auto it = words.begin(); it != words.end();) {
    if (*it == "--json") {
      json = true;
      it = words.erase(it);
    } else {
      ++it;
    }
  }
  try {
    ipc::Client client(socket);
    ctl::Invocation invocation{client, json, std::move(words)};
    return command->run(invocation);
  } catch (const std::system_error& e) {
    std::cerr << "durationctl: " << e.what() << " (is durationd running?)\n";
    return ctl::kExitUnavailable;
  } catch (const std::exception& e) {
    std::cerr << "durationctl: " << e.what() << "\n";
    return ctl::kExitUnavailable;
  }
}

// durationd from C++: cache a value with a TTL, read it back, and time a focus session,
// through durationd::ipc::Client (the library durationctl and durationd-bench use).
// Link against durationd_ipc; `// →` marks what each line prints.
#include <cstdint>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "ipc/client.hpp"

namespace ipc = durationd::ipc;

// Arguments are msgpack maps: a struct with MSGPACK_DEFINE_MAP packs as one, keyed by
// its members' names.
struct PutArgs {
  std::string key;
  std::string value;
  std::uint64_t ttl_ms;
  MSGPACK_DEFINE_MAP(key, value, ttl_ms);
};

struct StartArgs {
  std::string task;
  std::vector<std::string> tags;
  std::uint64_t planned_ms;
  MSGPACK_DEFINE_MAP(task, tags, planned_ms);
};

using Fields = std::map<std::string, msgpack::object>;
using Key = std::map<std::string, std::string>;

int main() try {
  ipc::Client client(ipc::default_socket_path());  // $DURATIOND_SOCKET, else /run/durationd/durationd.sock

  ipc::call_result(client, "cache.put", PutArgs{"greeting", "hello", 60'000});
  const auto got = ipc::call_result(client, "cache.get", Key{{"key", "greeting"}});
  const auto entry = got.get().as<Fields>();
  std::cout << entry.at("value").as<std::string>() << "\n";                  // → hello
  std::cout << (entry.at("ttl_ms").as<std::uint64_t>() <= 60'000) << "\n";   // → 1

  // An error answer: call_result throws ipc::CallError; Client::call returns it.
  try {
    ipc::call_result(client, "cache.get", Key{{"key", "absent"}});
  } catch (const ipc::CallError& e) {
    std::cout << e.code() << "\n";  // → NOT_FOUND
  }

  const auto started = ipc::call_result(client, "timer.start", StartArgs{"write the report", {"work"}, 25 * 60'000});
  const auto id = started.get().as<Fields>().at("id").as<std::uint64_t>();
  const auto stopped = ipc::call_result(client, "timer.stop", std::map<std::string, std::uint64_t>{{"id", id}, {"focus", 4}});
  const auto session = stopped.get().as<Fields>();
  std::cout << session.at("state").as<std::string>() << " " << session.at("focus").as<int>() << "\n";  // → completed 4
  return 0;
} catch (const std::exception& e) {
  std::cerr << "cache_example: " << e.what() << "\n";
  return 1;
}

// durationctl ping, hello.
#include <iostream>

#include "daemon/ctl_support.hpp"
#include "ipc/json_codec.hpp"
#include "ipc/msgpack_reader.hpp"

namespace durationd::ctl {
namespace {

int ping(Invocation& in) {
  const auto r = in.client.call("ping");
  if (!r.ok) return print_error(r);
  std::cout << (in.json ? to_json(r.result) : "pong") << "\n";
  return kExitOk;
}

int hello(Invocation& in) {
  const auto r = in.client.call("hello");
  if (!r.ok) return print_error(r);
  if (in.json) {
    std::cout << to_json(r.result) << "\n";
    return kExitOk;
  }
  // Human form: one "key: value" line per field, in the daemon's order.
  ipc::MsgpackReader reader(ipc::as_bytes(r.result));
  ipc::MsgToken map;
  if (!reader.next(map) || map.kind != ipc::MsgKind::kMap) return print_error(r);
  for (std::uint32_t i = 0; i < map.count; ++i) {
    ipc::MsgToken key;
    ipc::Bytes value;
    if (!reader.next(key) || !reader.read_raw(value)) break;
    std::string text = to_json(ipc::as_chars(value));
    if (text.size() >= 2 && text.front() == '"') text = text.substr(1, text.size() - 2);
    std::cout << ipc::as_chars(key.payload) << ": " << text << "\n";
  }
  return kExitOk;
}

}  // namespace

void add_core_commands(std::vector<Command>& commands) {
  commands.push_back({"ping", "ping                    check that the daemon answers", ping});
  commands.push_back({"hello", "hello                   server version, protocol, limits, and who you are to it", hello});
}

}  // namespace durationd::ctl

#include "daemon/ctl_support.hpp"

#include <iostream>

#include "ipc/json_codec.hpp"

namespace durationd::ctl {

std::string pack_map(std::uint32_t pairs, const std::function<void(ipc::MsgpackWriter&)>& fill) {
  std::string out;
  ipc::StringSink sink(out);
  ipc::MsgpackWriter w(sink);
  w.pack_map(pairs);
  fill(w);
  return out;
}

std::string to_json(std::string_view msgpack) {
  std::string out;
  if (!ipc::msgpack_to_json(ipc::as_bytes(msgpack), out)) return "null";
  return out;
}

int print_error(const ipc::Response& r) {
  std::cerr << "durationctl: " << r.error_code << ": " << r.error_message << "\n";
  return kExitError;
}

int usage_error(std::string_view message) {
  std::cerr << "durationctl: " << message << " (see durationctl --help)\n";
  return kExitUsage;
}

}  // namespace durationd::ctl

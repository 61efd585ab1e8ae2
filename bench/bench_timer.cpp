#include "bench/bench_timer.hpp"

#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include "bench/load_loop.hpp"
#include "ipc/msgpack_writer.hpp"

namespace durationd::bench {

namespace {

struct SessionInfo {
  BenchSession session;
  std::string task, state;
};

ipc::Client connect(const std::string& socket) {
  try {
    return ipc::Client(socket);
  } catch (const std::system_error& e) {
    throw ConnectError(e.what());
  }
}

std::runtime_error malformed() { return std::runtime_error("durationd sent a session in an unexpected form"); }

// Reads one session map (protocol.md, "Timer sessions"), keeping what the test needs.
SessionInfo read_session(ipc::MsgpackReader& r) {
  SessionInfo info;
  ipc::MsgToken t;
  if (!r.next(t) || t.kind != ipc::MsgKind::kMap) throw malformed();
  for (std::uint32_t i = 0, n = t.count; i < n; ++i) {
    ipc::MsgToken key, value;
    if (!r.next(key) || key.kind != ipc::MsgKind::kStr) throw malformed();
    const std::string_view name = ipc::as_chars(key.payload);
    if (name != "id" && name != "task" && name != "state" && name != "interruptions") {
      if (!r.skip()) throw malformed();
      continue;
    }
    if (!r.next(value)) throw malformed();
    if (name == "id" && value.kind == ipc::MsgKind::kUint) info.session.id = value.uint;
    if (name == "task" && value.kind == ipc::MsgKind::kStr) info.task = ipc::as_chars(value.payload);
    if (name == "state" && value.kind == ipc::MsgKind::kStr) info.state = ipc::as_chars(value.payload);
    if (name == "interruptions" && value.kind == ipc::MsgKind::kArray) {
      info.session.interruptions = value.count;
      for (std::uint32_t j = 0; j < value.count; ++j)
        if (!r.skip()) throw malformed();
    }
  }
  return info;
}

SessionInfo session_of(const ipc::Response& response) {
  ipc::MsgpackReader r(ipc::as_bytes(response.result));
  return read_session(r);
}

std::string args_map(std::initializer_list<std::pair<std::string_view, std::string_view>> strings,
                     std::optional<std::uint64_t> id = std::nullopt) {
  std::string out;
  ipc::StringSink sink(out);
  ipc::MsgpackWriter w(sink);
  w.pack_map(static_cast<std::uint32_t>(strings.size() + (id ? 1 : 0)));
  if (id) {
    ipc::pack_str(w, "id");
    w.pack_uint64(*id);
  }
  for (const auto& [k, v] : strings) {
    ipc::pack_str(w, k);
    ipc::pack_str(w, v);
  }
  return out;
}

ipc::Response call(ipc::Client& client, std::string_view op, const std::string& args) {
  ipc::Response r = client.call(op, ipc::as_bytes(args));
  if (!r.ok && r.error_code != "CONFLICT")
    throw std::runtime_error("" + std::string(op) + " failed: " + r.error_code + ": " + r.error_message);
  return r;
}

// The uid's running or paused session, if any.
std::optional<SessionInfo> active_session(ipc::Client& client) {
  for (const char* state : {"running", "paused"}) {
    const ipc::Response r = call(client, "timer.list", args_map({{"state", state}}));
    ipc::MsgpackReader reader(ipc::as_bytes(r.result));
    ipc::MsgToken t;
    if (!reader.next(t) || t.kind != ipc::MsgKind::kMap) throw malformed();
    for (std::uint32_t i = 0, n = t.count; i < n; ++i) {
      ipc::MsgToken key, list;
      if (!reader.next(key) || key.kind != ipc::MsgKind::kStr) throw malformed();
      if (ipc::as_chars(key.payload) != "sessions") {
        if (!reader.skip()) throw malformed();
        continue;
      }
      if (!reader.next(list) || list.kind != ipc::MsgKind::kArray) throw malformed();
      if (list.count > 0) return read_session(reader);
      break;
    }
  }
  return std::nullopt;
}

}  // namespace

BenchTimer::BenchTimer(const std::string& socket) : client_(connect(socket)) {}

BenchSession BenchTimer::open() {
  const ipc::Response started = call(client_, "timer.start", args_map({{"task", "bench"}}));
  if (started.ok) return session_of(started).session;
  const auto active = active_session(client_);
  if (!active) throw std::runtime_error("timer.start answered CONFLICT but no session is active");
  if (active->task != "bench")
    throw std::runtime_error("your session " + std::to_string(active->session.id) + " (\"" + active->task +
                             "\") is " + active->state +
                             "; the benchmark does not touch it. Stop it first or run the timer test as another user");
  if (active->state == "paused") call(client_, "timer.resume", args_map({}, active->session.id));
  return active->session;
}

void BenchTimer::close(std::uint64_t id) {
  call(client_, "timer.stop", args_map({}, id));
  call(client_, "timer.delete", args_map({}, id));
}

}  // namespace durationd::bench

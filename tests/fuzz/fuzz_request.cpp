// A whole request through the real daemon: the transport (ipc::Server's connection:
// encoding, framing, JSON mapping, envelope), the access policy and dispatch
// (AppService, every op family) and the stores, to the response on the socket.
//
// Built once per process (LLVMFuzzerInitialize), as daemon/serve.cpp builds it, over a
// temporary state dir and a test passphrase. Each input is sent twice, each time on a
// fresh socket pair handed to Server::adopt, as a connection's whole byte stream:
//   - binary: one frame whose body is the input;
//   - JSON lines: the input as lines (a '\n' appended), so one input can pipeline
//     several requests (start, pause, stop...) (an input starting with 0x00 is then a
//     stream of binary frames: each must be answered with a well-formed frame);
// and the client end must receive exactly one well-formed response per request (binary:
// one frame; JSON: one line per non-blank line, or a lone BAD_FRAME for a first byte
// that picks no encoding), with the request's id echoed exactly when it carried a valid
// one (decoded independently with msgpack-cxx and Boost.JSON).
//
// Choices that keep it quick and repeatable:
//   - the state dir is on /dev/shm when there is one: the durable writes' fsyncs (timer
//     writes, durable puts; synchronous = FULL is not configurable) cost next to nothing;
//   - every input runs as a new uid (non-admin: admin ops answer FORBIDDEN, so
//     admin.backup and admin.rotate_key, each seconds of PBKDF2 and copying, are not
//     run), so it finds an empty cache and no sessions, whatever ran before it;
//   - the cache budgets are small (8 MiB memory, 64 MiB disk) so state stays bounded.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "daemon/app_service.hpp"
#include "daemon/databases.hpp"
#include "daemon/family.hpp"
#include "ipc/framing.hpp"
#include "ipc/server.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

namespace asio = boost::asio;
using namespace durationd;
using Socket = asio::local::stream_protocol::socket;

std::filesystem::path make_state_dir() {
  const std::filesystem::path base = std::filesystem::is_directory("/dev/shm")
                                         ? "/dev/shm"
                                         : std::filesystem::temp_directory_path();
  std::string pattern = (base / "durationd-fuzz-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) std::abort();
  return pattern;
}

app::Config fuzz_config() {
  app::Config c;
  c.pool_size = 2;
  c.cache_memory_budget_bytes = 8u << 20;
  c.cache_disk_budget_bytes = 64u << 20;
  return c;
}

// What daemon/serve.cpp builds between opening the store and serving, less the
// listening socket and the signals.
struct Daemon {
  Daemon()
      : store(open_store()),
        workers(config.pool_size),
        cache_writer(store->pool(app::kCacheDatabase)),
        timer_writer(store->pool(app::kTimersDatabase)),
        security({.journal_socket = (dir / "no-journal").string()}),
        context{config,       *store, workers,           cache_writer,
                timer_writer, policy, io.get_executor(), security} {
    app::make_families(registry, context, families);
    requests = std::make_unique<app::RequestCounters>(registry.names());
    context.requests = requests.get();
    service = std::make_unique<app::AppService>(registry, policy, security, *requests,
                                                app::AppService::Limits{});
    server =
        std::make_unique<ipc::Server>(ipc::Server::Acceptor(io), *service,
                                      ipc::ServerOptions{config.max_frame, config.idle_timeout});
    context.server = server.get();
    for (auto& family : families) family->start();
  }

  std::unique_ptr<storage::Store> open_store() {
    auto opened = storage::Store::open({dir, config.kdf_iterations, config.pool_size},
                                       "fuzzing passphrase, not a secret", app::database_specs());
    if (!opened) {
      std::fprintf(stderr, "fuzz_request: cannot open a store in %s: %s\n", dir.c_str(),
                   opened.error().message.c_str());
      std::abort();
    }
    return std::move(*opened);
  }

  const std::filesystem::path dir = make_state_dir();
  const app::Config config = fuzz_config();
  const app::AccessPolicy policy;
  asio::io_context io{1};
  std::unique_ptr<storage::Store> store;
  storage::WorkerPool workers;
  storage::GroupCommitter cache_writer;
  storage::GroupCommitter timer_writer;
  app::SecurityLog security;
  app::AppContext context;
  app::OpRegistry registry;
  std::vector<std::unique_ptr<app::Family>> families;
  std::unique_ptr<app::RequestCounters> requests;
  std::unique_ptr<app::AppService> service;
  std::unique_ptr<ipc::Server> server;
};

Daemon* daemon_instance = nullptr;  // built once, never destroyed (threads may still run at exit)
uid_t next_uid = 200'000;

// Sends `stream` on a new connection as `peer` and returns all the daemon wrote back
// until it closed the connection (after our end shut down its sending side).
std::string exchange(Daemon& d, const std::string& stream, const ipc::Peer& peer) {
  Socket client(d.io), served(d.io);
  asio::local::connect_pair(client, served);
  d.server->adopt(std::move(served), peer);

  std::string received;
  int running = 2;
  asio::co_spawn(
      d.io,
      [&]() -> asio::awaitable<void> {
        // A refused connection may close before taking everything: that error is no news.
        co_await asio::async_write(client, asio::buffer(stream),
                                   asio::as_tuple(asio::use_awaitable));
        boost::system::error_code ignored;
        client.shutdown(Socket::shutdown_send, ignored);
        --running;
      },
      asio::detached);
  asio::co_spawn(
      d.io,
      [&]() -> asio::awaitable<void> {
        char buf[16 * 1024];
        for (;;) {
          auto [ec, n] = co_await client.async_read_some(asio::buffer(buf),
                                                         asio::as_tuple(asio::use_awaitable));
          received.append(buf, n);
          if (ec) break;
        }
        --running;
      },
      asio::detached);
  if (d.io.stopped()) d.io.restart();
  while (running > 0) FUZZ_CHECK(d.io.run_one() > 0);
  return received;
}

void check_binary(Daemon& d, ipc::Bytes body, const ipc::Peer& peer) {
  std::string stream;
  const std::size_t at = ipc::begin_binary_frame(stream);
  stream.append(ipc::as_chars(body));
  ipc::finish_binary_frame(stream, at);
  const std::string received = exchange(d, stream, peer);

  const auto scan = ipc::scan_binary_frame(ipc::as_bytes(received), ipc::kDefaultMaxFrame);
  FUZZ_CHECK(scan.status == ipc::FrameStatus::kComplete &&
             received.size() == ipc::kFrameHeaderBytes + scan.body_bytes);
  const auto response =
      fuzz::check_msgpack_response(ipc::as_bytes(received).subspan(ipc::kFrameHeaderBytes));

  const auto request = fuzz::unpack_one(body);
  if (!request) {
    FUZZ_CHECK(!response.ok && response.code == "BAD_FRAME" && !response.id);
    return;
  }
  FUZZ_CHECK(response.id == fuzz::valid_id_of(request->get()));
}

// The id a JSON line carries, read with Boost.JSON alone.
std::optional<std::uint64_t> json_id(std::string_view line) {
  boost::system::error_code ec;
  boost::json::parse_options deep;
  deep.max_depth = 1024;
  const auto v = boost::json::parse(line, ec, {}, deep);
  if (ec || !v.is_object()) return std::nullopt;
  const auto* id = v.get_object().if_contains("id");
  if (id == nullptr || !(id->is_uint64() || id->is_int64())) return std::nullopt;
  if (id->is_int64() && id->get_int64() < 0) return std::nullopt;
  const auto n = id->to_number<std::uint64_t>();
  return n <= ipc::kMaxRequestId ? std::optional(n) : std::nullopt;
}

void check_json(Daemon& d, std::string_view input, const ipc::Peer& peer) {
  std::string stream(input);
  if (stream.empty() || stream.back() != '\n') stream.push_back('\n');
  const std::string received = exchange(d, stream, peer);
  if (ipc::encoding_for_first_byte(static_cast<std::byte>(stream[0])) == ipc::Encoding::kBinary) {
    // A first byte 0x00 picks binary: whatever frames the bytes make, each is answered
    // with one well-formed frame (and a broken one ends the connection).
    for (ipc::Bytes rest = ipc::as_bytes(received); !rest.empty();) {
      const auto scan = ipc::scan_binary_frame(rest, ipc::kDefaultMaxFrame);
      FUZZ_CHECK(scan.status == ipc::FrameStatus::kComplete);
      fuzz::check_msgpack_response(rest.subspan(ipc::kFrameHeaderBytes, scan.body_bytes));
      rest = rest.subspan(ipc::kFrameHeaderBytes + scan.body_bytes);
    }
    return;
  }
  FUZZ_CHECK(received.empty() || received.back() == '\n');

  std::vector<std::string_view> responses;
  for (std::string_view rest = received; !rest.empty();) {
    const std::size_t nl = rest.find('\n');
    responses.push_back(rest.substr(0, nl));
    rest.remove_prefix(nl + 1);
  }
  if (ipc::encoding_for_first_byte(static_cast<std::byte>(stream[0])) == ipc::Encoding::kInvalid) {
    FUZZ_CHECK(responses.size() == 1);
    const auto r = fuzz::check_json_response(responses[0]);
    FUZZ_CHECK(!r.ok && r.code == "BAD_FRAME" && !r.id);
    return;
  }
  std::size_t next = 0;
  for (std::string_view rest = stream; !rest.empty();) {
    const std::size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    if (ipc::is_blank_line(line)) continue;
    FUZZ_CHECK(next < responses.size());
    const auto r = fuzz::check_json_response(responses[next++]);
    const auto id = json_id(line);
    // An id is echoed exactly when the line carried a valid one, unless the line could
    // not be turned into a request at all (bad JSON, bad $bin/$ts, too deep).
    if (r.id) FUZZ_CHECK(r.id == id);
    if (id && !r.id) FUZZ_CHECK(!r.ok && (r.code == "BAD_REQUEST" || r.code == "TOO_DEEP"));
  }
  FUZZ_CHECK(next == responses.size());
}

// libFuzzer's per-input leak check (-detect_leaks=1) runs LeakSanitizer whenever an
// input allocated more than it freed, which a daemon keeping state always does: 150 ms
// an input. It is off here by default (before the command line's flags, which libFuzzer
// parses after this and which may turn it back on); LeakSanitizer still checks at exit.
void default_to_no_per_input_leak_check(int* argc, char*** argv) {
  static std::vector<char*> args;
  static char flag[] = "-detect_leaks=0";
  args.assign(*argv, *argv + *argc);
  args.insert(args.begin() + 1, flag);
  args.push_back(nullptr);
  *argc += 1;
  *argv = args.data();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  default_to_no_per_input_leak_check(argc, argv);
  ::signal(SIGPIPE, SIG_IGN);
  spdlog::set_level(spdlog::level::off);
  daemon_instance = new Daemon();
  std::atexit([] {
    std::error_code ignored;
    std::filesystem::remove_all(daemon_instance->dir, ignored);
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Daemon& d = *daemon_instance;
  const uid_t uid = next_uid++;
  const ipc::Peer peer{uid, uid, 4242, {}};
  check_binary(d, fuzz::bytes_of(data, size), peer);
  check_json(d, {reinterpret_cast<const char*>(data), size}, peer);
  return 0;
}

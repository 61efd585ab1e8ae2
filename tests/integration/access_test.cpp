// Who gets in: allow-lists, admin groups, connection caps, backpressure.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <chrono>
#include <thread>

#include <catch2/catch.hpp>

#include "daemon_process.hpp"
#include "ipc/client.hpp"
#include "raw_connection.hpp"

using namespace durationd;
using namespace durationd::test;
using namespace std::chrono_literals;

namespace {

ExitResult ctl_as(const DaemonProcess& daemon, const std::vector<std::string>& identity, std::vector<std::string> words,
                  std::string* out) {
  ::chmod(daemon.socket().c_str(), 0666);
  ::chmod(daemon.dir().c_str(), 0755);
  std::vector<std::string> argv{"/usr/bin/setpriv"};
  argv.insert(argv.end(), identity.begin(), identity.end());
  argv.insert(argv.end(), {durationctl_for_all(), "--socket", daemon.socket().string()});
  argv.insert(argv.end(), words.begin(), words.end());
  return run_command(argv, {}, out);
}

const std::vector<std::string> kNobody{"--reuid=65534", "--regid=65534", "--clear-groups"};

std::uint64_t rss_kib(pid_t pid) {
  const std::string status = read_file("/proc/" + std::to_string(pid) + "/status");
  const auto at = status.find("VmRSS:");
  return at == std::string::npos ? 0 : std::stoull(status.substr(at + 6));
}

}  // namespace

TEST_CASE("access: a peer outside the allow-list gets FORBIDDEN and is closed") {
  DaemonProcess daemon({.config_json = R"({"allowed_uids": [4242]})"});
  std::string out;
  const auto r = ctl_as(daemon, kNobody, {"ping"}, &out);
  CHECK(r.exit_code == 1);
  CHECK(r.stderr_text.find("FORBIDDEN") != std::string::npos);
  // Root is an admin, and admins are always allowed.
  ipc::Client root(daemon.socket());
  CHECK(root.call("ping").ok);
  const auto events = result_json(root.call("admin.events"));
  CHECK(events.find("\"kind\":\"peer_denied\"") != std::string::npos);
  CHECK(events.find("\"uid\":65534") != std::string::npos);
}

TEST_CASE("access: an allow-listed group, primary or supplementary, gets in") {
  DaemonProcess daemon({.config_json = R"({"allowed_groups": [4343]})"});
  std::string out;
  CHECK(ctl_as(daemon, {"--reuid=65534", "--regid=4343", "--clear-groups"}, {"ping"}, &out).exit_code == 0);
  CHECK(ctl_as(daemon, {"--reuid=65534", "--regid=65534", "--groups=4343"}, {"ping"}, &out).exit_code == 0);
  CHECK(ctl_as(daemon, kNobody, {"ping"}, &out).exit_code == 1);
}

TEST_CASE("access: admin by supplementary group") {
  DaemonProcess daemon({.config_json = R"({"admin_groups": ["4444"]})"});
  std::string out;
  CHECK(ctl_as(daemon, kNobody, {"status"}, &out).exit_code == 1);
  CHECK(ctl_as(daemon, {"--reuid=65534", "--regid=65534", "--groups=4444"}, {"--json", "status"}, &out).exit_code == 0);
  CHECK(out.rfind("{\"version\":", 0) == 0);
}

TEST_CASE("access: connection caps answer BUSY and close, and a freed slot is reused") {
  DaemonProcess daemon({.config_json = R"({"max_connections_per_uid": 3})"});
  std::vector<std::unique_ptr<RawConnection>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(std::make_unique<RawConnection>(daemon.socket()));
    open.back()->send(request_frame("ping", 1));
    CHECK(open.back()->read_frame().ok);
  }
  RawConnection extra(daemon.socket());
  extra.send(request_frame("ping", 2));
  const auto r = extra.read_frame();
  CHECK(r.error_code == "BUSY");
  CHECK(extra.closed_by_peer());
  // Recorded as a security event (asked on a connection already in).
  open.front()->send(request_frame("admin.events", 4));
  CHECK(result_json(open.front()->read_frame()).find("\"kind\":\"limit_exceeded\"") != std::string::npos);
  open.pop_back();
  // The slot frees once the daemon has seen the close.
  bool served = false;
  for (int attempt = 0; attempt < 100 && !served; ++attempt) {
    RawConnection again(daemon.socket());
    again.send(request_frame("ping", 3));
    served = again.read_frame().ok;
    if (!served) std::this_thread::sleep_for(20ms);
  }
  CHECK(served);
}

TEST_CASE("access: a client that floods requests and never reads does not grow the daemon's memory") {
  DaemonProcess daemon;
  const auto before = rss_kib(daemon.pid());
  RawConnection flood(daemon.socket());
  ::fcntl(flood.native_handle(), F_SETFL, O_NONBLOCK);
  std::string batch;
  for (int i = 0; i < 2000; ++i) batch += request_frame("hello", static_cast<std::uint64_t>(i));
  std::size_t sent = 0;
  const auto until = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < until) {
    const ssize_t n = ::send(flood.native_handle(), batch.data(), batch.size(), MSG_NOSIGNAL);
    if (n > 0) sent += static_cast<std::size_t>(n);
    else std::this_thread::sleep_for(10ms);
  }
  const auto after = rss_kib(daemon.pid());
  INFO("sent " << sent << " bytes; RSS " << before << " -> " << after << " KiB");
  // The daemon answers until the client's receive buffer is full, then stops reading:
  // the kernel's buffers fill and the sender is pushed back; the daemon holds little.
  CHECK(sent > 100'000);
  CHECK(after < before + 32 * 1024);
  // Other clients are still served.
  RawConnection other(daemon.socket());
  other.send(request_frame("ping", 1));
  CHECK(other.read_frame().ok);
}

// Security events reach journald through its native protocol. The daemon runs in a
// private mount namespace whose /run is a tmpfs, with /run/systemd/journal/socket
// bind-mounted from a datagram socket this test reads: the real sd_journal_send path,
// no mock in the daemon (../shared/platform.md, "journald without systemd as PID 1").
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <thread>

#include "daemon_process.hpp"
#include "ipc/client.hpp"
#include "ipc/msgpack_writer.hpp"
#include "raw_connection.hpp"

using namespace durationd;
using namespace durationd::test;
using namespace std::chrono_literals;

namespace {

using Entry = std::map<std::string, std::string>;

// One datagram of the native protocol: "FIELD=value\n" lines, or, for a value holding a
// newline, "FIELD\n" + little-endian 64-bit size + the value + "\n".
Entry parse_native(std::string_view d) {
  Entry e;
  while (!d.empty()) {
    const auto nl = d.find('\n');
    const auto eq = d.find('=');
    if (eq != std::string_view::npos && eq < nl) {
      e[std::string(d.substr(0, eq))] = std::string(d.substr(eq + 1, nl - eq - 1));
      d.remove_prefix(nl == std::string_view::npos ? d.size() : nl + 1);
      continue;
    }
    const std::string name(d.substr(0, nl));
    d.remove_prefix(nl + 1);
    std::uint64_t size = 0;
    REQUIRE(d.size() >= 8);
    for (int i = 7; i >= 0; --i) size = size << 8 | static_cast<unsigned char>(d[static_cast<std::size_t>(i)]);
    d.remove_prefix(8);
    REQUIRE(d.size() >= size + 1);
    e[name] = std::string(d.substr(0, size));
    d.remove_prefix(size + 1);
  }
  return e;
}

// A datagram socket standing in for journald's, outside the daemon's namespace.
class JournalSocket {
 public:
  explicit JournalSocket(std::filesystem::path path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    ::chmod(path_.c_str(), 0666);
  }
  ~JournalSocket() { ::close(fd_); }
  JournalSocket(const JournalSocket&) = delete;
  JournalSocket& operator=(const JournalSocket&) = delete;
  const std::filesystem::path& path() const { return path_; }

  // Every datagram that arrives until none has for `quiet`, raw and parsed.
  std::vector<std::pair<std::string, Entry>> drain(std::chrono::milliseconds quiet = 700ms) {
    std::vector<std::pair<std::string, Entry>> out;
    std::string buffer(1 << 16, '\0');
    pollfd p{fd_, POLLIN, 0};
    while (::poll(&p, 1, static_cast<int>(quiet.count())) == 1) {
      const auto n = ::recv(fd_, buffer.data(), buffer.size(), 0);
      if (n <= 0) break;
      std::string raw(buffer.data(), static_cast<std::size_t>(n));
      auto entry = parse_native(raw);
      out.emplace_back(std::move(raw), std::move(entry));
    }
    return out;
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

// The daemon's argv is appended: it runs with the journal socket at journald's path.
std::vector<std::string> in_private_run(const std::filesystem::path& journal) {
  return {"/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
          "mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -p /run/systemd/journal && "
          ": > /run/systemd/journal/socket && mount --bind \"$0\" /run/systemd/journal/socket && exec \"$@\"",
          journal.string()};
}

std::size_t count_kind(const std::vector<std::pair<std::string, Entry>>& entries, std::string_view kind) {
  std::size_t n = 0;
  for (const auto& [raw, e] : entries) n += e.count("DURATIOND_EVENT") && e.at("DURATIOND_EVENT") == kind;
  return n;
}

const Entry* first_of(const std::vector<std::pair<std::string, Entry>>& entries, std::string_view kind) {
  for (const auto& [raw, e] : entries)
    if (e.count("DURATIOND_EVENT") && e.at("DURATIOND_EVENT") == kind) return &e;
  return nullptr;
}

std::string string_args(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs) {
  std::string out;
  ipc::StringSink sink(out);
  ipc::MsgpackWriter w(sink);
  w.pack_map(static_cast<std::uint32_t>(pairs.size()));
  for (const auto& [k, v] : pairs) {
    ipc::pack_str(w, k);
    ipc::pack_str(w, v);
  }
  return out;
}

void send_bad_frame(const DaemonProcess& daemon) {
  RawConnection bad(daemon.socket());
  bad.send("garbage");
  CHECK(bad.read_line().find("BAD_FRAME") != std::string::npos);
}

bool private_mounts_permitted() {
  return run_command({"/usr/bin/unshare", "-m", "/bin/true"}).exit_code == 0;
}

}  // namespace

TEST_CASE("security events reach the journal with their fields, never a secret, rate-limited per peer") {
  if (!private_mounts_permitted()) {
    WARN("unshare -m is not permitted here: the journal path cannot be tested on this machine");
    return;
  }
  TempDir tmp;
  JournalSocket journal(tmp.path() / "journal.sock");
  DaemonProcess daemon({.config_json = R"({"event_log_burst": 3, "event_log_interval_ms": 2000})",
                        .wrapper = in_private_run(journal.path())});
  const std::string secret_value = "the secret cache value 7c1f";
  const std::string new_passphrase = "a brand new passphrase 4d2e";
  {
    ipc::Client c(daemon.socket());
    const auto put = string_args({{"key", "k"}, {"value", secret_value}});
    REQUIRE(c.call("cache.put", ipc::as_bytes(put)).ok);
    const auto rotate = string_args({{"passphrase", new_passphrase}});
    REQUIRE(c.call("admin.rotate_key", ipc::as_bytes(rotate)).ok);
    REQUIRE(c.call("admin.backup").ok);
  }
  for (int i = 0; i < 8; ++i) send_bad_frame(daemon);
  ::chmod(daemon.socket().c_str(), 0666);
  ::chmod(daemon.dir().c_str(), 0755);
  std::string out;
  CHECK(run_command(as_uid(65534, {durationctl_for_all(), "--socket", daemon.socket().string(), "status"}), {}, &out)
            .exit_code == 1);

  const auto entries = journal.drain();
  REQUIRE(!entries.empty());
  for (const auto& [raw, e] : entries) {
    INFO(raw);
    CHECK(e.at("SYSLOG_IDENTIFIER") == "durationd");
    CHECK(e.at("MESSAGE_ID").size() == 32);
    CHECK(e.at("PRIORITY").size() == 1);
    CHECK(!e.at("MESSAGE").empty());
    for (const std::string& secret : {std::string(kTestPassphrase), new_passphrase, secret_value})
      CHECK(raw.find(secret) == std::string::npos);
  }
  const Entry* frame = first_of(entries, "bad_frame");
  REQUIRE(frame != nullptr);
  CHECK(frame->at("MESSAGE_ID") == "9cbe3d671135412eb9a9d6c706071d83");  // fixed forever
  CHECK(frame->at("PRIORITY") == "5");
  CHECK(frame->at("DURATIOND_PEER_UID") == "0");
  CHECK(frame->at("DURATIOND_PEER_PID") == std::to_string(::getpid()));
  CHECK(count_kind(entries, "bad_frame") == 3);  // the burst; five more were counted, not logged
  const Entry* denied = first_of(entries, "admin_denied");
  REQUIRE(denied != nullptr);
  CHECK(denied->at("DURATIOND_PEER_UID") == "65534");
  CHECK(count_kind(entries, "key_rotated") == 1);
  CHECK(count_kind(entries, "backup_created") == 1);

  // After the interval, the next event says what was suppressed.
  std::this_thread::sleep_for(2100ms);
  send_bad_frame(daemon);
  const auto later = journal.drain();
  REQUIRE(count_kind(later, "bad_frame") == 1);
  const Entry* next = first_of(later, "bad_frame");
  CHECK(next->at("DURATIOND_SUPPRESSED") == "5");
  CHECK(next->at("MESSAGE").find("5 similar events from this peer were suppressed") != std::string::npos);
  ipc::Client c(daemon.socket());
  CHECK(result_json(c.call("admin.status")).find("\"suppressed\":5") != std::string::npos);
}

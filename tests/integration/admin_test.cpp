// Admin ops and security events, against the real daemon (protocol.md "Admin").
#include <sys/stat.h>

#include <fstream>

#include <catch2/catch.hpp>

#include "daemon_process.hpp"
#include "ipc/client.hpp"
#include "ipc/msgpack_writer.hpp"
#include "raw_connection.hpp"

using namespace durationd;
using namespace durationd::test;
namespace fs = std::filesystem;

namespace {

std::string json_of(const ipc::Response& r) { return result_json(r); }

std::string args_map(std::string_view key, std::string_view value) {
  std::string out;
  ipc::StringSink sink(out);
  ipc::MsgpackWriter w(sink);
  w.pack_map(1);
  ipc::pack_str(w, key);
  ipc::pack_str(w, value);
  return out;
}

// durationctl run as an unprivileged uid against `daemon` (whose socket is opened up).
ExitResult ctl_as_nobody(const DaemonProcess& daemon, std::vector<std::string> words, std::string* out) {
  ::chmod(daemon.socket().c_str(), 0666);
  ::chmod(daemon.dir().c_str(), 0755);
  std::vector<std::string> argv{durationctl_for_all(), "--socket", daemon.socket().string()};
  argv.insert(argv.end(), words.begin(), words.end());
  return run_command(as_uid(65534, argv), {}, out);
}

}  // namespace

TEST_CASE("admin.status reports the contract's fields") {
  DaemonProcess daemon;
  ipc::Client client(daemon.socket());
  const auto r = client.call("admin.status");
  REQUIRE(r.ok);
  const std::string s = json_of(r);
  for (const char* key : {"\"version\":", "\"pid\":", "\"uptime_ms\":", "\"connections\":{\"current\":1,",
                          "\"requests\":{\"total\":", "\"storage\":{\"databases\":[", "\"name\":\"cache.db\"",
                          "\"name\":\"timers.db\"", "\"encrypted\":true", "\"kdf\":\"pbkdf2-hmac-sha512\"",
                          "\"kdf_iter\":256000", "\"page_size\":4096", "\"pool\":{\"size\":",
                          "\"security\":{\"events\":"})
    CHECK(s.find(key) != std::string::npos);
}

TEST_CASE("admin.events records refused frames and payloads, newest first, with the peer") {
  DaemonProcess daemon;
  {
    RawConnection bad(daemon.socket());
    bad.send("garbage");
    CHECK(bad.read_line().find("BAD_FRAME") != std::string::npos);
    CHECK(bad.closed_by_peer());
  }
  {
    RawConnection deep(daemon.socket());
    deep.send("{\"op\":\"ping\",\"v\":" + std::string(200, '[') + std::string(200, ']') + "}\n");
    CHECK(deep.read_line().find("TOO_DEEP") != std::string::npos);
  }
  ipc::Client client(daemon.socket());
  const auto r = client.call("admin.events");
  REQUIRE(r.ok);
  const std::string events = json_of(r);
  const auto payload = events.find("\"kind\":\"payload_rejected\"");
  const auto frame = events.find("\"kind\":\"bad_frame\"");
  CHECK(payload != std::string::npos);
  CHECK(frame != std::string::npos);
  CHECK(payload < frame);  // newest first
  CHECK(events.find("\"uid\":0") != std::string::npos);
  CHECK(events.find("\"at\":{\"$ts\":") != std::string::npos);
}

TEST_CASE("admin.backup makes an encrypted copy that the daemon can start from") {
  DaemonProcess daemon;
  ipc::Client client(daemon.socket());
  const auto r = client.call("admin.backup");
  REQUIRE(r.ok);
  const std::string b = json_of(r);
  const auto start = b.find("\"path\":\"") + 8;
  const fs::path path = b.substr(start, b.find('"', start) - start);
  CHECK(path.parent_path() == daemon.state_dir() / "backups");
  CHECK(fs::exists(path / "cache.db"));
  struct stat st{};
  REQUIRE(::stat((path / "timers.db").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // The backup is a state dir of its own, under the same passphrase.
  TempDir other;
  fs::copy(path, other.path() / "state");
  ::chmod((other.path() / "state").c_str(), 0700);
  DaemonProcess restored({.state_dir = other.path() / "state"});
  CHECK(restored.running());
}

TEST_CASE("admin.rotate_key re-encrypts every database: the old passphrase no longer opens them") {
  TempDir owner;
  const auto state = owner.path() / "state";
  {
    DaemonProcess daemon({.state_dir = state});
    ipc::Client client(daemon.socket());
    auto r = client.call("admin.rotate_key", ipc::as_bytes(args_map("passphrase", "short")));
    CHECK(r.error_code == "BAD_REQUEST");
    CHECK(r.error_message.find("passphrase") != std::string::npos);
    r = client.call("admin.rotate_key", ipc::as_bytes(args_map("passphrase", "the rotated passphrase 2027")));
    REQUIRE(r.ok);
    CHECK(json_of(r) == R"({"rotated":["cache.db","timers.db"]})");
    CHECK(client.call("ping").ok);  // still serving
    const auto events = json_of(client.call("admin.events"));
    CHECK(events.find("key_rotated") != std::string::npos);
    CHECK(events.find("rotated passphrase") == std::string::npos);  // never the secret
  }
  const auto old = run_command(daemon_args(owner.path() / "s.sock", state), {{"DURATIOND_KEY", kTestPassphrase}});
  CHECK(old.exit_code == 1);
  CHECK(old.stderr_text.find("wrong key") != std::string::npos);
  DaemonProcess renewed({.env = {{"DURATIOND_KEY", "the rotated passphrase 2027"}}, .state_dir = state});
  CHECK(renewed.running());
}

TEST_CASE("admin ops are FORBIDDEN to a peer that is not an admin, and recorded") {
  DaemonProcess daemon;
  std::string out;
  const auto r = ctl_as_nobody(daemon, {"status"}, &out);
  CHECK(r.exit_code == 1);
  CHECK(r.stderr_text.find("FORBIDDEN") != std::string::npos);
  // The same peer may still use the ordinary ops.
  CHECK(ctl_as_nobody(daemon, {"--json", "hello"}, &out).exit_code == 0);
  CHECK(out.find("\"uid\":65534") != std::string::npos);
  CHECK(out.find("\"admin\":false") != std::string::npos);
  ipc::Client client(daemon.socket());
  const auto events = json_of(client.call("admin.events"));
  CHECK(events.find("\"kind\":\"admin_denied\"") != std::string::npos);
  CHECK(events.find("\"uid\":65534") != std::string::npos);
}

TEST_CASE("durationctl status, events, backup and rotate-key") {
  DaemonProcess daemon;
  const std::string socket = daemon.socket().string();
  std::string out;
  CHECK(run_command({DURATIONCTL_BINARY, "--socket", socket, "status"}, {}, &out).exit_code == 0);
  CHECK(out.find("durationd") != std::string::npos);
  CHECK(out.find("cache.db") != std::string::npos);
  CHECK(out.find("encrypted") != std::string::npos);
  CHECK(run_command({DURATIONCTL_BINARY, "--socket", socket, "--json", "status"}, {}, &out).exit_code == 0);
  CHECK(out.rfind("{\"version\":", 0) == 0);
  CHECK(run_command({DURATIONCTL_BINARY, "--socket", socket, "backup"}, {}, &out).exit_code == 0);
  CHECK(out.find("backups/") != std::string::npos);
  CHECK(run_command({DURATIONCTL_BINARY, "--socket", socket, "events"}, {}, &out).exit_code == 0);
  CHECK(out.find("backup_created") != std::string::npos);
  // Never a passphrase on the command line.
  auto r = run_command({DURATIONCTL_BINARY, "--socket", socket, "rotate-key", "hunter2hunter2hunter2"}, {}, &out);
  CHECK(r.exit_code == 2);
  const auto file = daemon.dir() / "new.pass";
  std::ofstream(file) << "a new passphrase for rotation\n";
  CHECK(run_command({DURATIONCTL_BINARY, "--socket", socket, "rotate-key", "--passphrase-file", file.string()}, {}, &out)
            .exit_code == 0);
  CHECK(out.find("rotated: cache.db timers.db") != std::string::npos);
}

// Security claims of docs/security.md that no other test file covers: the daemon's memory
// against core dumps and processes of its own uid, secrets in its ordinary log, and
// plaintext in its state dir and backups. Each test names the claim it checks.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "daemon_process.hpp"
#include "ipc/client.hpp"
#include "ipc/msgpack_writer.hpp"
#include "raw_connection.hpp"
#include "request_args.hpp"

using namespace durationd;
using namespace durationd::test;
namespace fs = std::filesystem;

namespace {

constexpr uid_t kNobody = 65534;

// Secrets a test hands the daemon; none may show up where the test looks.
const std::string kCacheValue = "cache value 9b41e7 never to be seen";
const std::string kTask = "task name 52c0aa never to be seen";
const std::string kNote = "session note d81f3e never to be seen";
const std::string kNewPassphrase = "rotated passphrase 6a07c2, long enough";

ipc::Response call_ok(ipc::Client& c, std::string_view op, const std::string& args = {}) {
  auto r = c.call(op, ipc::as_bytes(args));
  INFO(op << ": " << r.error_code << " " << r.error_message);
  REQUIRE(r.ok);
  return r;
}

// A durable cache entry and a timer session holding the secrets above.
void store_secrets(ipc::Client& c) {
  call_ok(
      c, "cache.put",
      RequestArgs().str("key", "k").str("value", kCacheValue).boolean("durable", true).packed());
  // Write-behind too: it reaches cache.db at the next flush or at SIGTERM.
  call_ok(c, "cache.put", RequestArgs().str("key", "k2").str("value", kCacheValue).packed());
  call_ok(c, "timer.start", RequestArgs().str("task", kTask).str("note", kNote).packed());
}

// Every regular file below `dir` (backups included) that holds `needle`.
std::vector<fs::path> files_holding(const fs::path& dir, const std::string& needle) {
  std::vector<fs::path> found;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file() && read_file(entry.path()).find(needle) != std::string::npos)
      found.push_back(entry.path());
  return found;
}

// The soft and hard limits of one line of /proc/PID/limits, e.g. "Max core file size".
std::pair<std::string, std::string> limits_of(pid_t pid, const std::string& name) {
  std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/limits"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name, 0) != 0) continue;
    std::istringstream fields(line.substr(name.size()));
    std::string soft, hard;
    fields >> soft >> hard;
    return {soft, hard};
  }
  return {};
}

}  // namespace

TEST_CASE(
    "security: the daemon is non-dumpable with core files off, even run as an ordinary uid with "
    "cores allowed") {
  if (::geteuid() != 0) {
    WARN("skipped: needs root to run the daemon as another uid");
    return;
  }
  // The daemon runs as uid 65534 from a copy of its binary (the build tree may be closed
  // to that uid), with its socket and state dir in a directory that uid owns.
  TempDir run;
  REQUIRE(::chown(run.path().c_str(), kNobody, kNobody) == 0);
  const fs::path binary = run.path() / "durationd";
  fs::copy_file(DURATIOND_BINARY, binary);
  fs::permissions(binary, fs::perms(0755));
  // As root: core files allowed without limit and the test's notify socket opened to the
  // daemon's uid; then setpriv. Each step execs, so the pid stays the daemon's. In the
  // script $0 is the copy and "$1" the build tree's binary, which it replaces.
  const std::vector<std::string> wrapper{
      "/usr/bin/prlimit",
      "--core=unlimited:unlimited",
      "/bin/sh",
      "-c",
      "chmod 0711 \"${NOTIFY_SOCKET%/*}\" && chmod 0666 \"$NOTIFY_SOCKET\" && shift && "
      "exec /usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups \"$0\" \"$@\"",
      binary.string()};
  DaemonProcess daemon(
      {.socket = run.path() / "d.sock", .state_dir = run.path() / "state", .wrapper = wrapper});
  {
    RawConnection c(daemon.socket());
    c.send(request_frame("ping", 1));
    REQUIRE(c.read_frame().ok);
  }
  const std::string proc = "/proc/" + std::to_string(daemon.pid());
  CHECK(read_file(proc + "/status").find("Uid:\t65534") != std::string::npos);

  // RLIMIT_CORE 0/0: no core file, and no helper it might exec could raise the limit.
  const auto [soft, hard] = limits_of(daemon.pid(), "Max core file size");
  CHECK(soft == "0");
  CHECK(hard == "0");
  // PR_SET_DUMPABLE 0: the kernel gives the daemon's /proc files to root, and another
  // process of the daemon's own uid may not read its environment (nor its memory).
  struct stat st {};
  REQUIRE(::stat((proc + "/environ").c_str(), &st) == 0);
  CHECK(st.st_uid == 0);
  std::string out;
  const auto peek = run_command(as_uid(kNobody, {"/bin/cat", proc + "/environ"}), {}, &out);
  CHECK(peek.exit_code != 0);
  CHECK(peek.stderr_text.find("Permission denied") != std::string::npos);
  CHECK(out.find("DURATIOND_KEY") == std::string::npos);
}

TEST_CASE(
    "security: at log level trace the daemon's log holds no passphrase, cache value, task or "
    "note") {
  DaemonProcess daemon({.config_json = R"({"log_level": "trace"})"});
  {
    ipc::Client c(daemon.socket());
    store_secrets(c);
    call_ok(c, "cache.get", RequestArgs().str("key", "k").packed());
    // Refused values and arguments carrying a secret: the errors and events name the
    // field and the limit, never the bytes.
    const auto refused = [&](std::string_view op, const std::string& args) {
      return c.call(op, ipc::as_bytes(args)).error_code;
    };
    std::string deep(40, '\x91');  // arrays of one element each, the secret at the bottom
    ipc::StringSink sink(deep);
    ipc::MsgpackWriter w(sink);
    ipc::pack_str(w, kCacheValue);
    CHECK(refused("cache.put", RequestArgs().str("key", "d").raw("value", deep).packed()) ==
          "TOO_DEEP");
    CHECK(refused("cache.put", RequestArgs()
                                   .str("key", kCacheValue + std::string(1024, 'x'))
                                   .str("value", "v")
                                   .packed()) == "TOO_LARGE");
    CHECK(refused("timer.start", RequestArgs().str("task", kTask).packed()) == "CONFLICT");
    call_ok(c, "admin.rotate_key", RequestArgs().str("passphrase", kNewPassphrase).packed());
    call_ok(c, "admin.backup");
  }
  {
    RawConnection bad(daemon.socket());
    bad.send("{\"op\":\"cache.put\",\"args\":{\"key\":\"j\",\"value\":\"" + kCacheValue + "\"" +
             "\n");
    CHECK(bad.read_line().find("BAD_REQUEST") != std::string::npos);
  }
  const auto stopped = daemon.stop(SIGTERM);
  REQUIRE(stopped.exit_code == 0);
  const std::string& log = stopped.stderr_text;
  INFO(log);
  // The level took effect: debug lines (one per connection) are there.
  CHECK(log.find(" debug connection from uid 0") != std::string::npos);
  for (const std::string& secret :
       {std::string(kTestPassphrase), kNewPassphrase, kCacheValue, kTask, kNote}) {
    INFO(secret);
    CHECK(log.find(secret) == std::string::npos);
  }
}

TEST_CASE(
    "security: no cache value, task or note reaches any file of the state dir or a backup in "
    "plaintext") {
  DaemonProcess daemon;
  std::string backup;
  {
    ipc::Client c(daemon.socket());
    store_secrets(c);
    backup = result_json(call_ok(c, "admin.backup"));
  }
  REQUIRE(fs::exists(daemon.state_dir() / "cache.db-wal"));  // running: the rows are in the WAL
  REQUIRE(backup.find("/backups/") != std::string::npos);
  for (const std::string& secret : {kCacheValue, kTask, kNote}) {
    INFO(secret);
    CHECK(files_holding(daemon.state_dir(), secret).empty());
  }
  REQUIRE(daemon.stop(SIGTERM).exit_code == 0);  // the write-behind put and the WAL reach the files
  for (const std::string& secret : {kCacheValue, kTask, kNote}) {
    INFO(secret);
    CHECK(files_holding(daemon.state_dir(), secret).empty());
  }
}

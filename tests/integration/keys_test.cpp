// Where the daemon's key comes from, and what it refuses (protocol.md "Command lines").
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <catch2/catch.hpp>

#include "daemon_process.hpp"
#include "raw_connection.hpp"

using namespace durationd::test;
namespace fs = std::filesystem;

namespace {

void write_key(const fs::path& path, std::string_view content, mode_t mode) {
  std::ofstream(path) << content;
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

ExitResult start_with(const TempDir& dir, std::vector<std::string> extra, std::map<std::string, std::string> env) {
  auto args = daemon_args(dir.path() / "s.sock", dir.path() / "state");
  args.insert(args.end(), extra.begin(), extra.end());
  return run_command(args, env);
}

void expect_serving(DaemonProcess& daemon) {
  RawConnection c(daemon.socket());
  c.send(request_frame("ping", 1));
  CHECK(c.read_frame().ok);
}

}  // namespace

TEST_CASE("keys: a key file readable or writable by group or others is refused, naming file and mode") {
  TempDir dir;
  const auto key = dir.path() / "durationd.key";
  for (mode_t mode : {0644, 0640, 0660, 0602}) {
    INFO("mode " << std::oct << mode);
    write_key(key, "a passphrase of sufficient length\n", mode);
    const auto r = start_with(dir, {"--key-file", key.string()}, {});
    CHECK(r.exit_code == 1);
    CHECK(r.stderr_text.find(key.string()) != std::string::npos);
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", mode);
    CHECK(r.stderr_text.find(octal) != std::string::npos);
    CHECK(r.stderr_text.find("sufficient") == std::string::npos);  // never the passphrase
  }
  CHECK_FALSE(fs::exists(dir.path() / "state" / "cache.db"));
}

TEST_CASE("keys: a key file that is a symlink is refused") {
  TempDir dir;
  write_key(dir.path() / "real.key", "a passphrase of sufficient length\n", 0600);
  fs::create_symlink(dir.path() / "real.key", dir.path() / "link.key");
  const auto r = start_with(dir, {"--key-file", (dir.path() / "link.key").string()}, {});
  CHECK(r.exit_code == 1);
  CHECK(r.stderr_text.find("symbolic link") != std::string::npos);
}

TEST_CASE("keys: a short passphrase, a missing key file and no key at all are refused") {
  TempDir dir;
  write_key(dir.path() / "short.key", "fifteen bytes!!\n", 0600);
  auto r = start_with(dir, {"--key-file", (dir.path() / "short.key").string()}, {});
  CHECK(r.exit_code == 1);
  CHECK(r.stderr_text.find("15 bytes") != std::string::npos);

  r = start_with(dir, {"--key-file", (dir.path() / "absent.key").string()}, {{"DURATIOND_KEY", kTestPassphrase}});
  CHECK(r.exit_code == 1);
  CHECK(r.stderr_text.find("absent.key") != std::string::npos);

  r = start_with(dir, {}, {});
  CHECK(r.exit_code == 1);
  CHECK(r.stderr_text.find("no key") != std::string::npos);
}

TEST_CASE("keys: a 0600 key file, the environment and the credentials directory each work, in that precedence") {
  TempDir keys;
  write_key(keys.path() / "file.key", "the key file passphrase\n", 0600);
  fs::create_directory(keys.path() / "creds");
  write_key(keys.path() / "creds" / "durationd.key", "the credential passphrase\n", 0400);

  TempDir state_owner;
  const auto state = state_owner.path() / "state";
  {  // the credential wins over --key-file and DURATIOND_KEY
    DaemonProcess d({.extra_args = {"--key-file", (keys.path() / "file.key").string()},
                     .env = {{"CREDENTIALS_DIRECTORY", (keys.path() / "creds").string()}},
                     .state_dir = state});
    expect_serving(d);
  }
  {  // so the databases are under the credential's passphrase now
    DaemonProcess d({.env = {{"DURATIOND_KEY", "the credential passphrase"}}, .state_dir = state});
    expect_serving(d);
  }
  // A credentials directory without durationd.key falls through to --key-file.
  TempDir other;
  fs::create_directory(other.path() / "creds");
  DaemonProcess d({.extra_args = {"--key-file", (keys.path() / "file.key").string()},
                   .env = {{"CREDENTIALS_DIRECTORY", (other.path() / "creds").string()}},
                   .test_key = false});
  expect_serving(d);
}

TEST_CASE("keys: a key that does not open the databases ends the daemon with one clear line, writing nothing") {
  TempDir owner;
  const auto state = owner.path() / "state";
  { DaemonProcess d({.state_dir = state}); }
  const auto before = read_file(state / "cache.db") + read_file(state / "timers.db");
  auto args = daemon_args(owner.path() / "s.sock", state);
  const auto r = run_command(args, {{"DURATIOND_KEY", "a different passphrase entirely"}});
  CHECK(r.exit_code == 1);
  CHECK(r.stderr_text.find("wrong key") != std::string::npos);
  CHECK((r.stderr_text.find("cache.db") != std::string::npos || r.stderr_text.find("timers.db") != std::string::npos));
  CHECK(r.stderr_text.find("different passphrase") == std::string::npos);
  CHECK(read_file(state / "cache.db") + read_file(state / "timers.db") == before);
  CHECK_FALSE(fs::exists(owner.path() / "s.sock"));
}

TEST_CASE("keys: the DURATIOND_KEY value is wiped from the daemon's environment once read") {
  DaemonProcess d;
  const std::string env_text = read_file("/proc/" + std::to_string(d.pid()) + "/environ");
  // /proc/PID/environ shows the process's original environment block: the name stays,
  // but the daemon overwrote the value in place before unsetenv().
  CHECK(env_text.find(kTestPassphrase) == std::string::npos);
}

TEST_CASE("keys: every file the daemon creates in its state dir is private") {
  DaemonProcess d;
  int files = 0;
  for (const auto& entry : fs::directory_iterator(d.state_dir())) {
    INFO(entry.path());
    struct stat st{};
    REQUIRE(::stat(entry.path().c_str(), &st) == 0);
    CHECK((st.st_mode & 077) == 0);
    ++files;
  }
  CHECK(files >= 5);  // cache.db, timers.db, their -wal/-shm, durationd.lock
}

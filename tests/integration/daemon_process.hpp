// Starts the real durationd binary on a temporary socket and state dir, as redis's
// tests/support/server.tcl does, and waits for READY=1 on a NOTIFY_SOCKET this test
// owns rather than sleeping or polling a log.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace durationd::test {

// A private temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The passphrase test daemons get through DURATIOND_KEY unless a test says otherwise.
inline constexpr const char* kTestPassphrase = "correct horse battery staple 2026";

struct DaemonOptions {
  std::optional<std::string> config_json;       // written to a file and passed with --config
  std::vector<std::string> extra_args;
  std::map<std::string, std::string> env;       // added to the child's environment
  std::optional<std::filesystem::path> socket;  // default: <tmp>/d.sock
  std::optional<std::filesystem::path> state_dir;  // default: <tmp>/state (reuse one to test restarts)
  bool test_key = true;  // set DURATIOND_KEY=kTestPassphrase unless `env` sets it
  // A command that ends by exec'ing its arguments (the daemon's argv is appended), e.g.
  // unshare: the process keeps its pid, so stop() and pid() still mean the daemon.
  std::vector<std::string> wrapper;
};

struct ExitResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string stderr_text;
};

class DaemonProcess {
 public:
  // Starts durationd and waits until it reports READY=1 (throws if it exits first or
  // does not become ready within 30 s; the message holds its stderr).
  explicit DaemonProcess(DaemonOptions options = {});
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  const std::filesystem::path& socket() const { return socket_; }
  const std::filesystem::path& state_dir() const { return state_dir_; }
  const std::filesystem::path& dir() const { return tmp_.path(); }
  pid_t pid() const { return pid_; }
  // Everything received on NOTIFY_SOCKET so far (READY=1, STATUS=..., STOPPING=1...).
  std::vector<std::string> notifications();

  // Sends `signal` and waits for the process to end.
  ExitResult stop(int signal, std::chrono::seconds timeout = std::chrono::seconds(30));
  bool running();

 private:
  TempDir tmp_;
  std::filesystem::path socket_, state_dir_, notify_path_, stderr_path_;
  int notify_fd_ = -1;
  pid_t pid_ = -1;
  std::vector<std::string> notifications_;
};

// Runs a command to completion (for start-up failures and the CLI tools).
ExitResult run_command(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
                       std::string* stdout_text = nullptr, std::chrono::seconds timeout = std::chrono::seconds(60));

// The daemon's args for a temp dir: --socket, --state-dir, --foreground.
std::vector<std::string> daemon_args(const std::filesystem::path& socket, const std::filesystem::path& state_dir);

std::string read_file(const std::filesystem::path& path);

// durationctl where any uid can run it: a copy in a world-readable temp dir made once per
// run, since the checkout (and so the build tree) may be private to root.
const std::string& durationctl_for_all();

// `PRAGMA integrity_check` of one of the daemon's databases, through `durationd inspect`
// with the test passphrase: "ok", or what went wrong.
std::string database_integrity(const std::filesystem::path& db);

// `argv` run as `uid`, with gid `uid` and no supplementary groups (setpriv).
std::vector<std::string> as_uid(uid_t uid, std::vector<std::string> argv);

}  // namespace durationd::test

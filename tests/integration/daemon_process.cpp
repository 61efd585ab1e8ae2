#include "daemon_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <boost/json.hpp>

extern char** environ;

namespace durationd::test {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "durationd-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> daemon_args(const fs::path& socket, const fs::path& state_dir) {
  return {DURATIOND_BINARY, "--socket", socket.string(), "--state-dir", state_dir.string(), "--foreground"};
}

namespace {

std::vector<std::string> environment_with(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('='));
    // The daemon under test must not pick up a key or notify socket from our own environment.
    if (extra.count(name) || name == "NOTIFY_SOCKET" || name == "DURATIOND_KEY" || name == "CREDENTIALS_DIRECTORY")
      continue;
    env.push_back(entry);
  }
  for (const auto& [name, value] : extra) env.push_back(name + "=" + value);
  return env;
}

pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env, const fs::path& stdout_path,
            const fs::path& stderr_path) {
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error(std::string("posix_spawn ") + argv[0] + ": " + std::strerror(rc));
  return pid;
}

// Waits for `pid` up to `timeout`; nullopt when it is still running then.
std::optional<int> wait_for(pid_t pid, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) return 0;
    if (std::chrono::steady_clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
}

ExitResult to_result(int status, const fs::path& stderr_path) {
  ExitResult r;
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.stderr_text = read_file(stderr_path);
  return r;
}

}  // namespace

DaemonProcess::DaemonProcess(DaemonOptions options) {
  socket_ = options.socket.value_or(tmp_.path() / "d.sock");
  state_dir_ = options.state_dir.value_or(tmp_.path() / "state");
  notify_path_ = tmp_.path() / "notify";
  stderr_path_ = tmp_.path() / "stderr";

  notify_fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, notify_path_.c_str(), sizeof addr.sun_path - 1);
  if (notify_fd_ < 0 || ::bind(notify_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("cannot bind the notify socket");

  auto argv = daemon_args(socket_, state_dir_);
  if (options.config_json) {
    const auto config = tmp_.path() / "config.json";
    std::ofstream(config) << *options.config_json;
    argv.insert(argv.end(), {"--config", config.string()});
  }
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  argv.insert(argv.begin(), options.wrapper.begin(), options.wrapper.end());
  auto env_extra = options.env;
  env_extra["NOTIFY_SOCKET"] = notify_path_.string();
  if (options.test_key && !env_extra.count("DURATIOND_KEY")) env_extra["DURATIOND_KEY"] = kTestPassphrase;
  pid_ = spawn(argv, environment_with(env_extra), tmp_.path() / "stdout", stderr_path_);

  const auto until = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < until) {
    for (const auto& n : notifications())
      if (n.find("READY=1") != std::string::npos) return;
    if (auto status = wait_for(pid_, 0ms)) {
      pid_ = -1;
      throw std::runtime_error("durationd exited before READY=1: " + read_file(stderr_path_));
    }
    pollfd p{notify_fd_, POLLIN, 0};
    ::poll(&p, 1, 50);
  }
  stop(SIGKILL);
  throw std::runtime_error("durationd did not send READY=1 within 30 s: " + read_file(stderr_path_));
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) stop(SIGKILL);
  if (notify_fd_ >= 0) ::close(notify_fd_);
}

std::vector<std::string> DaemonProcess::notifications() {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(notify_fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) break;
    notifications_.emplace_back(buf, static_cast<std::size_t>(n));
  }
  return notifications_;
}

bool DaemonProcess::running() {
  if (pid_ <= 0) return false;
  if (auto status = wait_for(pid_, 0ms)) {
    pid_ = -1;
    return false;
  }
  return true;
}

ExitResult DaemonProcess::stop(int signal, std::chrono::seconds timeout) {
  if (pid_ <= 0) return {};
  ::kill(pid_, signal);
  auto status = wait_for(pid_, timeout);
  if (!status) {
    ::kill(pid_, SIGKILL);
    status = wait_for(pid_, 30s);
  }
  pid_ = -1;
  return to_result(status.value_or(0), stderr_path_);
}

ExitResult run_command(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                       std::string* stdout_text, std::chrono::seconds timeout) {
  TempDir tmp;
  const pid_t pid = spawn(argv, environment_with(env), tmp.path() / "stdout", tmp.path() / "stderr");
  auto status = wait_for(pid, timeout);
  if (!status) {
    ::kill(pid, SIGKILL);
    status = wait_for(pid, 30s);
  }
  if (stdout_text) *stdout_text = read_file(tmp.path() / "stdout");
  return to_result(status.value_or(0), tmp.path() / "stderr");
}

const std::string& durationctl_for_all() {
  static const TempDir dir;  // removed at exit
  static const std::string path = [] {
    const auto copy = dir.path() / "durationctl";
    fs::copy_file(DURATIONCTL_BINARY, copy);
    fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                    fs::perms::others_read | fs::perms::others_exec);
    fs::permissions(copy, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
    return copy.string();
  }();
  return path;
}

std::string database_integrity(const std::filesystem::path& db) {
  std::string out;
  const auto r = run_command({DURATIOND_BINARY, "inspect", db.string()}, {{"DURATIOND_KEY", kTestPassphrase}}, &out);
  if (r.exit_code != 0) return "inspect failed: " + r.stderr_text;
  return std::string(boost::json::parse(out).as_object().at("integrity").as_string());
}

std::vector<std::string> as_uid(uid_t uid, std::vector<std::string> argv) {
  std::vector<std::string> out{"/usr/bin/setpriv", "--reuid=" + std::to_string(uid), "--regid=" + std::to_string(uid),
                               "--clear-groups"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

}  // namespace durationd::test

// What start-up and connection opening cost (issue 3's speed targets):
//   - one PBKDF2-HMAC-SHA512 at 256,000 iterations;
//   - opening a pooled connection with the derived raw key, against SQLCipher's own
//     passphrase KDF (what every open would cost if we handed it the passphrase);
//   - durationd from exec to READY=1, on a new and on an existing state dir.
// Medians of repeated runs, measured side by side in one run.
//   build/bench/storage_bench [rounds]
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "crypto/digest.hpp"
#include "storage/connection.hpp"
#include "storage/sqlite.hpp"
#include "storage/store.hpp"

extern char** environ;

namespace {
using namespace durationd;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kPassphrase = "benchmark passphrase of some length";

double median_ms(int rounds, const std::function<void()>& f) {
  std::vector<double> ms;
  for (int i = 0; i < rounds; ++i) {
    const auto t0 = Clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// exec -> READY=1 on a notify socket we own; then SIGTERM.
double start_to_ready_ms(const fs::path& dir) {
  fs::create_directories(dir);
  const fs::path notify = dir / "notify";
  fs::remove(notify);
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, notify.c_str(), sizeof addr.sun_path - 1);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) std::abort();
  std::vector<std::string> env_strings{"NOTIFY_SOCKET=" + notify.string(), "DURATIOND_KEY=" + std::string(kPassphrase)};
  std::vector<char*> env;
  for (auto& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);
  std::string sock = (dir / "d.sock").string(), state = (dir / "state").string();
  std::vector<std::string> args{DURATIOND_BINARY, "--socket", sock, "--state-dir", state};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  const auto t0 = Clock::now();
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), env.data()) != 0) std::abort();
  char buf[512];
  double ms = -1;
  while (ms < 0) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10'000) != 1) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0 && std::string_view(buf, static_cast<std::size_t>(n)).find("READY=1") != std::string_view::npos)
      ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  }
  ::kill(pid, SIGTERM);
  int status;
  ::waitpid(pid, &status, 0);
  ::close(fd);
  posix_spawn_file_actions_destroy(&actions);
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 5;
  std::string pattern = (fs::temp_directory_path() / "durationd-bench-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return 1;
  const fs::path dir = pattern;
  ::umask(077);

  const storage::Salt salt{};
  const double kdf = median_ms(rounds, [&] { (void)storage::derive_database_key(kPassphrase, salt, 256'000); });

  // One database under our raw key, one under SQLCipher's passphrase KDF.
  auto key = storage::derive_database_key(kPassphrase, *storage::new_salt(), 256'000).value();
  { (void)storage::Connection::open(dir / "raw.db", key, {.create = true}).value().exec("CREATE TABLE t(x)"); }
  const double raw_open =
      median_ms(rounds * 20, [&] { (void)storage::Connection::open(dir / "raw.db", key, {}).value(); });
  auto passphrase_open = [&](bool create) {
    sqlite3* db = nullptr;
    sqlite3_open_v2((dir / "pass.db").c_str(), &db, SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0), nullptr);
    sqlite3_key(db, kPassphrase.data(), static_cast<int>(kPassphrase.size()));
    sqlite3_exec(db, create ? "CREATE TABLE t(x)" : "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  };
  passphrase_open(true);
  const double pass_open = median_ms(rounds * 2, [&] { passphrase_open(false); });

  const double ready_new = start_to_ready_ms(dir / "new");  // creates the databases
  std::vector<double> ready;
  for (int i = 0; i < rounds; ++i) ready.push_back(start_to_ready_ms(dir / "new"));
  std::sort(ready.begin(), ready.end());

  std::printf("storage_bench (medians of %d rounds)\n", rounds);
  std::printf("  PBKDF2-HMAC-SHA512 x 256000, one key        %8.1f ms\n", kdf);
  std::printf("  open with our derived raw key                %8.3f ms\n", raw_open);
  std::printf("  open with SQLCipher's passphrase KDF         %8.3f ms  (%.0fx the raw key)\n", pass_open,
              pass_open / raw_open);
  std::printf("  durationd exec -> READY=1, new state dir     %8.1f ms\n", ready_new);
  std::printf("  durationd exec -> READY=1, existing state    %8.1f ms\n", ready[ready.size() / 2]);
  fs::remove_all(dir);
  return 0;
}

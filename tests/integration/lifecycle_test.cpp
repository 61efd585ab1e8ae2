// Start-up, the socket file, signals, timeouts and the command line.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <fstream>

#include <catch2/catch.hpp>

#include "daemon_process.hpp"
#include "raw_connection.hpp"

using namespace durationd::test;
using namespace std::chrono_literals;

namespace {

// Leaves a socket file behind with nobody listening, as a crashed daemon does.
void make_stale_socket(const std::filesystem::path& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  ::close(fd);
}

}  // namespace

TEST_CASE("the socket is created with mode 0660 and removed on SIGTERM") {
  DaemonProcess daemon;
  struct stat st{};
  REQUIRE(::stat(daemon.socket().c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 0777) == 0660);
  REQUIRE(::stat(daemon.state_dir().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);

  RawConnection idle(daemon.socket());  // an idle client must not hold up the stop
  const auto result = daemon.stop(SIGTERM);
  CHECK(result.exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(daemon.socket()));
  bool stopping = false;
  for (const auto& n : daemon.notifications()) stopping |= n.find("STOPPING=1") != std::string::npos;
  CHECK(stopping);
}

TEST_CASE("SIGINT stops the daemon with exit code 0") {
  DaemonProcess daemon;
  CHECK(daemon.stop(SIGINT).exit_code == 0);
}

TEST_CASE("a stale socket file is replaced") {
  TempDir dir;
  const auto path = dir.path() / "stale.sock";
  make_stale_socket(path);
  DaemonProcess daemon({.socket = path});
  RawConnection c(path);
  c.send(request_frame("ping", 1));
  CHECK(c.read_frame().ok);
}

TEST_CASE("a live socket is left alone and the second daemon exits with a clear error") {
  DaemonProcess first;
  TempDir dir;
  const auto result = run_command(daemon_args(first.socket(), dir.path() / "state"));
  CHECK(result.exit_code != 0);
  CHECK(result.stderr_text.find("already listening") != std::string::npos);
  CHECK(result.stderr_text.find(first.socket().string()) != std::string::npos);
  RawConnection c(first.socket());
  c.send(request_frame("ping", 1));
  CHECK(c.read_frame().ok);
}

TEST_CASE("a path that is not a socket is never replaced") {
  TempDir dir;
  const auto path = dir.path() / "file";
  std::ofstream(path) << "precious";
  const auto result = run_command(daemon_args(path, dir.path() / "state"));
  CHECK(result.exit_code != 0);
  CHECK(result.stderr_text.find("not a socket") != std::string::npos);
  CHECK(read_file(path) == "precious");
}

TEST_CASE("a client that sends half a request and goes quiet is timed out while others are served") {
  DaemonProcess daemon({.config_json = R"({"idle_timeout_ms": 300})"});
  RawConnection slow(daemon.socket());
  const std::string f = request_frame("ping", 1);
  slow.send(f.substr(0, 5));
  // Trickling bytes does not extend the deadline of a request.
  RawConnection other(daemon.socket());
  for (int i = 0; i < 3; ++i) {
    other.send(request_frame("ping", 2));
    CHECK(other.read_frame().ok);
  }
  CHECK(slow.closed_by_peer(5s));
}

TEST_CASE("a slowloris client trickling one request is timed out") {
  DaemonProcess daemon({.config_json = R"({"idle_timeout_ms": 400})"});
  RawConnection slow(daemon.socket());
  // One request of ~100 bytes, sent a byte at a time.
  const std::string f = frame(request_body("ping", 1, "\xa3pad\xd9\x64" + std::string(100, 'x'), 1));
  const auto start = std::chrono::steady_clock::now();
  bool closed = false;
  for (std::size_t i = 0; i < f.size() - 1 && !closed; ++i) {
    try {
      slow.send(f.substr(i, 1));
    } catch (const std::exception&) {
      closed = true;
      break;
    }
    closed = slow.closed_by_peer(100ms);
  }
  CHECK(closed);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEST_CASE("start-up errors end the daemon with one clear line") {
  TempDir dir;
  SECTION("an unknown config key") {
    std::ofstream(dir.path() / "c.json") << R"({"max_frme": 10})";
    auto args = daemon_args(dir.path() / "s.sock", dir.path() / "state");
    args.insert(args.end(), {"--config", (dir.path() / "c.json").string()});
    const auto r = run_command(args);
    CHECK(r.exit_code == 1);
    CHECK(r.stderr_text.find("unknown key \"max_frme\"") != std::string::npos);
  }
  SECTION("max_frame cannot be raised") {
    std::ofstream(dir.path() / "c.json") << R"({"max_frame": 16777216})";
    auto args = daemon_args(dir.path() / "s.sock", dir.path() / "state");
    args.insert(args.end(), {"--config", (dir.path() / "c.json").string()});
    const auto r = run_command(args);
    CHECK(r.exit_code == 1);
    CHECK(r.stderr_text.find("max_frame") != std::string::npos);
  }
  SECTION("a state dir open to others") {
    std::filesystem::create_directory(dir.path() / "open");
    ::chmod((dir.path() / "open").c_str(), 0755);
    const auto r = run_command(daemon_args(dir.path() / "s.sock", dir.path() / "open"));
    CHECK(r.exit_code == 1);
    CHECK(r.stderr_text.find("0755") != std::string::npos);
  }
  SECTION("an unknown option") {
    const auto r = run_command({DURATIOND_BINARY, "--frobnicate"});
    CHECK(r.exit_code == 2);
    CHECK(r.stderr_text.find("--frobnicate") != std::string::npos);
  }
}

TEST_CASE("--help and --version") {
  std::string out;
  CHECK(run_command({DURATIOND_BINARY, "--help"}, {}, &out).exit_code == 0);
  CHECK(out.find("--state-dir") != std::string::npos);
  CHECK(run_command({DURATIOND_BINARY, "--version"}, {}, &out).exit_code == 0);
  CHECK(out.rfind("durationd ", 0) == 0);
}

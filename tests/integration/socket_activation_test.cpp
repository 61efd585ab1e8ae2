// systemd's way of starting durationd, with systemd's own tool: systemd-socket-activate
// binds the socket and hands it over (LISTEN_FDS) on the first connection, as
// durationd.socket does. The daemon must serve on it, tell the manager how it is doing
// (READY=1, STATUS=, WATCHDOG=1 from its event loop, STOPPING=1) and leave the socket
// file alone: it belongs to the manager.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <thread>

#include "daemon_process.hpp"
#include "ipc/client.hpp"

using namespace durationd;
using namespace durationd::test;
using namespace std::chrono_literals;

namespace {

std::size_t count_of(const std::vector<std::string>& notes, std::string_view what) {
  std::size_t n = 0;
  for (const auto& note : notes)
    for (auto at = note.find(what); at != std::string::npos; at = note.find(what, at + 1)) ++n;
  return n;
}

ino_t inode_of(const std::filesystem::path& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

}  // namespace

TEST_CASE("socket activation: the handed socket is served, the watchdog beats, the socket file stays") {
  TempDir tmp;
  const auto socket = tmp.path() / "activated.sock";
  // systemd-socket-activate execs durationd only once someone connects: this client
  // does, and its ping is the first request the daemon serves.
  bool pinged = false;
  ino_t inode_at_connect = 0;
  std::jthread first_client([&] {
    for (int i = 0; i < 600 && !pinged; ++i) {
      try {
        ipc::Client c(socket);
        inode_at_connect = inode_of(socket);
        pinged = c.call("ping").ok;
      } catch (const std::exception&) {
        std::this_thread::sleep_for(50ms);
      }
    }
  });
  DaemonProcess daemon({.env = {{"WATCHDOG_USEC", "600000"}},
                        .socket = socket,
                        .wrapper = {"/usr/bin/systemd-socket-activate", "-l", socket.string(), "-E", "NOTIFY_SOCKET",
                                    "-E", "DURATIOND_KEY", "-E", "WATCHDOG_USEC"}});
  first_client.join();
  CHECK(pinged);
  {
    ipc::Client again(socket);
    CHECK(again.call("ping").ok);
  }
  std::this_thread::sleep_for(3s);
  const auto notes = daemon.notifications();
  // WatchdogSec=600ms: at least two beats per interval over the three seconds.
  CHECK(count_of(notes, "WATCHDOG=1") >= 10);
  CHECK(count_of(notes, "STATUS=serving on " + socket.string()) >= 1);
  CHECK(count_of(notes, " requests (0 errors)") >= 1);  // the summary kept current

  const auto stopped = daemon.stop(SIGTERM);
  CHECK(stopped.exit_code == 0);
  CHECK(count_of(daemon.notifications(), "STOPPING=1") == 1);
  INFO(stopped.stderr_text);
  CHECK(stopped.stderr_text.find("handed over by the service manager") != std::string::npos);
  // Never unlinked, never rebound: the very socket the manager made is still there.
  CHECK(inode_at_connect != 0);
  CHECK(inode_of(socket) == inode_at_connect);
}

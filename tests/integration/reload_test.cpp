// SIGHUP re-reads the config: the log level changes at once, around RELOADING=1 and
// READY=1; a broken file or a restart-only key is reported and the daemon serves on.
#include <csignal>
#include <fstream>
#include <thread>

#include <catch2/catch.hpp>

#include "daemon_process.hpp"
#include "ipc/client.hpp"

using namespace durationd;
using namespace durationd::test;
using namespace std::chrono_literals;

namespace {

// Waits (up to 10 s) until the daemon's stderr contains `text`.
bool stderr_shows(const DaemonProcess& daemon, std::string_view text) {
  for (int i = 0; i < 200; ++i) {
    if (read_file(daemon.dir() / "stderr").find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

std::size_t count_of(const std::vector<std::string>& notes, std::string_view what) {
  std::size_t n = 0;
  for (const auto& note : notes) n += note.find(what) != std::string::npos;
  return n;
}

}  // namespace

TEST_CASE("SIGHUP re-reads the log level, between RELOADING=1 and READY=1") {
  DaemonProcess daemon({.config_json = R"({"log_level": "info"})"});
  const auto config = daemon.dir() / "config.json";
  { ipc::Client c(daemon.socket()); REQUIRE(c.call("ping").ok); }
  // At info, connections are not logged.
  CHECK(read_file(daemon.dir() / "stderr").find("connection from uid") == std::string::npos);

  std::ofstream(config) << R"({"log_level": "debug"})";
  REQUIRE(::kill(daemon.pid(), SIGHUP) == 0);
  REQUIRE(stderr_shows(daemon, "re-read; log level debug"));
  { ipc::Client c(daemon.socket()); REQUIRE(c.call("ping").ok); }
  CHECK(stderr_shows(daemon, "connection from uid 0"));
  const auto notes = daemon.notifications();
  CHECK(count_of(notes, "RELOADING=1") == 1);
  CHECK(count_of(notes, "READY=1") == 2);  // at start, and after the reload
  CHECK(count_of(notes, "MONOTONIC_USEC=") == 1);
}

TEST_CASE("SIGHUP with a broken config keeps the running one, and a restart-only key is reported") {
  DaemonProcess daemon({.config_json = R"({"log_level": "info"})"});
  const auto config = daemon.dir() / "config.json";
  std::ofstream(config) << R"({"log_level": "loud"})";
  REQUIRE(::kill(daemon.pid(), SIGHUP) == 0);
  CHECK(stderr_shows(daemon, "the running configuration stays in force"));
  CHECK(stderr_shows(daemon, "log_level"));

  std::ofstream(config) << R"({"log_level": "info", "max_connections": 5})";
  REQUIRE(::kill(daemon.pid(), SIGHUP) == 0);
  CHECK(stderr_shows(daemon, "changed keys other than log_level; they take effect at the next restart"));
  ipc::Client c(daemon.socket());
  CHECK(c.call("ping").ok);
  CHECK(daemon.running());
}

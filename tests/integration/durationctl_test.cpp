// durationctl against the real daemon.
#include <catch2/catch.hpp>

#include "daemon_process.hpp"

using namespace durationd::test;

TEST_CASE("durationctl ping and hello") {
  DaemonProcess daemon;
  const std::string socket = daemon.socket().string();
  std::string out;
  CHECK(run_command({DURATIONCTL_BINARY, "--socket", socket, "ping"}, {}, &out).exit_code == 0);
  CHECK(out == "pong\n");
  CHECK(run_command({DURATIONCTL_BINARY, "--socket", socket, "--json", "ping"}, {}, &out).exit_code == 0);
  CHECK(out == "\"pong\"\n");
  CHECK(run_command({DURATIONCTL_BINARY, "--socket", socket, "hello"}, {}, &out).exit_code == 0);
  CHECK(out.find("server: durationd\n") != std::string::npos);
  CHECK(run_command({DURATIONCTL_BINARY, "--json", "hello"}, {{"DURATIOND_SOCKET", socket}}, &out).exit_code == 0);
  CHECK(out.rfind("{\"server\":\"durationd\"", 0) == 0);
}

TEST_CASE("durationctl says clearly when the daemon is not there") {
  TempDir dir;
  const auto r = run_command({DURATIONCTL_BINARY, "--socket", (dir.path() / "none.sock").string(), "ping"});
  CHECK(r.exit_code == 69);
  CHECK(r.stderr_text.find("none.sock") != std::string::npos);
  CHECK(r.stderr_text.find("is durationd running?") != std::string::npos);
}

TEST_CASE("durationctl usage errors exit 2") {
  CHECK(run_command({DURATIONCTL_BINARY}).exit_code == 2);
  CHECK(run_command({DURATIONCTL_BINARY, "frobnicate"}).exit_code == 2);
}

// durationd-bench against the real daemon: every kind of test runs to the end, with the
// requests it was asked for and no errors. Rates are printed, never asserted.
#ifdef DURATIOND_BENCH_BINARY

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "daemon_process.hpp"

using namespace durationd::test;

TEST_CASE("durationd-bench runs every test kind against the daemon without errors") {
  DaemonProcess daemon;
  std::string out;
  const auto r = run_command({DURATIOND_BENCH_BINARY, "-s", daemon.socket().string(), "-c", "4", "-n", "2000", "-t",
                              "ping,get,put,putd,timer", "--preload", "-r", "100", "--json", "-q"},
                             {}, &out);
  INFO(r.stderr_text);
  INFO(out);
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> tests;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    const auto result = boost::json::parse(line).as_object();
    tests.emplace_back(result.at("test").as_string());
    INFO(line);
    CHECK(result.at("requests").to_number<std::int64_t>() == 2000);
    CHECK(result.at("errors").to_number<std::int64_t>() == 0);
    CHECK(result.at("rps").to_number<double>() > 0);
    CHECK(result.at("mode").as_string() == "durationd");
  }
  CHECK(tests == std::vector<std::string>{"ping", "get", "put", "putd", "timer"});
}

TEST_CASE("durationd-bench exits 69 naming the socket when nothing listens") {
  TempDir dir;
  const auto r = run_command({DURATIOND_BENCH_BINARY, "-s", (dir.path() / "none.sock").string(), "-q"});
  CHECK(r.exit_code == 69);
  CHECK(r.stderr_text.find("none.sock") != std::string::npos);
}

#endif

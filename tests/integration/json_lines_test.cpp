// The JSON-lines encoding against the real daemon: protocol.md "Two encodings".
#include <catch2/catch.hpp>

#include "daemon_process.hpp"
#include "raw_connection.hpp"

using namespace durationd::test;

TEST_CASE("JSON lines: ping, hello and id echo") {
  DaemonProcess daemon;
  RawConnection c(daemon.socket());
  c.send("{\"op\":\"ping\",\"id\":1}\n");
  CHECK(c.read_line() == R"({"id":1,"ok":true,"result":"pong"})");
  c.send("{\"op\":\"ping\"}\n");
  CHECK(c.read_line() == R"({"ok":true,"result":"pong"})");
  c.send("{\"op\":\"hello\",\"id\":9007199254740991}\n");
  const std::string hello = c.read_line();
  CHECK(hello.rfind(R"({"id":9007199254740991,"ok":true,"result":{"server":"durationd")", 0) == 0);
  CHECK(hello.find('\n') == std::string::npos);
}

TEST_CASE("JSON lines: pipelined lines are answered in order, empty lines ignored") {
  DaemonProcess daemon;
  RawConnection c(daemon.socket());
  std::string batch = "\n  \r\n";  // leading whitespace selects JSON lines; blank lines are skipped
  for (int id = 1; id <= 100; ++id) {
    batch += "{\"op\":\"" + std::string(id % 10 == 0 ? "nope" : "ping") + "\",\"id\":" + std::to_string(id) + "}\n";
    if (id % 25 == 0) batch += "\n";
  }
  c.send(batch);
  for (int id = 1; id <= 100; ++id) {
    const std::string line = c.read_line();
    INFO(line);
    REQUIRE(line.rfind("{\"id\":" + std::to_string(id) + ",", 0) == 0);
    CHECK((line.find("UNKNOWN_OP") != std::string::npos) == (id % 10 == 0));
  }
}

TEST_CASE("JSON lines: bad lines are BAD_REQUEST and the connection keeps serving") {
  DaemonProcess daemon;
  RawConnection c(daemon.socket());
  const std::vector<std::string> bad{
      "{not json}",
      "[1,2,3]",
      "{\"op\":\"ping\"",                 // unterminated
      "{\"op\":\"\xff\xfe\"}",            // invalid UTF-8
      "{\"op\":\"ping\",\"id\":-1}",      // id out of range
      "{\"op\":\"ping\",\"id\":1.5}",     // id not an integer
      "{\"op\":\"ping\",\"id\":\"1\"}",   // id a string
      "{\"op\":\"ping\",\"id\":9007199254740992}",
  };
  for (const auto& line : bad) {
    INFO(line);
    c.send(line + "\n");
    const std::string answer = c.read_line();
    CHECK(answer.find("\"code\":\"BAD_REQUEST\"") != std::string::npos);
    CHECK(answer.find("\"id\"") == std::string::npos);
  }
  c.send("{\"id\":3}\n");
  const std::string missing_op = c.read_line();
  CHECK(missing_op.find("\"id\":3") != std::string::npos);
  CHECK(missing_op.find("op: missing") != std::string::npos);

  c.send("{\"op\":\"ping\",\"id\":2,\"args\":null,\"extra\":{\"x\":[1,2]}}\n");
  CHECK(c.read_line() == R"({"id":2,"ok":true,"result":"pong"})");
}

TEST_CASE("JSON lines: a value nested far too deep is TOO_DEEP without harm") {
  DaemonProcess daemon;
  RawConnection c(daemon.socket());
  std::string deep = "{\"op\":\"ping\",\"id\":1,\"args\":{\"v\":" + std::string(100'000, '[') +
                     std::string(100'000, ']') + "}}\n";
  c.send(deep);
  CHECK(c.read_line().find("\"code\":\"TOO_DEEP\"") != std::string::npos);
  c.send("{\"op\":\"ping\",\"id\":2}\n");
  CHECK(c.read_line() == R"({"id":2,"ok":true,"result":"pong"})");
}

TEST_CASE("JSON lines: a line longer than max_frame is BAD_FRAME and a close") {
  DaemonProcess daemon({.config_json = R"({"max_frame": 200})"});
  RawConnection c(daemon.socket());
  c.send("{\"op\":\"ping\",\"pad\":\"" + std::string(300, 'x') + "\"}\n");
  CHECK(c.read_line().find("\"code\":\"BAD_FRAME\"") != std::string::npos);
  CHECK(c.closed_by_peer());

  // Without a newline at all: refused once more than max_frame bytes are buffered.
  RawConnection d(daemon.socket());
  d.send("{" + std::string(300, ' '));
  CHECK(d.read_line().find("\"code\":\"BAD_FRAME\"") != std::string::npos);
  CHECK(d.closed_by_peer());
}

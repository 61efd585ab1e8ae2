// The binary encoding against the real daemon: protocol.md "Two encodings", "Envelope".
#include <unistd.h>

#include <catch2/catch.hpp>

#include "daemon_process.hpp"
#include "ipc/msgpack_writer.hpp"
#include "raw_connection.hpp"

using namespace durationd;
using namespace durationd::test;

namespace {

std::string packed(auto&& pack) {
  std::string out;
  ipc::StringSink sink(out);
  ipc::MsgpackWriter w(sink);
  pack(w);
  return out;
}

void expect_alive(const DaemonProcess& daemon) {
  RawConnection c(daemon.socket());
  c.send(request_frame("ping", 1));
  const auto r = c.read_frame();
  REQUIRE(r.ok);
  REQUIRE(result_json(r) == "\"pong\"");
}

}  // namespace

TEST_CASE("ping and hello answer over binary frames") {
  DaemonProcess daemon;
  RawConnection c(daemon.socket());
  c.send(request_frame("ping", 7));
  auto r = c.read_frame();
  CHECK(r.ok);
  CHECK(r.id == 7u);
  CHECK(result_json(r) == "\"pong\"");

  c.send(request_frame("hello", 8));
  r = c.read_frame();
  REQUIRE(r.ok);
  const std::string hello = result_json(r);
  CHECK(hello.find("\"server\":\"durationd\"") != std::string::npos);
  CHECK(hello.find("\"protocol\":1") != std::string::npos);
  CHECK(hello.find("\"max_frame\":16777215") != std::string::npos);
  CHECK(hello.find("\"uid\":" + std::to_string(::getuid())) != std::string::npos);
  // The test runs as root or as the daemon's own uid: both are admin peers.
  CHECK(hello.find("\"admin\":true") != std::string::npos);
  CHECK(hello.find("\"version\":\"") != std::string::npos);
}

TEST_CASE("a zero-length frame is BAD_FRAME and the connection is closed") {
  DaemonProcess daemon;
  RawConnection c(daemon.socket());
  c.send(std::string("\0\0\0\0", 4));
  const auto r = c.read_frame();
  CHECK_FALSE(r.ok);
  CHECK(r.error_code == "BAD_FRAME");
  CHECK_FALSE(r.id.has_value());
  CHECK(c.closed_by_peer());
  expect_alive(daemon);
}

TEST_CASE("a frame longer than max_frame is BAD_FRAME before its body is sent") {
  SECTION("default max_frame") {
    DaemonProcess daemon;
    RawConnection c(daemon.socket());
    // A first byte of 0x01 would select no encoding at all: open in binary first.
    c.send(request_frame("ping", 1));
    CHECK(c.read_frame().ok);
    c.send(std::string("\x01\x00\x00\x00", 4));  // 2^24 = max_frame + 1; no body follows
    const auto r = c.read_frame();
    CHECK(r.error_code == "BAD_FRAME");
    CHECK(r.error_message.find("16777215") != std::string::npos);
    CHECK(c.closed_by_peer());
    expect_alive(daemon);
  }
  SECTION("a configured lower max_frame") {
    DaemonProcess daemon({.config_json = R"({"max_frame": 1000})"});
    RawConnection ok(daemon.socket());
    ok.send(frame(request_body("ping", 1, packed([](auto& w) {
                                 ipc::pack_str(w, "pad");
                                 ipc::pack_str(w, std::string(900, 'x'));
                               }),
                               1)));
    CHECK(ok.read_frame().ok);
    RawConnection c(daemon.socket());
    c.send(std::string("\x00\x00\x03\xe9", 4));  // 1001
    CHECK(c.read_frame().error_code == "BAD_FRAME");
    CHECK(c.closed_by_peer());
  }
}

TEST_CASE("a frame body that is not exactly one msgpack object is BAD_FRAME") {
  DaemonProcess daemon;
  const std::string valid = request_body("ping", 1);
  const auto [name, body] = GENERATE_REF(table<std::string, std::string>({
      {"reserved byte 0xc1", std::string("\xc1")},
      {"truncated map", std::string("\x82\xa2op")},
      {"array header claiming 2^32-1 elements", std::string("\xdd\xff\xff\xff\xff")},
      {"trailing bytes after the object", valid + std::string("\xc0")},
      {"two objects", valid + valid},
  }));
  INFO(name);
  RawConnection c(daemon.socket());
  c.send(frame(body));
  const auto r = c.read_frame();
  CHECK(r.error_code == "BAD_FRAME");
  CHECK(c.closed_by_peer());
  expect_alive(daemon);
}

TEST_CASE("half a frame then hang-up leaves the daemon unharmed") {
  DaemonProcess daemon;
  {
    RawConnection c(daemon.socket());
    const std::string f = request_frame("ping", 1);
    c.send(f.substr(0, f.size() / 2));
  }
  {
    RawConnection c(daemon.socket());
    c.send(std::string("\x00\x00", 2));  // half a header
  }
  expect_alive(daemon);
  CHECK(daemon.running());
}

TEST_CASE("200 pipelined requests are answered in order") {
  DaemonProcess daemon;
  RawConnection c(daemon.socket());
  std::string batch;
  for (std::uint64_t id = 1; id <= 200; ++id) {
    const char* op = id % 3 == 0 ? "hello" : id % 7 == 0 ? "no.such.op" : "ping";
    batch += request_frame(op, id);
  }
  c.send(batch);
  for (std::uint64_t id = 1; id <= 200; ++id) {
    const auto r = c.read_frame();
    REQUIRE(r.id == id);
    CHECK(r.ok == (id % 7 != 0 || id % 3 == 0));
  }
}

TEST_CASE("unknown keys in the envelope are ignored") {
  DaemonProcess daemon;
  RawConnection c(daemon.socket());
  c.send(frame(request_body("ping", 5, packed([](auto& w) {
                              ipc::pack_str(w, "trace");
                              w.pack_array(2);
                              w.pack_int(1);
                              w.pack_nil();
                              w.pack_int(42);  // a non-string key
                              w.pack_true();
                            }),
                            2)));
  const auto r = c.read_frame();
  CHECK(r.ok);
  CHECK(r.id == 5u);
  CHECK(result_json(r) == "\"pong\"");
}

TEST_CASE("id is echoed exactly when the request carried a valid one") {
  DaemonProcess daemon;
  RawConnection c(daemon.socket());

  c.send(request_frame("ping", std::nullopt));
  auto r = c.read_frame();
  CHECK(r.ok);
  CHECK_FALSE(r.id.has_value());

  c.send(request_frame("ping", (std::uint64_t{1} << 53) - 1));
  r = c.read_frame();
  CHECK(r.ok);
  CHECK(r.id == (std::uint64_t{1} << 53) - 1);

  c.send(request_frame("ping", 0));
  r = c.read_frame();
  CHECK(r.id == 0u);

  const std::vector<std::pair<std::string, std::string>> invalid_ids{
      {"2^53", packed([](auto& w) { w.pack_uint64(std::uint64_t{1} << 53); })},
      {"negative", packed([](auto& w) { w.pack_int(-1); })},
      {"string", packed([](auto& w) { ipc::pack_str(w, "7"); })},
      {"float", packed([](auto& w) { ipc::pack_float64(w, 7.0); })},
      {"nil", packed([](auto& w) { w.pack_nil(); })},
  };
  for (const auto& [name, id] : invalid_ids) {
    INFO("id " << name);
    c.send(frame(request_body("ping", std::nullopt, packed([&](auto& w) { ipc::pack_str(w, "id"); }) + id, 1)));
    r = c.read_frame();
    CHECK(r.error_code == "BAD_REQUEST");
    CHECK(r.error_message.find("id") != std::string::npos);
    CHECK_FALSE(r.id.has_value());
  }
  // The connection stays open after BAD_REQUEST.
  c.send(request_frame("ping", 9));
  CHECK(c.read_frame().id == 9u);
}

TEST_CASE("a malformed envelope is BAD_REQUEST naming the field, and the connection stays open") {
  DaemonProcess daemon;
  RawConnection c(daemon.socket());

  c.send(frame(packed([](auto& w) { w.pack_array(0); })));
  auto r = c.read_frame();
  CHECK(r.error_code == "BAD_REQUEST");

  c.send(frame(packed([](auto& w) {
    w.pack_map(1);
    ipc::pack_str(w, "id");
    w.pack_int(3);
  })));
  r = c.read_frame();
  CHECK(r.error_code == "BAD_REQUEST");
  CHECK(r.error_message.find("op") != std::string::npos);
  CHECK(r.id == 3u);

  c.send(frame(packed([](auto& w) {
    w.pack_map(2);
    ipc::pack_str(w, "op");
    w.pack_int(1);
    ipc::pack_str(w, "id");
    w.pack_int(4);
  })));
  r = c.read_frame();
  CHECK(r.error_code == "BAD_REQUEST");
  CHECK(r.error_message.find("op") != std::string::npos);
  CHECK(r.id == 4u);

  c.send(frame(request_body("ping", 5, packed([](auto& w) {
                              ipc::pack_str(w, "args");
                              w.pack_array(0);
                            }),
                            1)));
  r = c.read_frame();
  CHECK(r.error_code == "BAD_REQUEST");
  CHECK(r.error_message.find("args") != std::string::npos);
  CHECK(r.id == 5u);

  // args given as nil is the same as no args.
  c.send(frame(request_body("ping", 6, packed([](auto& w) {
                              ipc::pack_str(w, "args");
                              w.pack_nil();
                            }),
                            1)));
  CHECK(c.read_frame().ok);

  c.send(request_frame("cache.nothing", 7));
  r = c.read_frame();
  CHECK(r.error_code == "UNKNOWN_OP");
  CHECK(r.id == 7u);
  CHECK(r.error_message.find("cache.nothing") != std::string::npos);
}

TEST_CASE("a garbage first byte gets one JSON BAD_FRAME line and a close") {
  DaemonProcess daemon;
  RawConnection c(daemon.socket());
  c.send("GET / HTTP/1.1\r\n\r\n");
  const std::string line = c.read_line();
  CHECK(line.find("\"ok\":false") != std::string::npos);
  CHECK(line.find("\"code\":\"BAD_FRAME\"") != std::string::npos);
  CHECK(line.find("\"id\"") == std::string::npos);
  CHECK(c.closed_by_peer());
  expect_alive(daemon);
}

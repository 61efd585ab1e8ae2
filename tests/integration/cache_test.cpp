// The cache against the real daemon: protocol.md "Cache" and "Values", in both
// encodings, at the limits, across restarts, under tampering and for two uids.
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "daemon_process.hpp"
#include "ipc/client.hpp"
#include "ipc/json_codec.hpp"
#include "ipc/msgpack_reader.hpp"
#include "ipc/msgpack_writer.hpp"
#include "raw_connection.hpp"
#include "storage/connection.hpp"
#include "storage/database_key.hpp"
#include "tests/support/catch_result.hpp"

using namespace durationd;
using namespace durationd::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

using Pack = std::function<void(ipc::MsgpackWriter&)>;

std::string packed(const Pack& fill) {
  std::string out;
  ipc::StringSink sink(out);
  ipc::MsgpackWriter w(sink);
  fill(w);
  return out;
}

// An args map from (name, already-packed value) pairs.
std::string args_of(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string out =
      packed([&](ipc::MsgpackWriter& w) { w.pack_map(static_cast<std::uint32_t>(pairs.size())); });
  for (const auto& [name, value] : pairs) {
    out += packed([&](ipc::MsgpackWriter& w) { ipc::pack_str(w, name); });
    out += value;
  }
  return out;
}

std::string str(std::string_view s) {
  return packed([&](ipc::MsgpackWriter& w) { ipc::pack_str(w, s); });
}
std::string packed_uint(std::uint64_t v) {
  return packed([&](ipc::MsgpackWriter& w) { w.pack_uint64(v); });
}
const std::string kTrue = "\xc3";

// The raw msgpack of a field of a result map ("" when absent).
std::string field(const std::string& map, std::string_view name) {
  ipc::MsgpackReader r(ipc::as_bytes(map));
  ipc::MsgToken t;
  if (!r.next(t) || t.kind != ipc::MsgKind::kMap) return {};
  for (std::uint32_t i = 0; i < t.count; ++i) {
    ipc::MsgToken key;
    ipc::Bytes value;
    if (!r.next(key) || !r.read_raw(value)) return {};
    if (key.kind == ipc::MsgKind::kStr && ipc::as_chars(key.payload) == name)
      return std::string(ipc::as_chars(value));
  }
  return {};
}

std::int64_t int_field(const std::string& map, std::string_view name) {
  const std::string raw = field(map, name);
  ipc::MsgpackReader r(ipc::as_bytes(raw));
  ipc::MsgToken t;
  if (!r.next(t)) return -1;
  return t.kind == ipc::MsgKind::kUint ? static_cast<std::int64_t>(t.uint) : t.sint;
}

// A binary-mode client speaking the cache ops.
class Cache {
 public:
  explicit Cache(const std::filesystem::path& socket) : client_(socket) {}

  ipc::Response call(std::string_view op,
                     const std::vector<std::pair<std::string, std::string>>& args) {
    const std::string a = args_of(args);
    return client_.call(op, ipc::as_bytes(a));
  }
  ipc::Response put(std::string_view key, const std::string& value,
                    std::vector<std::pair<std::string, std::string>> more = {}) {
    more.insert(more.begin(), {{"key", str(key)}, {"value", value}});
    return call("cache.put", more);
  }
  ipc::Response get(std::string_view key, std::optional<std::string_view> ns = std::nullopt) {
    std::vector<std::pair<std::string, std::string>> a{{"key", str(key)}};
    if (ns) a.emplace_back("ns", str(*ns));
    return call("cache.get", a);
  }
  // The stored value's exact bytes, or "" on an error.
  std::string value(std::string_view key, std::optional<std::string_view> ns = std::nullopt) {
    const auto r = get(key, ns);
    return r.ok ? field(r.result, "value") : std::string();
  }
  std::string stats() { return call("cache.stats", {}).result; }
  ipc::Client& client() { return client_; }

 private:
  ipc::Client client_;
};

void expect_ok(const ipc::Response& r) {
  INFO(r.error_code << ": " << r.error_message);
  REQUIRE(r.ok);
}

void expect_error(const ipc::Response& r, std::string_view code) {
  INFO(r.error_message);
  CHECK_FALSE(r.ok);
  CHECK(r.error_code == code);
}

// One JSON-lines request and its parsed response.
json::value json_call(RawConnection& c, const std::string& line) {
  c.send(line + "\n");
  return json::parse(c.read_line());
}

std::string json_error(const json::value& v) {
  const auto* e = v.as_object().if_contains("error");
  return e ? std::string(e->as_object().at("code").as_string()) : std::string();
}

std::string nested_arrays(std::size_t levels) {
  return std::string(levels, '\x91') + "\xc0";
}

std::string bin_value(std::size_t encoded_size) {
  const std::size_t header = encoded_size - 5 >= 65536 ? 5 : encoded_size - 3 >= 256 ? 3 : 2;
  std::string out = packed([&](ipc::MsgpackWriter& w) {
    w.pack_bin(static_cast<std::uint32_t>(encoded_size - header));
  });
  REQUIRE(out.size() == header);
  out.resize(encoded_size, '\x5a');
  return out;
}

void expect_alive(const std::filesystem::path& socket) {
  ipc::Client c(socket);
  const auto r = c.call("ping");
  REQUIRE(r.ok);
}

template <class F>
bool eventually(F&& condition, std::chrono::milliseconds limit = 15s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

}  // namespace

// ---- Values, type for type ---------------------------------------------------------------

TEST_CASE("cache: binary values come back byte for byte, type for type") {
  DaemonProcess daemon;
  Cache cache(daemon.socket());
  const std::vector<std::pair<std::string, std::string>> values{
      {"nil", "\xc0"},
      {"false", "\xc2"},
      {"float64 2.0", std::string("\xcb\x40\x00\x00\x00\x00\x00\x00\x00", 9)},
      {"float32", std::string("\xca\x3f\xc0\x00\x00", 5)},
      {"uint64 max", std::string("\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9)},
      {"int64 min", std::string("\xd3\x80\x00\x00\x00\x00\x00\x00\x00", 9)},
      {"uint8 in a wide encoding", std::string("\xcd\x00\x05", 3)},
      {"bin", std::string("\xc4\x03\x00\x01\xff", 5)},
      {"str", "\xa6h\xc3\xa9llo"},
      {"timestamp32", std::string("\xd6\xff\x6b\x13\x0d\xb0", 6)},
      {"timestamp64", std::string("\xd7\xff\x1d\x53\x53\x00\x6b\x13\x0d\xb0", 10)},
      {"timestamp96",
       std::string("\xc7\x0c\xff\x00\x00\x00\x01\xff\xff\xff\xff\xff\xff\xff\xff", 15)},
      {"map with int keys", std::string("\x83\x01\xa1x\xff\x90\xa1k\x80", 9)},
  };
  for (const auto& [name, value] : values) {
    INFO(name);
    expect_ok(cache.put(name, value));
    const auto r = cache.get(name);
    expect_ok(r);
    CHECK(field(r.result, "value") == value);
    CHECK(field(r.result, "ttl_ms") == "\xc0");  // no TTL: nil
  }
}

TEST_CASE("cache: a value put over JSON reads back over binary, and the other way") {
  DaemonProcess daemon;
  RawConnection j(daemon.socket());
  Cache cache(daemon.socket());

  SECTION("JSON in, binary out") {
    const std::vector<std::pair<std::string, std::string>> cases{
        {R"({"$bin":"AAH/"})", std::string("\xc4\x03\x00\x01\xff", 5)},
        {R"({"$ts":"2026-12-04T19:00:00Z"})", std::string("\xd6\xff\x6b\x13\x0d\xb0", 6)},
        {R"({"$ts":"2026-12-04T19:00:00.123Z"})",
         std::string("\xd7\xff\x1d\x53\x53\x00\x6b\x13\x0d\xb0", 10)},
        {"2.0", std::string("\xcb\x40\x00\x00\x00\x00\x00\x00\x00", 9)},
        {"18446744073709551615", std::string("\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9)},
        {"-9223372036854775808", std::string("\xd3\x80\x00\x00\x00\x00\x00\x00\x00", 9)},
        {"null", "\xc0"},
        {R"({"a":[1,"x",{"$bin":""}]})", std::string("\x81\xa1"
                                                     "a\x93\x01\xa1x\xc4\x00",
                                                     9)},
    };
    int n = 0;
    for (const auto& [text, bytes] : cases) {
      INFO(text);
      const std::string key = "j" + std::to_string(n++);
      const auto put = json_call(
          j, R"({"op":"cache.put","id":1,"args":{"key":")" + key + R"(","value":)" + text + "}}");
      CHECK(json::serialize(put) == R"({"id":1,"ok":true,"result":{"stored":true}})");
      CHECK(cache.value(key) == bytes);
    }
  }

  SECTION("binary in, JSON out") {
    expect_ok(cache.put("b", std::string("\xc4\x03\x00\x01\xff", 5)));
    expect_ok(cache.put("t", std::string("\xd7\xff\x1d\x53\x53\x00\x6b\x13\x0d\xb0", 10)));
    expect_ok(cache.put("f", std::string("\xcb\x40\x00\x00\x00\x00\x00\x00\x00", 9)));
    expect_ok(
        cache.put("m", std::string("\x82\x05\xa1x\xa1k\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 15)));
    auto get = [&](const std::string& key) {
      return json::serialize(json_call(j, R"({"op":"cache.get","args":{"key":")" + key + R"("}})"));
    };
    CHECK(get("b") == R"({"ok":true,"result":{"value":{"$bin":"AAH/"},"ttl_ms":null}})");
    CHECK(get("t") ==
          R"({"ok":true,"result":{"value":{"$ts":"2026-12-04T19:00:00.123Z"},"ttl_ms":null}})");
    CHECK(get("f") == R"({"ok":true,"result":{"value":2E0,"ttl_ms":null}})");
    // JSON has no integer keys: they become their decimal strings. Integers stay exact.
    j.send(R"({"op":"cache.get","args":{"key":"m"}})"
           "\n");
    CHECK(j.read_line() ==
          R"({"ok":true,"result":{"value":{"5":"x","k":18446744073709551615},"ttl_ms":null}})");
    j.send(R"({"op":"cache.get","args":{"key":"f"}})"
           "\n");
    CHECK(j.read_line() == R"({"ok":true,"result":{"value":2.0,"ttl_ms":null}})");
  }
}

// ---- Arguments -----------------------------------------------------------------------

TEST_CASE("cache: key, ns and value arguments are checked as the contract says") {
  DaemonProcess daemon;
  Cache cache(daemon.socket());
  const std::string v = "\x01";
  expect_error(cache.call("cache.put", {{"value", v}}), "BAD_REQUEST");  // no key
  expect_error(cache.put("", v), "BAD_REQUEST");                         // empty key
  expect_error(cache.call("cache.put", {{"key", packed_uint(5)}, {"value", v}}),
               "BAD_REQUEST");  // not a string
  expect_ok(cache.put(std::string(1024, 'k'), v));
  CHECK(cache.value(std::string(1024, 'k')) == v);
  expect_error(cache.put(std::string(1025, 'k'), v), "TOO_LARGE");
  expect_error(cache.get(std::string(1025, 'k')), "TOO_LARGE");
  expect_error(cache.get(""), "BAD_REQUEST");

  expect_ok(cache.put("k", v, {{"ns", str(std::string(64, 'n'))}}));
  expect_ok(cache.put("k", v, {{"ns", str("Az09._:-")}}));
  expect_error(cache.put("k", v, {{"ns", str(std::string(65, 'n'))}}), "TOO_LARGE");
  expect_error(cache.put("k", v, {{"ns", str("a/b")}}), "BAD_REQUEST");
  expect_error(cache.put("k", v, {{"ns", str("a b")}}), "BAD_REQUEST");
  expect_error(cache.get("k", "with space"), "BAD_REQUEST");
  expect_ok(cache.put("k", v, {{"ns", "\xc0"}}));  // nil is the same as absent: ""
  CHECK(cache.value("k") == v);

  expect_error(cache.call("cache.put", {{"key", str("k")}}), "BAD_REQUEST");  // value is required
  expect_error(cache.put("k", v, {{"ttl_ms", "\xff"}}), "BAD_REQUEST");       // negative
  expect_error(cache.put("k", v, {{"ttl_ms", str("1")}}), "BAD_REQUEST");
  expect_error(cache.put("k", v, {{"durable", packed_uint(1)}}), "BAD_REQUEST");
  // A nil value is a value.
  expect_ok(cache.put("nil", "\xc0"));
  CHECK(cache.value("nil") == "\xc0");
}

// ---- Limits --------------------------------------------------------------------------

TEST_CASE("cache: depth 32 is stored and 33 is TOO_DEEP, in both encodings") {
  DaemonProcess daemon;
  Cache cache(daemon.socket());
  expect_ok(cache.put("d32", nested_arrays(32)));
  CHECK(cache.value("d32") == nested_arrays(32));
  expect_error(cache.put("d33", nested_arrays(33)), "TOO_DEEP");
  expect_error(cache.get("d33"), "NOT_FOUND");

  RawConnection j(daemon.socket());
  const auto json_nested = [](int levels) {
    return std::string(levels, '[') + "null" + std::string(levels, ']');
  };
  CHECK(json_error(json_call(j, R"({"op":"cache.put","args":{"key":"j32","value":)" +
                                    json_nested(32) + "}}"))
            .empty());
  CHECK(cache.value("j32") == nested_arrays(32));
  CHECK(json_error(json_call(j, R"({"op":"cache.put","args":{"key":"j33","value":)" +
                                    json_nested(33) + "}}")) == "TOO_DEEP");
}

TEST_CASE("cache: an encoded value of 10,485,760 bytes is stored and one byte more is TOO_LARGE") {
  DaemonProcess daemon;
  Cache cache(daemon.socket());
  const std::string max = bin_value(10'485'760);
  expect_ok(cache.put("max", max));
  CHECK(cache.value("max") == max);
  expect_error(cache.put("over", bin_value(10'485'761)), "TOO_LARGE");
  expect_ok(cache.client().call("ping"));

  // JSON mode counts the shortest msgpack encoding: a str32 header is 5 bytes.
  RawConnection j(daemon.socket());
  const std::string text(10'485'760 - 5, 's');
  CHECK(
      json_error(json_call(j, R"({"op":"cache.put","args":{"key":"js","value":")" + text + "\"}}"))
          .empty());
  CHECK(cache.value("js").size() == 10'485'760);
  CHECK(json_error(json_call(j, R"({"op":"cache.put","args":{"key":"js2","value":")" + text +
                                    "s\"}}")) == "TOO_LARGE");
}

TEST_CASE("cache: a value nested 100,000 levels is refused and the daemon keeps serving") {
  DaemonProcess daemon;
  {
    Cache cache(daemon.socket());
    expect_error(cache.put("deep", nested_arrays(100'000)), "TOO_DEEP");
    expect_ok(cache.client().call("ping"));  // the same connection stays open
  }
  {
    RawConnection j(daemon.socket());
    const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
    CHECK(json_error(json_call(j, R"({"op":"cache.put","args":{"key":"deep","value":)" + deep +
                                      "}}")) == "TOO_DEEP");
    CHECK(json::serialize(json_call(j, R"({"op":"ping"})")) == R"({"ok":true,"result":"pong"})");
  }
  expect_alive(daemon.socket());
}

TEST_CASE(
    "cache: a 5-byte header claiming 2^32-1 elements is a broken frame, refused without harm") {
  DaemonProcess daemon;
  RawConnection c(daemon.socket());
  // {"op":"cache.put","args":{"key":"k","value":<array32 of 4294967295 elements, none sent>}}
  const std::string args = packed([](ipc::MsgpackWriter& w) { w.pack_map(2); }) + str("key") +
                           str("k") + str("value") + std::string("\xdd\xff\xff\xff\xff", 5);
  c.send(frame(request_body("cache.put", 1, str("args") + args, 1)));
  const auto r = c.read_frame();
  CHECK_FALSE(r.ok);
  CHECK(r.error_code == "BAD_FRAME");
  CHECK(c.closed_by_peer());
  expect_alive(daemon.socket());
}

TEST_CASE("cache: types outside the contract are BAD_TYPE") {
  DaemonProcess daemon;
  Cache cache(daemon.socket());
  expect_error(cache.put("e", std::string("\xd6\x05"
                                          "abcd",
                                          6)),
               "BAD_TYPE");  // ext type 5
  expect_error(cache.put("e", std::string("\xd4\xff\x00", 3)),
               "BAD_TYPE");                                  // ext -1, not a timestamp
  expect_error(cache.put("u", "\xa2\xc3\x28"), "BAD_TYPE");  // invalid UTF-8
  expect_error(cache.put("u",
                         "\x91\x81\xa1"
                         "a\xa1\xff"),
               "BAD_TYPE");                                                       // ... nested
  expect_error(cache.put("b", std::string("\x81\xc4\x01k\x01", 5)), "BAD_TYPE");  // bin map key
  expect_error(cache.put("b", std::string("\x81\xc2\x01", 3)), "BAD_TYPE");       // bool map key
  for (const char* key : {"e", "u", "b"}) expect_error(cache.get(key), "NOT_FOUND");
  expect_ok(cache.client().call("ping"));
}

// ---- Operations ----------------------------------------------------------------------

TEST_CASE("cache: get, put replacing value and TTL, del and clear") {
  DaemonProcess daemon;
  Cache cache(daemon.socket());
  expect_error(cache.get("missing"), "NOT_FOUND");

  expect_ok(cache.put("k", "\x01", {{"ttl_ms", packed_uint(600'000)}}));
  auto r = cache.get("k");
  expect_ok(r);
  const auto ttl = int_field(r.result, "ttl_ms");
  CHECK(ttl > 590'000);
  CHECK(ttl <= 600'000);
  expect_ok(cache.put("k", "\x02"));  // replaces value and TTL
  r = cache.get("k");
  CHECK(field(r.result, "value") == "\x02");
  CHECK(field(r.result, "ttl_ms") == "\xc0");
  expect_ok(cache.put("k", "\x03", {{"ttl_ms", packed_uint(0)}}));  // 0: no expiry
  CHECK(field(cache.get("k").result, "ttl_ms") == "\xc0");

  r = cache.call("cache.del", {{"key", str("k")}});
  expect_ok(r);
  CHECK(field(r.result, "deleted") == kTrue);
  r = cache.call("cache.del", {{"key", str("k")}});
  CHECK(field(r.result, "deleted") == "\xc2");
  expect_error(cache.get("k"), "NOT_FOUND");

  for (int i = 0; i < 5; ++i)
    expect_ok(cache.put("a" + std::to_string(i), "\x01", {{"ns", str("ns1")}}));
  expect_ok(cache.put("a0", "\x01", {{"ns", str("ns2")}}));
  expect_ok(cache.put("a0", "\x01"));
  r = cache.call("cache.clear", {{"ns", str("ns1")}});
  expect_ok(r);
  CHECK(int_field(r.result, "deleted") == 5);
  expect_error(cache.get("a3", "ns1"), "NOT_FOUND");
  CHECK(cache.value("a0", "ns2") == "\x01");
  CHECK(cache.value("a0") == "\x01");
  r = cache.call("cache.clear", {});
  CHECK(int_field(r.result, "deleted") == 1);
  expect_error(cache.get("a0"), "NOT_FOUND");
  CHECK(cache.value("a0", "ns2") == "\x01");
  // Put again after a clear: the namespace works as before.
  expect_ok(cache.put("a1", "\x07", {{"ns", str("ns1")}}));
  CHECK(cache.value("a1", "ns1") == "\x07");
}

TEST_CASE("cache: stats count entries, bytes, hits, misses and expired for the peer's uid") {
  DaemonProcess daemon;
  Cache cache(daemon.socket());
  std::string s = cache.stats();
  for (const char* name : {"entries", "bytes", "hits", "misses", "evictions", "expired"}) {
    INFO(name);
    CHECK(int_field(s, name) == 0);
  }
  expect_ok(cache.put("a", "\x01"));
  expect_ok(cache.put("bb", "\xa3xyz", {{"ns", str("n")}}));
  expect_ok(cache.put("a", "\x02"));  // a replacement is not a new entry
  CHECK(cache.value("a") == "\x02");
  CHECK(cache.value("bb", "n") == "\xa3xyz");
  expect_error(cache.get("nope"), "NOT_FOUND");
  s = cache.stats();
  CHECK(int_field(s, "entries") == 2);
  CHECK(int_field(s, "bytes") == (1 + 1) + (1 + 2 + 4));  // ns + key + value of each
  CHECK(int_field(s, "hits") == 2);
  CHECK(int_field(s, "misses") == 1);
  CHECK(int_field(s, "evictions") == 0);
  CHECK(int_field(s, "expired") == 0);

  // admin.status reports the same counters over all uids.
  const auto status = cache.client().call("admin.status");
  expect_ok(status);
  CHECK(int_field(field(status.result, "cache"), "entries") == 2);
}

TEST_CASE("cache: an expired entry is never returned and is counted as expired") {
  DaemonProcess daemon({.config_json = R"({"cache_sweep_interval_ms": 50})"});
  Cache cache(daemon.socket());
  expect_ok(cache.put("short", "\x01", {{"ttl_ms", packed_uint(300)}}));
  expect_ok(cache.put("swept", "\x01", {{"ttl_ms", packed_uint(300)}}));
  expect_ok(cache.put("long", "\x01", {{"ttl_ms", packed_uint(600'000)}}));
  const auto r = cache.get("short");
  if (r.ok) CHECK(int_field(r.result, "ttl_ms") <= 300);
  CHECK(eventually([&] { return cache.get("short").error_code == "NOT_FOUND"; }));
  // "swept" is never read again: the periodic sweep removes it.
  CHECK(eventually([&] { return int_field(cache.stats(), "expired") == 2; }));
  const std::string s = cache.stats();
  CHECK(int_field(s, "entries") == 1);
  CHECK(cache.value("long") == "\x01");
  expect_error(cache.get("swept"), "NOT_FOUND");
}

TEST_CASE("cache: under a small memory budget, evicted entries are still served from disk") {
  DaemonProcess daemon({.config_json = R"({"cache_memory_budget_bytes": 8192})"});
  Cache cache(daemon.socket());
  const std::string value = bin_value(1000);
  for (int i = 0; i < 60; ++i) expect_ok(cache.put("k" + std::to_string(i), value));
  // Until they are flushed they stay in memory; the stats' commit settles that.
  cache.stats();
  for (int round = 0; round < 2; ++round)
    for (int i = 0; i < 60; ++i) {
      INFO(i);
      CHECK(cache.value("k" + std::to_string(i)) == value);
    }
  const std::string s = cache.stats();
  CHECK(int_field(s, "entries") == 60);
  CHECK(int_field(s, "evictions") == 0);  // nothing was lost
  CHECK(int_field(s, "memory_evictions") > 0);
  CHECK(int_field(s, "memory_bytes") <= 8192);
  CHECK(int_field(s, "hits") == 120);
}

TEST_CASE("cache: the disk budget evicts the least recently used entries") {
  DaemonProcess daemon(
      {.config_json = R"({"cache_disk_budget_bytes": 16384, "cache_memory_budget_bytes": 4096})"});
  Cache cache(daemon.socket());
  const std::string value = bin_value(500);
  for (int i = 0; i < 100; ++i) {
    expect_ok(cache.put("k" + std::to_string(i), value));
    if (i % 10 == 9) cache.stats();  // a commit every ten puts
  }
  const std::string s = cache.stats();
  CHECK(int_field(s, "evictions") > 0);
  // An evicted row still hot in memory is written back rather than lost (and not counted):
  // one may be on its way back when the stats are taken.
  const auto accounted = int_field(s, "entries") + int_field(s, "evictions");
  CHECK(accounted >= 99);
  CHECK(accounted <= 100);
  CHECK(int_field(s, "bytes") <= 16384);
  CHECK(cache.value("k99") == value);          // the newest stays
  expect_error(cache.get("k0"), "NOT_FOUND");  // the oldest went
}

TEST_CASE("cache: durable and write-behind puts survive a restart, with their remaining TTL") {
  TempDir dir;
  const auto state = dir.path() / "state";
  {
    DaemonProcess daemon({.state_dir = state});
    Cache cache(daemon.socket());
    expect_ok(cache.put("durable",
                        "\xa1"
                        "d",
                        {{"durable", kTrue}}));
    expect_ok(cache.put("behind",
                        "\xa1"
                        "b"));  // flushed at SIGTERM at the latest
    expect_ok(cache.put("ttl", "\xa1t", {{"ttl_ms", packed_uint(600'000)}, {"ns", str("n")}}));
    expect_ok(cache.put("gone", "\xa1g", {{"durable", kTrue}}));
    expect_ok(cache.call("cache.del", {{"key", str("gone")}}));
    const auto exit = daemon.stop(SIGTERM);
    CHECK(exit.exit_code == 0);
  }
  {
    DaemonProcess daemon({.state_dir = state});
    Cache cache(daemon.socket());
    CHECK(cache.value("durable") ==
          "\xa1"
          "d");
    CHECK(cache.value("behind") ==
          "\xa1"
          "b");
    const auto r = cache.get("ttl", "n");
    expect_ok(r);
    const auto ttl = int_field(r.result, "ttl_ms");
    CHECK(ttl > 0);
    CHECK(ttl < 600'000);
    expect_error(cache.get("gone"), "NOT_FOUND");
    CHECK(int_field(cache.stats(), "entries") == 3);
  }
}

TEST_CASE("cache: a durable put is on disk when answered, even if the daemon is killed") {
  TempDir dir;
  const auto state = dir.path() / "state";
  {
    // A long flush interval: only durability can explain the entry surviving SIGKILL.
    DaemonProcess daemon(
        {.config_json = R"({"cache_flush_interval_ms": 3600000})", .state_dir = state});
    // Catch2 v2 assertions are not thread-safe (a CHECK from two threads at once crashed
    // CI): the writers count, the main thread asserts after the join.
    std::atomic<int> acknowledged{0};
    std::vector<std::thread> writers;
    for (int t = 0; t < 8; ++t)
      writers.emplace_back([&, t] {
        Cache cache(daemon.socket());
        for (int i = 0; i < 10; ++i)
          acknowledged += cache
                              .put("d" + std::to_string(t) + "-" + std::to_string(i),
                                   packed_uint(static_cast<std::uint64_t>(i)), {{"durable", kTrue}})
                              .ok;
      });
    for (auto& w : writers) w.join();
    REQUIRE(acknowledged == 80);
    daemon.stop(SIGKILL);
  }
  DaemonProcess daemon({.state_dir = state});
  Cache cache(daemon.socket());
  for (int t = 0; t < 8; ++t)
    for (int i = 0; i < 10; ++i)
      CHECK(cache.value("d" + std::to_string(t) + "-" + std::to_string(i)) == packed_uint(i));
}

TEST_CASE("cache: pipelined puts and gets on one connection are answered in order") {
  DaemonProcess daemon;
  RawConnection c(daemon.socket());
  std::string batch;
  for (std::uint64_t i = 1; i <= 50; ++i) {
    const std::string key = "p" + std::to_string(i % 5);
    batch += frame(
        request_body("cache.put", i * 2,
                     str("args") + args_of({{"key", str(key)},
                                            {"value", packed_uint(i)},
                                            {"durable", i % 7 == 0 ? kTrue : std::string("\xc2")}}),
                     1));
    batch +=
        frame(request_body("cache.get", i * 2 + 1, str("args") + args_of({{"key", str(key)}}), 1));
  }
  c.send(batch);
  for (std::uint64_t i = 1; i <= 50; ++i) {
    auto put = c.read_frame();
    CHECK(put.id == i * 2);
    CHECK(put.ok);
    auto get = c.read_frame();
    CHECK(get.id == i * 2 + 1);
    CHECK(field(get.result, "value") == packed_uint(i));
  }
}

// ---- Integrity -------------------------------------------------------------------------

namespace {

// Opens the daemon's cache.db as the daemon does: the salt from the file, the key from
// the test passphrase.
storage::Connection open_cache_db(const std::filesystem::path& state) {
  const auto path = state / "cache.db";
  auto probe = storage::probe_database_file(path);
  REQUIRE(probe);
  REQUIRE(probe->kind == storage::FileKind::kEncrypted);
  auto key = storage::derive_database_key(kTestPassphrase, probe->salt, 256'000);
  REQUIRE(key);
  auto c = storage::Connection::open(path, *key, {});
  REQUIRE(c);
  return std::move(*c);
}

}  // namespace

TEST_CASE(
    "cache: a row edited or moved on disk fails its integrity check: NOT_FOUND and a security "
    "event") {
  TempDir dir;
  const auto state = dir.path() / "state";
  {
    DaemonProcess daemon({.state_dir = state});
    Cache cache(daemon.socket());
    for (const char* key : {"edited", "moved-uid", "moved-key", "extended", "intact"})
      expect_ok(cache.put(key,
                          "\xa5"
                          "value",
                          {{"durable", kTrue}, {"ttl_ms", packed_uint(600'000)}}));
    daemon.stop(SIGTERM);
  }
  {
    auto db = open_cache_db(state);
    REQUIRE(
        db.exec("UPDATE cache_entries SET value = x'a5' || CAST('VALUE' AS BLOB) WHERE key = "
                "CAST('edited' AS BLOB)"));
    REQUIRE(db.exec("UPDATE cache_entries SET uid = 65534 WHERE key = CAST('moved-uid' AS BLOB)"));
    REQUIRE(
        db.exec("UPDATE cache_entries SET key = CAST('elsewhere' AS BLOB) WHERE key = "
                "CAST('moved-key' AS BLOB)"));
    REQUIRE(
        db.exec("UPDATE cache_entries SET expires_at = 0 WHERE key = CAST('extended' AS BLOB)"));
  }
  DaemonProcess daemon({.state_dir = state});
  Cache cache(daemon.socket());
  CHECK(cache.value("intact") == "\xa5value");
  for (const char* key : {"edited", "moved-uid", "elsewhere", "extended"}) {
    INFO(key);
    expect_error(cache.get(key), "NOT_FOUND");
  }
  const auto events =
      cache.client().call("admin.events", ipc::as_bytes(args_of({{"limit", packed_uint(100)}})));
  expect_ok(events);
  std::string text;
  ipc::msgpack_to_json(ipc::as_bytes(events.result), text);
  std::size_t integrity = 0;
  for (std::size_t at = text.find("integrity"); at != std::string::npos;
       at = text.find("integrity", at + 1))
    ++integrity;
  CHECK(integrity >= 3);
  CHECK(text.find("VALUE") == std::string::npos);  // never the value
  // The failed rows were dropped: not counted any more.
  CHECK(int_field(cache.stats(), "entries") == 1);
}

// ---- Identity --------------------------------------------------------------------------

TEST_CASE("cache: two uids never see each other's entries") {
  if (::geteuid() != 0) {
    WARN("skipped: needs root to run a client as another uid");
    return;
  }
  DaemonProcess daemon;
  // The test's private directory and the socket in it, opened to the other uid.
  REQUIRE(::chmod(daemon.dir().c_str(), 0711) == 0);
  REQUIRE(::chmod(daemon.socket().c_str(), 0666) == 0);
  Cache root(daemon.socket());
  expect_ok(root.put("secret", "\xa4root"));
  expect_ok(root.put("shared-name", "\xa4root", {{"ns", str("n")}}));

  const std::string socket = daemon.socket().string();
  auto as_nobody = [&](std::vector<std::string> words, std::string* out) {
    std::vector<std::string> argv{durationctl_for_all(), "--socket", socket};
    argv.insert(argv.end(), words.begin(), words.end());
    return run_command(as_uid(65534, argv), {}, out);
  };
  std::string out;
  auto r = as_nobody({"cache", "get", "secret"}, &out);
  INFO(r.stderr_text);
  CHECK(r.exit_code == 1);
  CHECK(r.stderr_text.find("NOT_FOUND") != std::string::npos);
  CHECK(as_nobody({"cache", "put", "secret", "\"nobody's\""}, &out).exit_code == 0);
  CHECK(as_nobody({"cache", "get", "secret"}, &out).exit_code == 0);
  CHECK(out == "\"nobody's\"\n");
  CHECK(as_nobody({"cache", "del", "shared-name", "--ns", "n"}, &out).exit_code == 0);
  CHECK(out == "not found\n");
  CHECK(as_nobody({"cache", "clear"}, &out).exit_code == 0);
  CHECK(out == "deleted 1 entries\n");
  CHECK(as_nobody({"--json", "cache", "stats"}, &out).exit_code == 0);
  CHECK(out.find("\"entries\":0") != std::string::npos);

  CHECK(root.value("secret") == "\xa4root");
  CHECK(root.value("shared-name", "n") == "\xa4root");
  CHECK(int_field(root.stats(), "entries") == 2);
}

// ---- durationctl -------------------------------------------------------------------------

TEST_CASE("durationctl cache get, put, del, clear and stats") {
  DaemonProcess daemon;
  const std::string socket = daemon.socket().string();
  auto ctl = [&](std::vector<std::string> words, std::string* out) {
    std::vector<std::string> argv{DURATIONCTL_BINARY, "--socket", socket};
    argv.insert(argv.end(), words.begin(), words.end());
    return run_command(argv, {}, out);
  };
  std::string out;
  CHECK(ctl({"cache", "put", "k", R"({"a":[1,2.5,"x"],"b":{"$bin":"AAH/"}})"}, &out).exit_code ==
        0);
  CHECK(out == "stored\n");
  CHECK(ctl({"cache", "get", "k"}, &out).exit_code == 0);
  CHECK(out == R"({"a":[1,2.5,"x"],"b":{"$bin":"AAH/"}})"
               "\n");
  CHECK(ctl({"cache", "put", "t", R"({"$ts":"2026-12-04T19:00:00.123Z"})", "--ns", "n", "--ttl-ms",
             "600000", "--durable"},
            &out)
            .exit_code == 0);
  CHECK(ctl({"--json", "cache", "get", "t", "--ns", "n"}, &out).exit_code == 0);
  CHECK(out.rfind(R"({"value":{"$ts":"2026-12-04T19:00:00.123Z"},"ttl_ms":)", 0) == 0);
  CHECK(ctl({"cache", "get", "t"}, &out).exit_code == 1);  // another namespace
  CHECK(ctl({"cache", "del", "k"}, &out).exit_code == 0);
  CHECK(out == "deleted\n");
  CHECK(ctl({"cache", "del", "k"}, &out).exit_code == 0);
  CHECK(out == "not found\n");
  CHECK(ctl({"cache", "clear", "--ns", "n"}, &out).exit_code == 0);
  CHECK(out == "deleted 1 entries\n");
  CHECK(ctl({"cache", "stats"}, &out).exit_code == 0);
  CHECK(out.find("entries: 0\n") != std::string::npos);
  CHECK(out.find("hits: 2\n") != std::string::npos);
  CHECK(ctl({"cache", "put", "k", "not json"}, &out).exit_code == 2);
  CHECK(ctl({"cache", "put", "k", "1, \"x\": 2"}, &out).exit_code == 2);
  CHECK(ctl({"cache", "frob"}, &out).exit_code == 2);
}

// ---- The durable-put journal (cache_store.hpp) ------------------------------------------

namespace {

std::int64_t count_rows(storage::Connection& db, const std::string& table) {
  auto n = db.query_int("SELECT count(*) FROM " + table);
  REQUIRE(n);
  return *n;
}

std::int64_t count_rows(const std::filesystem::path& state, const std::string& table) {
  auto db = open_cache_db(state);
  return count_rows(db, table);
}

}  // namespace

TEST_CASE("cache: durable puts killed before their write-behind are in the journal, and replayed on start") {
  TempDir dir;
  const auto state = dir.path() / "state";
  {
    DaemonProcess daemon({.config_json = R"({"cache_flush_interval_ms": 3600000})", .state_dir = state});
    Cache cache(daemon.socket());
    for (int i = 0; i < 20; ++i)
      expect_ok(cache.put("j" + std::to_string(i), packed_uint(static_cast<std::uint64_t>(i)),
                          {{"durable", kTrue}, {"ttl_ms", packed_uint(600'000)}}));
    daemon.stop(SIGKILL);
  }
  // Committed as journal rows only: the write-behind never ran.
  CHECK(count_rows(state, "cache_journal") == 20);
  CHECK(count_rows(state, "cache_entries") == 0);
  {
    DaemonProcess daemon({.state_dir = state});
    Cache cache(daemon.socket());
    for (int i = 0; i < 20; ++i) {
      const auto r = cache.get("j" + std::to_string(i));
      REQUIRE(r.ok);
      CHECK(field(r.result, "value") == packed_uint(static_cast<std::uint64_t>(i)));
      CHECK(int_field(r.result, "ttl_ms") > 0);  // the TTL came through the journal too
    }
    CHECK(int_field(cache.stats(), "entries") == 20);
    daemon.stop(SIGKILL);
  }
  // Replayed into cache_entries on start, in the same transaction that emptied the journal.
  CHECK(count_rows(state, "cache_journal") == 0);
  CHECK(count_rows(state, "cache_entries") == 20);
}

TEST_CASE("cache: a journaled put replaced by a later write is not brought back by a restart") {
  TempDir dir;
  const auto state = dir.path() / "state";
  {
    DaemonProcess daemon({.config_json = R"({"cache_flush_interval_ms": 3600000})", .state_dir = state});
    Cache cache(daemon.socket());
    expect_ok(cache.put("k", "\xa1" "A", {{"durable", kTrue}}));
    expect_ok(cache.put("k", "\xa1" "B"));
    expect_ok(cache.put("gone", "\xa1" "A", {{"durable", kTrue}}));
    expect_ok(cache.call("cache.del", {{"key", str("gone")}}));
    cache.stats();  // commits everything queued
    daemon.stop(SIGKILL);
  }
  CHECK(count_rows(state, "cache_journal") == 0);
  DaemonProcess daemon({.state_dir = state});
  Cache cache(daemon.socket());
  CHECK(cache.value("k") == "\xa1" "B");
  expect_error(cache.get("gone"), "NOT_FOUND");
}

TEST_CASE("cache: a write-behind backlog is written in bounded batches, durable puts between them, and nothing is lost") {
  TempDir dir;
  const auto state = dir.path() / "state";
  constexpr int kPlain = 3000, kDurable = 40;
  {
    DaemonProcess daemon({.config_json = R"({"cache_flush_interval_ms": 20})", .state_dir = state});
    RawConnection c(daemon.socket());
    std::string burst;
    for (int i = 0; i < kPlain; ++i)
      burst += frame(request_body("cache.put", static_cast<std::uint64_t>(i + 1),
                                  str("args") + args_of({{"key", str("p" + std::to_string(i))},
                                                         {"value", packed_uint(static_cast<std::uint64_t>(i))}}),
                                  1));
    c.send(burst);
    for (int i = 0; i < kPlain; ++i) REQUIRE(c.read_frame().ok);
    Cache cache(daemon.socket());
    for (int i = 0; i < kDurable; ++i)
      expect_ok(cache.put("d" + std::to_string(i), packed_uint(static_cast<std::uint64_t>(i)), {{"durable", kTrue}}));
    // The flush timer alone drains the queue, 1024 writes a batch, and the journal with it.
    auto db = open_cache_db(state);  // a reader beside the daemon (WAL)
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while ((count_rows(db, "cache_entries") < kPlain + kDurable || count_rows(db, "cache_journal") > 0) &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(50ms);
    CHECK(count_rows(db, "cache_entries") == kPlain + kDurable);
    CHECK(count_rows(db, "cache_journal") == 0);
    daemon.stop(SIGKILL);
  }
  DaemonProcess daemon({.state_dir = state});
  Cache cache(daemon.socket());
  for (int i = 0; i < kPlain; i += 97) CHECK(cache.value("p" + std::to_string(i)) == packed_uint(static_cast<std::uint64_t>(i)));
  for (int i = 0; i < kDurable; ++i) CHECK(cache.value("d" + std::to_string(i)) == packed_uint(static_cast<std::uint64_t>(i)));
  CHECK(int_field(cache.stats(), "entries") == kPlain + kDurable);
}

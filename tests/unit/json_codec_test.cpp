#include <catch2/catch.hpp>

#include "ipc/json_codec.hpp"
#include "ipc/msgpack_writer.hpp"
#include "ipc/timestamp.hpp"

using namespace durationd::ipc;

namespace {

// JSON line -> msgpack -> JSON text.
std::string round_trip(std::string_view line) {
  std::string mp;
  auto r = json_to_msgpack(line, mp);
  REQUIRE(r.has_value());
  std::string out;
  REQUIRE(msgpack_to_json(as_bytes(mp), out));
  return out;
}

}  // namespace

TEST_CASE("JSON mapping: integers are exact at both ends of their range") {
  CHECK(round_trip(R"({"a":18446744073709551615,"b":-9223372036854775808,"c":0})") ==
        R"({"a":18446744073709551615,"b":-9223372036854775808,"c":0})");
}

TEST_CASE("JSON mapping: floats stay floats") {
  CHECK(round_trip(R"({"f":2.0,"g":0.1,"h":-1e300})") == R"({"f":2.0,"g":0.1,"h":-1e+300})");
}

TEST_CASE("JSON mapping: a double is the one its text names, to the last bit") {
  // Boost.JSON 1.81 alone reads these one ulp off (found by fuzz_json_lines); the
  // shortest text of a double must read back as that double.
  for (const std::string text : {"-9.223372233720369e+23", "9.223372233720369e+23", "2.2250738585072014e-308",
                                 "1.7976931348623157e+308", "5e-324", "0.30000000000000004"}) {
    INFO(text);
    CHECK(round_trip(R"({"f":)" + text + "}") == R"({"f":)" + text + "}");
  }
  // Beyond double's range a number is still read (as infinity, written back as null).
  CHECK(round_trip(R"({"f":1e400})") == R"({"f":null})");
}

TEST_CASE("JSON mapping: $bin and $ts become bin and timestamp and come back") {
  CHECK(round_trip(R"({"b":{"$bin":"AAEC/w=="},"t":{"$ts":"2026-12-04T19:00:00.123Z"}})") ==
        R"({"b":{"$bin":"AAEC/w=="},"t":{"$ts":"2026-12-04T19:00:00.123Z"}})");
  std::string mp;
  REQUIRE(json_to_msgpack(R"({"b":{"$bin":"AAEC/w=="}})", mp).has_value());
  CHECK(mp.find("\xc4\x04") != std::string::npos);  // bin8 of 4 bytes
  // A map with $bin next to other keys is just a map.
  CHECK(round_trip(R"({"m":{"$bin":"AA==","x":1}})") == R"({"m":{"$bin":"AA==","x":1}})");
}

TEST_CASE("JSON mapping: the line itself is a map, even holding only $bin or $ts") {
  std::string mp;
  REQUIRE(json_to_msgpack(R"({"$bin":"AA=="})", mp).has_value());
  CHECK(mp == "\x81\xa4$bin\xa4" "AA==");  // {"$bin": "AA=="}, not bin 0x00
  mp.clear();
  REQUIRE(json_to_msgpack(R"({"$ts":"2026-12-04T19:00:00Z"})", mp).has_value());
  CHECK(mp.substr(0, 5) == "\x81\xa3$ts");
}

TEST_CASE("JSON mapping: bad $bin and $ts are BAD_REQUEST") {
  std::string mp;
  auto r = json_to_msgpack(R"({"b":{"$bin":"not base64!"}})", mp);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == WireCode::kBadRequest);
  CHECK(r.error().message.find("$bin") != std::string::npos);
  r = json_to_msgpack(R"({"t":{"$ts":"yesterday"}})", mp);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message.find("$ts") != std::string::npos);
  r = json_to_msgpack(R"({"t":{"$ts":5}})", mp);
  REQUIRE_FALSE(r.has_value());
}

TEST_CASE("JSON mapping: not JSON, not an object, too deep") {
  std::string mp;
  CHECK(json_to_msgpack("[1]", mp).error().code == WireCode::kBadRequest);
  CHECK(json_to_msgpack("{", mp).error().code == WireCode::kBadRequest);
  CHECK(json_to_msgpack("{\"a\":\"\xc3\x28\"}", mp).error().code == WireCode::kBadRequest);
  const std::string deep = "{\"v\":" + std::string(1000, '[') + std::string(1000, ']') + "}";
  CHECK(json_to_msgpack(deep, mp).error().code == WireCode::kTooDeep);
}

TEST_CASE("msgpack to JSON: what JSON cannot hold") {
  std::string mp;
  StringSink sink(mp);
  MsgpackWriter w(sink);
  w.pack_map(3);
  w.pack_int(7);  // integer key -> decimal string
  pack_float64(w, std::numeric_limits<double>::quiet_NaN());
  pack_str(w, "inf");
  pack_float64(w, std::numeric_limits<double>::infinity());
  pack_str(w, "s");
  pack_str(w, "a\"\\\n\x01\xff");
  std::string out;
  REQUIRE(msgpack_to_json(as_bytes(mp), out));
  CHECK(out == "{\"7\":null,\"inf\":null,\"s\":\"a\\\"\\\\\\n\\u0001\xEF\xBF\xBD\"}");
}

TEST_CASE("msgpack to JSON: a timestamp outside RFC 3339's years is null") {
  std::string mp;
  StringSink sink(mp);
  MsgpackWriter w(sink);
  w.pack_array(3);
  pack_timestamp(w, {kMaxRfc3339Seconds, 0});
  pack_timestamp(w, {kMaxRfc3339Seconds + 1, 0});
  pack_timestamp(w, {INT64_MIN, 0});
  std::string out;
  REQUIRE(msgpack_to_json(as_bytes(mp), out));
  CHECK(out == R"([{"$ts":"9999-12-31T23:59:59Z"},null,null])");
  // And none is read from JSON: an offset past year 0000 is not a date-time here.
  CHECK(json_to_msgpack(R"({"t":{"$ts":"0000-01-01T00:00:00+00:01"}})", mp).error().code == WireCode::kBadRequest);
}

TEST_CASE("msgpack to JSON: keys that are maps, nested in keys, stay linear in size") {
  // {{{...{"\"": 0}...: 0}: 0}: 0}: each map's key is the next map. Escaping each
  // level's text again doubled the backslashes per level (found by fuzz_envelope).
  constexpr int kLevels = 60;
  std::string mp;
  StringSink sink(mp);
  MsgpackWriter w(sink);
  for (int i = 0; i < kLevels; ++i) w.pack_map(1);
  pack_str(w, "\"");
  for (int i = 0; i < kLevels; ++i) w.pack_uint64(0);
  std::string out;
  REQUIRE(msgpack_to_json(as_bytes(mp), out));
  CHECK(out.size() < 8 * mp.size());
  std::string back;
  CHECK(json_to_msgpack(R"({"v":)" + out + "}", back).has_value());  // still valid JSON
  // An integer key is still its decimal text.
  std::string one;
  StringSink one_sink(one);
  MsgpackWriter one_writer(one_sink);
  one_writer.pack_map(1);
  one_writer.pack_int(-7);
  one_writer.pack_true();
  out.clear();
  REQUIRE(msgpack_to_json(as_bytes(one), out));
  CHECK(out == R"({"-7":true})");
}

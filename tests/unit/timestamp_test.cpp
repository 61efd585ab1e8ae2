#include <catch2/catch.hpp>

#include "ipc/timestamp.hpp"

using namespace durationd::ipc;

namespace {

Timestamp pack_and_decode(Timestamp ts, std::size_t expected_payload) {
  std::string mp;
  StringSink sink(mp);
  MsgpackWriter w(sink);
  pack_timestamp(w, ts);
  MsgpackReader r(as_bytes(mp));
  MsgToken t;
  REQUIRE(r.next(t));
  CHECK(t.payload.size() == expected_payload);
  auto decoded = decode_timestamp(t);
  REQUIRE(decoded);
  return *decoded;
}

}  // namespace

TEST_CASE("timestamps use the smallest of the three encodings and round-trip") {
  CHECK(pack_and_decode({1'700'000'000, 0}, 4) == Timestamp{1'700'000'000, 0});
  CHECK(pack_and_decode({1'700'000'000, 5}, 8) == Timestamp{1'700'000'000, 5});
  CHECK(pack_and_decode({(std::int64_t{1} << 34) - 1, 999'999'999}, 8) ==
        Timestamp{(std::int64_t{1} << 34) - 1, 999'999'999});
  CHECK(pack_and_decode({-1, 0}, 12) == Timestamp{-1, 0});
  CHECK(pack_and_decode({std::int64_t{1} << 40, 1}, 12) == Timestamp{std::int64_t{1} << 40, 1});
}

TEST_CASE("RFC 3339 formatting uses 0, 3, 6 or 9 digits") {
  CHECK(format_rfc3339({0, 0}) == "1970-01-01T00:00:00Z");
  CHECK(format_rfc3339({1'796'410'800, 123'000'000}) == "2026-12-04T19:00:00.123Z");
  CHECK(format_rfc3339({1'796'410'800, 123'400'000}) == "2026-12-04T19:00:00.123400Z");
  CHECK(format_rfc3339({1'796'410'800, 1}) == "2026-12-04T19:00:00.000000001Z");
  CHECK(format_rfc3339({-1, 0}) == "1969-12-31T23:59:59Z");
  CHECK(format_rfc3339({951'782'400, 0}) == "2000-02-29T00:00:00Z");
}

TEST_CASE("RFC 3339 parsing") {
  CHECK(parse_rfc3339("2026-12-04T19:00:00.123Z") == Timestamp{1'796'410'800, 123'000'000});
  CHECK(parse_rfc3339("2026-12-04t20:00:00+01:00") == Timestamp{1'796'410'800, 0});
  CHECK(parse_rfc3339("2026-12-04T18:30:00.5-00:30") == Timestamp{1'796'410'800, 500'000'000});
  CHECK(parse_rfc3339("1969-12-31T23:59:59Z") == Timestamp{-1, 0});
  CHECK_FALSE(parse_rfc3339("2026-02-29T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339("2026-12-04 19:00:00Z"));
  CHECK_FALSE(parse_rfc3339("2026-12-04T19:00:00"));
  CHECK_FALSE(parse_rfc3339("2026-12-04T19:00:00.Z"));
  CHECK_FALSE(parse_rfc3339("2026-12-04T19:00:00.1234567890Z"));
  CHECK_FALSE(parse_rfc3339("2026-12-04T24:00:00Z"));
  CHECK_FALSE(parse_rfc3339("2026-12-04T19:00:00Zjunk"));
}

TEST_CASE("RFC 3339 holds the years 0000 to 9999; beyond them formatting is still defined") {
  CHECK(format_rfc3339({kMinRfc3339Seconds, 0}) == "0000-01-01T00:00:00Z");
  CHECK(format_rfc3339({kMaxRfc3339Seconds, 999'999'999}) == "9999-12-31T23:59:59.999999999Z");
  CHECK(parse_rfc3339("0000-01-01T00:00:00Z") == Timestamp{kMinRfc3339Seconds, 0});
  CHECK(parse_rfc3339("9999-12-31T23:59:59.999999999Z") == Timestamp{kMaxRfc3339Seconds, 999'999'999});
  // An offset may not carry the instant out of the range.
  CHECK_FALSE(parse_rfc3339("0000-01-01T00:30:00+01:00"));
  CHECK_FALSE(parse_rfc3339("9999-12-31T23:30:00-01:00"));
  CHECK(has_rfc3339_form({kMinRfc3339Seconds, 0}));
  CHECK_FALSE(has_rfc3339_form({kMinRfc3339Seconds - 1, 999'999'999}));
  CHECK_FALSE(has_rfc3339_form({kMaxRfc3339Seconds + 1, 0}));
  // A 12-byte msgpack timestamp reaches INT64_MIN seconds: formatting it negated that
  // (undefined behaviour, found by fuzz_msgpack_validator).
  CHECK(format_rfc3339({INT64_MIN, 0}) == "-292277022657-01-27T08:29:52Z");
  CHECK(format_rfc3339({INT64_MAX, 0}) == "292277026596-12-04T15:30:07Z");
}

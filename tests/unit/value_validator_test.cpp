// ipc::validate_value: the contract's "Values" rules at their exact boundaries.
#include "ipc/value_validator.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "ipc/msgpack_writer.hpp"

using namespace durationd::ipc;

namespace {

template <class F>
std::string packed(F&& fill) {
  std::string out;
  StringSink sink(out);
  MsgpackWriter w(sink);
  fill(w);
  return out;
}

std::optional<WireCode> check(const std::string& value) {
  auto e = validate_value(as_bytes(value));
  if (!e) return std::nullopt;
  return e->code;
}

// `levels` nested arrays around `inner` (fixarray headers of one element).
std::string nested_arrays(std::size_t levels, const std::string& inner = "\xc0") {
  return std::string(levels, '\x91') + inner;
}

std::string nested_maps(std::size_t levels) {
  std::string out;
  for (std::size_t i = 0; i < levels; ++i) out += "\x81\xa1k";  // {"k": ...
  return out + "\xc0";
}

std::string ext(std::int8_t type, const std::string& payload) {
  return packed([&](MsgpackWriter& w) {
    w.pack_ext(payload.size(), type);
    w.pack_ext_body(payload.data(), static_cast<std::uint32_t>(payload.size()));
  });
}

}  // namespace

TEST_CASE("value validator: every allowed type passes") {
  CHECK_FALSE(check("\xc0"));  // nil
  CHECK_FALSE(check("\xc3"));  // true
  CHECK_FALSE(check(packed([](MsgpackWriter& w) { w.pack_uint64(UINT64_MAX); })));
  CHECK_FALSE(check(packed([](MsgpackWriter& w) { w.pack_int64(INT64_MIN); })));
  CHECK_FALSE(check(packed([](MsgpackWriter& w) { w.pack_float(1.5f); })));
  CHECK_FALSE(check(packed([](MsgpackWriter& w) { pack_float64(w, 2.0); })));
  CHECK_FALSE(
      check(packed([](MsgpackWriter& w) { pack_str(w, "h\xc3\xa9llo \xf0\x9f\x98\x80"); })));
  CHECK_FALSE(check(packed([](MsgpackWriter& w) {
    w.pack_bin(3);
    w.pack_bin_body("\xff\x00\xfe", 3);
  })));
  CHECK_FALSE(check(ext(-1, std::string(4, '\x01'))));   // timestamp 32
  CHECK_FALSE(check(ext(-1, std::string(8, '\x00'))));   // timestamp 64
  CHECK_FALSE(check(ext(-1, std::string(12, '\x00'))));  // timestamp 96
  CHECK_FALSE(check("\x90"));                            // []
  CHECK_FALSE(check("\x80"));                            // {}
  // Map keys: strings and integers, negative ones too.
  CHECK_FALSE(
      check("\x83\xa1"
            "a\x01\x05\x02\xff\x03"));
}

TEST_CASE("value validator: depth 32 is accepted and 33 is TOO_DEEP") {
  CHECK_FALSE(check("\x01"));  // a scalar is depth 0
  CHECK_FALSE(check(nested_arrays(32)));
  CHECK(check(nested_arrays(33)) == WireCode::kTooDeep);
  CHECK_FALSE(check(std::string(31, '\x91') + "\x90"));  // the innermost empty array is level 32
  CHECK(check(std::string(32, '\x91') + "\x90") == WireCode::kTooDeep);
  CHECK_FALSE(check(nested_maps(32)));
  CHECK(check(nested_maps(33)) == WireCode::kTooDeep);
  // Depth counts the deepest branch, not the number of containers.
  std::string wide = "\x92" + nested_arrays(31) + nested_arrays(31);
  CHECK_FALSE(check(wide));
  std::string deeper_second = "\x92" + nested_arrays(31) + nested_arrays(32);
  CHECK(check(deeper_second) == WireCode::kTooDeep);
}

TEST_CASE("value validator: a value nested 100,000 levels is refused at once") {
  const std::string deep = nested_arrays(100'000);
  const auto started = std::chrono::steady_clock::now();
  CHECK(check(deep) == WireCode::kTooDeep);
  // Not asserted as a timing; only that it does not walk (or recurse into) the rest.
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(1));
}

TEST_CASE("value validator: encoded size 10,485,760 is accepted and one byte more is TOO_LARGE") {
  const std::size_t header = 5;  // bin32
  std::string ok = packed(
      [&](MsgpackWriter& w) { w.pack_bin(static_cast<std::uint32_t>(kMaxValueBytes - header)); });
  ok.resize(kMaxValueBytes, 'x');
  REQUIRE(ok.size() == 10'485'760);
  CHECK_FALSE(check(ok));
  std::string over = packed([&](MsgpackWriter& w) {
    w.pack_bin(static_cast<std::uint32_t>(kMaxValueBytes - header + 1));
  });
  over.resize(kMaxValueBytes + 1, 'x');
  CHECK(check(over) == WireCode::kTooLarge);
}

TEST_CASE("value validator: disallowed types are BAD_TYPE") {
  SECTION("an extension type other than -1") {
    CHECK(check(ext(5, "abcd")) == WireCode::kBadType);
  }
  SECTION("ext -1 that is not a timestamp") {
    CHECK(check(ext(-1, "a")) == WireCode::kBadType);
    CHECK(check(ext(-1, std::string(16, '\0'))) == WireCode::kBadType);
    // 96-bit form with nanoseconds over 999,999,999.
    CHECK(check(ext(-1, std::string("\x3b\x9a\xca\x00", 4) + std::string(8, '\0'))) ==
          WireCode::kBadType);
  }
  SECTION("invalid UTF-8 in a string, anywhere") {
    CHECK(check("\xa2\xc3\x28") == WireCode::kBadType);      // bad continuation
    CHECK(check("\xa2\xc0\xaf") == WireCode::kBadType);      // overlong
    CHECK(check("\xa3\xed\xa0\x80") == WireCode::kBadType);  // surrogate
    CHECK(check("\x91\x91\xa1\xff") == WireCode::kBadType);  // nested
    CHECK(check("\x81\xa1\xff\x01") == WireCode::kBadType);  // as a map key
  }
  SECTION("map keys that are neither strings nor integers") {
    CHECK(check("\x81\xc4\x01k\x01") == WireCode::kBadType);  // bin key
    CHECK(check("\x81\xc0\x01") == WireCode::kBadType);       // nil key
    CHECK(check("\x81\xc3\x01") == WireCode::kBadType);       // bool key
    CHECK(check(std::string("\x81\xcb", 2) + std::string(8, '\0') + "\x01") ==
          WireCode::kBadType);                           // float key
    CHECK(check("\x81\x90\x01") == WireCode::kBadType);  // array key
    CHECK(check("\x81\x80\x01") == WireCode::kBadType);  // map key
  }
  SECTION("a bad type anywhere in a map's values") {
    CHECK(check("\x82\xa1"
                "a\x01\xa1"
                "b" +
                ext(7, "xy")) == WireCode::kBadType);
  }
}

TEST_CASE("value validator: malformed bytes are refused without trusting claimed lengths") {
  // A 5-byte array header claiming 2^32-1 elements, and nothing else.
  CHECK(check(std::string("\xdd\xff\xff\xff\xff", 5)) == WireCode::kBadRequest);
  CHECK(check(std::string("\xdf\xff\xff\xff\xff", 5)) == WireCode::kBadRequest);
  CHECK(check(std::string("\xdb\xff\xff\xff\xff", 5)) ==
        WireCode::kBadRequest);                       // str32, 4 GiB claimed
  CHECK(check("\xc1") == WireCode::kBadRequest);      // reserved byte
  CHECK(check("\x01\x02") == WireCode::kBadRequest);  // trailing bytes
  CHECK(check("") == WireCode::kBadRequest);
  const auto e = validate_value(as_bytes(std::string("\x92\x01", 2)));
  REQUIRE(e);
  CHECK(e->message.rfind("value: ", 0) == 0);
}

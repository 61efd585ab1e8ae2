#include <catch2/catch.hpp>

#include "ipc/args.hpp"
#include "ipc/msgpack_writer.hpp"

using namespace durationd::ipc;

namespace {
std::string map_of(auto&& fill, std::uint32_t pairs) {
  std::string out;
  StringSink sink(out);
  MsgpackWriter w(sink);
  w.pack_map(pairs);
  fill(w);
  return out;
}
}  // namespace

TEST_CASE("args: typed getters, nil as absent, last key wins") {
  const std::string m = map_of(
      [](MsgpackWriter& w) {
        pack_str(w, "key");
        pack_str(w, "k1");
        pack_str(w, "ttl_ms");
        w.pack_uint64(500);
        pack_str(w, "durable");
        w.pack_true();
        pack_str(w, "ns");
        w.pack_nil();
        pack_str(w, "key");
        pack_str(w, "k2");
      },
      5);
  ArgsReader args(as_bytes(m));
  CHECK(args.str("key", {.min = 1, .max = 1024, .required = true}) == "k2");
  CHECK(args.uint("ttl_ms") == 500u);
  CHECK(args.boolean("durable") == true);
  CHECK_FALSE(args.str("ns").has_value());
  CHECK_FALSE(args.failed());
}

TEST_CASE("args: a key that is an array or map is skipped whole") {
  // {["key"]: "ttl_ms", "key": "k"}: the array key's element was taken for a value and
  // its "value" for the next key (found by fuzz_envelope).
  const std::string m = map_of(
      [](MsgpackWriter& w) {
        w.pack_array(1);
        pack_str(w, "key");
        pack_str(w, "ttl_ms");
        pack_str(w, "key");
        pack_str(w, "k");
      },
      2);
  ArgsReader args(as_bytes(m));
  CHECK(args.str("key") == "k");
  CHECK_FALSE(args.uint("ttl_ms").has_value());
  CHECK_FALSE(args.failed());
}

TEST_CASE("args: errors name the field and use the contract's codes") {
  const std::string m = map_of(
      [](MsgpackWriter& w) {
        pack_str(w, "key");
        w.pack_int(5);
        pack_str(w, "long");
        pack_str(w, std::string(65, 'x'));
        pack_str(w, "ns");
        pack_str(w, "bad/ns");
        pack_str(w, "n");
        w.pack_uint64(2000);
      },
      4);
  auto first_error = [&](auto&& read) {
    ArgsReader args(as_bytes(m));
    read(args);
    REQUIRE(args.failed());
    return args.error();
  };
  auto e = first_error([](ArgsReader& a) { a.str("key"); });
  CHECK(e.code == WireCode::kBadRequest);
  CHECK(e.message == "key: must be a string");
  e = first_error([](ArgsReader& a) { a.str("long", {.max = 64}); });
  CHECK(e.code == WireCode::kTooLarge);
  CHECK(e.message.rfind("long:", 0) == 0);
  e = first_error([](ArgsReader& a) { a.str("ns", {.alphabet = "abcdefghijklmnopqrstuvwxyz"}); });
  CHECK(e.code == WireCode::kBadRequest);
  e = first_error([](ArgsReader& a) { a.uint("n", {.max = 1000}); });
  CHECK(e.message == "n: must be in 0..1000");
  e = first_error([](ArgsReader& a) { a.str("missing", {.required = true}); });
  CHECK(e.message == "missing: missing");
  // The first problem is the one reported.
  e = first_error([](ArgsReader& a) {
    a.uint("n", {.max = 10});
    a.str("key");
  });
  CHECK(e.message.rfind("n:", 0) == 0);
}

TEST_CASE("args: string arrays and timestamps") {
  const std::string m = map_of(
      [](MsgpackWriter& w) {
        pack_str(w, "tags");
        w.pack_array(2);
        pack_str(w, "a");
        pack_str(w, "b");
        pack_str(w, "at");
        pack_timestamp(w, {1'700'000'000, 5});
      },
      2);
  ArgsReader args(as_bytes(m));
  const auto tags = args.str_array("tags", 16, {.min = 1, .max = 64});
  REQUIRE(tags);
  CHECK(tags->size() == 2u);
  CHECK(args.timestamp("at") == Timestamp{1'700'000'000, 5});
  CHECK(args.str_array("tags", 1, {}) == std::nullopt);
  CHECK(args.failed());
}

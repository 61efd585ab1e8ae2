#include <catch2/catch.hpp>

#include "ipc/envelope.hpp"
#include "ipc/json_codec.hpp"
#include "ipc/msgpack_writer.hpp"

using namespace durationd::ipc;

namespace {
std::string packed(auto&& pack) {
  std::string out;
  StringSink sink(out);
  MsgpackWriter w(sink);
  pack(w);
  return out;
}
}  // namespace

TEST_CASE("envelope: op, id and args are read in any order, and unknown keys are ignored") {
  const std::string body = packed([](MsgpackWriter& w) {
    w.pack_map(4);
    pack_str(w, "args");
    w.pack_map(1);
    pack_str(w, "key");
    pack_str(w, "k");
    pack_str(w, "zzz");
    w.pack_array(1);
    w.pack_nil();
    pack_str(w, "id");
    w.pack_uint64(42);
    pack_str(w, "op");
    pack_str(w, "cache.get");
  });
  const auto r = parse_request(as_bytes(body));
  REQUIRE(r.has_value());
  CHECK(r->op == "cache.get");
  CHECK(r->id == 42u);
  CHECK(r->args.size() == 7u);
}

TEST_CASE("envelope: a key that is an array or map is skipped whole") {
  // {["x"]: "op", "ping": 0}: read with next(), the array key's element was taken for a
  // map value, "op" for a key and "ping" for its op (found by fuzz_envelope).
  const std::string body = packed([](MsgpackWriter& w) {
    w.pack_map(3);
    w.pack_array(1);
    pack_str(w, "x");
    pack_str(w, "op");
    pack_str(w, "ping");
    w.pack_uint64(0);
    w.pack_map(1);  // a map key holding what looks like an id
    pack_str(w, "id");
    w.pack_uint64(7);
    w.pack_uint64(9);
  });
  const auto r = parse_request(as_bytes(body));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().error.message == "op: missing");
  CHECK_FALSE(r.error().id.has_value());
}

TEST_CASE("envelope: failures name the field and echo only a valid id") {
  auto fail = [](auto&& pack) {
    const std::string body = packed(pack);
    auto r = parse_request(as_bytes(body));
    REQUIRE_FALSE(r.has_value());
    return r.error();
  };
  auto e = fail([](MsgpackWriter& w) { w.pack_array(0); });
  CHECK(e.error.code == WireCode::kBadRequest);
  CHECK_FALSE(e.id);

  e = fail([](MsgpackWriter& w) {
    w.pack_map(2);
    pack_str(w, "op");
    w.pack_nil();
    pack_str(w, "id");
    w.pack_uint64(kMaxRequestId + 1);
  });
  CHECK(e.error.message.rfind("id:", 0) == 0);
  CHECK_FALSE(e.id);

  e = fail([](MsgpackWriter& w) {
    w.pack_map(2);
    pack_str(w, "op");
    w.pack_nil();
    pack_str(w, "id");
    w.pack_uint64(kMaxRequestId);
  });
  CHECK(e.error.message.rfind("op:", 0) == 0);
  CHECK(e.id == kMaxRequestId);

  e = fail([](MsgpackWriter& w) {
    w.pack_map(3);
    pack_str(w, "op");
    pack_str(w, "x");
    pack_str(w, "id");
    w.pack_uint64(1);
    pack_str(w, "args");
    pack_str(w, "notamap");
  });
  CHECK(e.error.message.rfind("args:", 0) == 0);
  CHECK(e.id == 1u);
}

TEST_CASE("responses: binary and JSON carry id, ok and result or error in that order") {
  const std::string result = packed([](MsgpackWriter& w) { pack_str(w, "pong"); });
  std::string out;
  append_ok_response(Encoding::kJsonLines, 3, as_bytes(result), out);
  CHECK(out == "{\"id\":3,\"ok\":true,\"result\":\"pong\"}\n");
  out.clear();
  append_error_response(Encoding::kJsonLines, std::nullopt, {WireCode::kNotFound, "no \"k\""}, out);
  CHECK(out == "{\"ok\":false,\"error\":{\"code\":\"NOT_FOUND\",\"message\":\"no \\\"k\\\"\"}}\n");

  out.clear();
  append_ok_response(Encoding::kBinary, 3, as_bytes(result), out);
  REQUIRE(out.size() > 4);
  std::string json;
  REQUIRE(msgpack_to_json(as_bytes(std::string_view(out).substr(4)), json));
  CHECK(json == "{\"id\":3,\"ok\":true,\"result\":\"pong\"}");
}

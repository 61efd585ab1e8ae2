#include <catch2/catch.hpp>

#include "ipc/msgpack_reader.hpp"
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

TEST_CASE("msgpack reader: scalars in every width") {
  const std::string bytes = packed([](MsgpackWriter& w) {
    w.pack_uint64(0);
    w.pack_uint64(200);
    w.pack_uint64(70000);
    w.pack_uint64(UINT64_MAX);
    w.pack_int64(-1);
    w.pack_int64(INT64_MIN);
    w.pack_float(1.5f);  // not integral, so msgpack-cxx keeps it a float32
    pack_float64(w, -2.25);
    pack_float64(w, 2.0);
    w.pack_nil();
    w.pack_true();
  });
  MsgpackReader r(as_bytes(bytes));
  MsgToken t;
  REQUIRE(r.next(t));
  CHECK((t.kind == MsgKind::kUint && t.uint == 0));
  REQUIRE(r.next(t));
  CHECK(t.uint == 200);
  REQUIRE(r.next(t));
  CHECK(t.uint == 70000);
  REQUIRE(r.next(t));
  CHECK(t.uint == UINT64_MAX);
  REQUIRE(r.next(t));
  CHECK((t.kind == MsgKind::kInt && t.sint == -1));
  REQUIRE(r.next(t));
  CHECK(t.sint == INT64_MIN);
  REQUIRE(r.next(t));
  CHECK((t.kind == MsgKind::kFloat32 && t.real == 1.5));
  REQUIRE(r.next(t));
  CHECK((t.kind == MsgKind::kFloat64 && t.real == -2.25));
  REQUIRE(r.next(t));
  CHECK((t.kind == MsgKind::kFloat64 && t.real == 2.0));  // integral, still a float
  REQUIRE(r.next(t));
  CHECK(t.kind == MsgKind::kNil);
  REQUIRE(r.next(t));
  CHECK((t.kind == MsgKind::kBool && t.boolean));
  CHECK(r.at_end());
  CHECK_FALSE(r.next(t));
}

TEST_CASE("msgpack reader: a non-negative value in a signed encoding reads as uint") {
  const std::string int8_five("\xd0\x05", 2);
  MsgpackReader r(as_bytes(int8_five));
  MsgToken t;
  REQUIRE(r.next(t));
  CHECK(t.kind == MsgKind::kUint);
  CHECK(t.uint == 5);
}

TEST_CASE("msgpack reader: strings, bins, exts and containers") {
  const std::string bytes = packed([](MsgpackWriter& w) {
    w.pack_map(1);
    pack_str(w, "k");
    w.pack_array(2);
    w.pack_bin(3);
    w.pack_bin_body("\x00\x01\x02", 3);
    w.pack_ext(4, -1);
    w.pack_ext_body("\x00\x00\x00\x01", 4);
  });
  MsgpackReader r(as_bytes(bytes));
  MsgToken t;
  REQUIRE(r.next(t));
  CHECK((t.kind == MsgKind::kMap && t.count == 1));
  REQUIRE(r.next(t));
  CHECK(as_chars(t.payload) == "k");
  REQUIRE(r.next(t));
  CHECK((t.kind == MsgKind::kArray && t.count == 2));
  REQUIRE(r.next(t));
  CHECK((t.kind == MsgKind::kBin && t.payload.size() == 3));
  REQUIRE(r.next(t));
  CHECK((t.kind == MsgKind::kExt && t.ext_type == -1 && t.payload.size() == 4));
  CHECK(r.at_end());
}

TEST_CASE("msgpack reader: skip and raw read cover whole values") {
  const std::string bytes = packed([](MsgpackWriter& w) {
    w.pack_array(3);
    w.pack_int(1);
    w.pack_map(1);
    pack_str(w, "a");
    w.pack_array(0);
    pack_str(w, "tail");
    w.pack_int(99);
  });
  MsgpackReader r(as_bytes(bytes));
  Bytes raw;
  REQUIRE(r.read_raw(raw));
  CHECK(raw.size() == bytes.size() - 1);
  MsgToken t;
  REQUIRE(r.next(t));
  CHECK(t.uint == 99);
}

TEST_CASE("msgpack reader: a map key is read whole, scalar or container") {
  // {[1, 2]: 3, "k": 6}
  const std::string m = "\x82\x92\x01\x02\x03\xa1k\x06";
  MsgpackReader r(as_bytes(m));
  MsgToken t;
  REQUIRE(r.next(t));
  REQUIRE(r.next_key(t));
  CHECK((t.kind == MsgKind::kArray && t.count == 2));
  REQUIRE(r.next(t));
  CHECK(t.uint == 3u);
  REQUIRE(r.next_key(t));
  CHECK((t.kind == MsgKind::kStr && as_chars(t.payload) == "k"));
  REQUIRE(r.next(t));
  CHECK(t.uint == 6u);
  CHECK(r.at_end());
  const std::string truncated = "\x81\x92\x01";
  MsgpackReader bad(as_bytes(truncated));
  REQUIRE(bad.next(t));
  CHECK_FALSE(bad.next_key(t));
}

TEST_CASE("single-object check: well-formed, truncated, reserved, trailing, hostile counts") {
  const std::string ok = packed([](MsgpackWriter& w) {
    w.pack_map(1);
    pack_str(w, "op");
    pack_str(w, "ping");
  });
  CHECK(is_single_msgpack_object(as_bytes(ok)));
  CHECK_FALSE(is_single_msgpack_object(as_bytes(ok + "\xc0")));
  CHECK_FALSE(is_single_msgpack_object(as_bytes(ok.substr(0, ok.size() - 1))));
  CHECK_FALSE(is_single_msgpack_object(as_bytes(std::string("\xc1"))));
  CHECK_FALSE(is_single_msgpack_object(as_bytes(std::string("\xdd\xff\xff\xff\xff"))));
  CHECK_FALSE(is_single_msgpack_object(as_bytes(std::string("\xdf\xff\xff\xff\xff"))));
  CHECK_FALSE(is_single_msgpack_object(as_bytes(std::string("\xc6\xff\xff\xff\xff"))));
  CHECK_FALSE(is_single_msgpack_object(Bytes{}));
}

TEST_CASE("single-object check: 100,000 levels of nesting need no stack") {
  std::string deep(100'000, '\x91');  // fixarray of one element, nested
  deep.push_back('\xc0');
  CHECK(is_single_msgpack_object(as_bytes(deep)));
  deep.pop_back();
  CHECK_FALSE(is_single_msgpack_object(as_bytes(deep)));
}

// The cache value validator (ipc/value_validator.cpp) against an oracle: msgpack-cxx
// decides whether the bytes are one well-formed object, and a plain recursive walk of
// the decoded object applies the contract's rules (protocol.md, "Values") in the same
// pre-order, so both must name the same first problem (or none). The zero-allocation
// reader's is_single_msgpack_object must agree with msgpack-cxx, and every accepted
// value must map to valid JSON (msgpack_to_json, the JSON-lines side of a cache.get).
#include <boost/json/parse.hpp>

#include "ipc/json_codec.hpp"
#include "ipc/timestamp.hpp"
#include "ipc/value_validator.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace durationd;
using durationd::fuzz::str_of;
using durationd::fuzz::utf8_oracle;
using ipc::WireCode;

std::uint64_t be(const char* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// The msgpack timestamp extension's three forms; nanoseconds at most 999,999,999.
bool valid_timestamp(const msgpack::object_ext& ext) {
  const char* p = ext.data();
  switch (ext.size) {
    case 4:
      return true;
    case 8:
      return (be(p, 8) >> 34) <= 999'999'999;
    case 12:
      return be(p, 4) <= 999'999'999;
    default:
      return false;
  }
}

// The first rule the value breaks, in pre-order; `open` is how many containers enclose it.
std::optional<WireCode> verdict(const msgpack::object& o, unsigned open) {
  switch (o.type) {
    case msgpack::type::STR:
      if (!utf8_oracle(str_of(o))) return WireCode::kBadType;
      return std::nullopt;
    case msgpack::type::EXT:
      if (o.via.ext.type() != -1 || !valid_timestamp(o.via.ext)) return WireCode::kBadType;
      return std::nullopt;
    case msgpack::type::ARRAY:
      if (open == ipc::kMaxValueDepth) return WireCode::kTooDeep;
      for (std::uint32_t i = 0; i < o.via.array.size; ++i)
        if (auto v = verdict(o.via.array.ptr[i], open + 1)) return v;
      return std::nullopt;
    case msgpack::type::MAP:
      if (open == ipc::kMaxValueDepth) return WireCode::kTooDeep;
      for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        const auto& [key, value] = o.via.map.ptr[i];
        if (key.type != msgpack::type::STR && key.type != msgpack::type::POSITIVE_INTEGER &&
            key.type != msgpack::type::NEGATIVE_INTEGER)
          return WireCode::kBadType;
        if (auto v = verdict(key, open + 1)) return v;
        if (auto v = verdict(value, open + 1)) return v;
      }
      return std::nullopt;
    default:  // nil, bool, integers, floats, bin
      return std::nullopt;
  }
}

// JSON mode writes each timestamp RFC 3339 can hold as {"$ts": RFC 3339}: the text must
// read back as the same instant (the others are null; formatting them must still work).
void check_timestamps(const msgpack::object& o) {
  if (o.type == msgpack::type::EXT) {
    ipc::MsgToken t;
    t.kind = ipc::MsgKind::kExt;
    t.ext_type = o.via.ext.type();
    t.payload = ipc::as_bytes({o.via.ext.data(), o.via.ext.size});
    const auto ts = ipc::decode_timestamp(t);
    FUZZ_CHECK(ts.has_value());
    const std::string text = ipc::format_rfc3339(*ts);
    FUZZ_CHECK(ipc::parse_rfc3339(text) == (ipc::has_rfc3339_form(*ts) ? ts : std::nullopt));
  } else if (o.type == msgpack::type::ARRAY) {
    for (std::uint32_t i = 0; i < o.via.array.size; ++i) check_timestamps(o.via.array.ptr[i]);
  } else if (o.type == msgpack::type::MAP) {
    for (std::uint32_t i = 0; i < o.via.map.size; ++i) check_timestamps(o.via.map.ptr[i].val);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ipc::Bytes value = durationd::fuzz::bytes_of(data, size);
  const auto problem = ipc::validate_value(value);
  const auto decoded = durationd::fuzz::unpack_one(value);

  FUZZ_CHECK(ipc::is_single_msgpack_object(value) == decoded.has_value());
  if (decoded) {
    const auto expected = verdict(decoded->get(), 0);
    FUZZ_CHECK(problem.has_value() == expected.has_value());
    if (problem) FUZZ_CHECK(problem->code == *expected);
  } else {
    // Malformed: refused, for that or for a problem found before the damage.
    FUZZ_CHECK(problem.has_value());
  }
  if (problem) {
    FUZZ_CHECK(problem->message.rfind("value: ", 0) == 0);
    return 0;
  }

  check_timestamps(decoded->get());
  std::string json;
  FUZZ_CHECK(ipc::msgpack_to_json(value, json));
  boost::system::error_code ec;
  boost::json::parse_options unlimited;
  unlimited.max_depth = 4 * ipc::kMaxValueDepth;
  boost::json::parse(json, ec, {}, unlimited);
  FUZZ_CHECK(!ec);
  return 0;
}

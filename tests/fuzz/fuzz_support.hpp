// What the fuzz targets share: a check that aborts (libFuzzer then keeps the input),
// msgpack-cxx as an independent oracle for the zero-allocation reader in ipc/, an
// independent UTF-8 check, and checks that a response is one well-formed envelope.
#pragma once

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <msgpack.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "ipc/envelope.hpp"
#include "ipc/msgpack_reader.hpp"
#include "ipc/wire_error.hpp"

namespace durationd::fuzz {

using ipc::Bytes;

[[noreturn]] inline void fail(const char* what, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n", file, line, what);
  std::abort();
}
#define FUZZ_CHECK(cond) ((cond) ? void(0) : ::durationd::fuzz::fail(#cond, __FILE__, __LINE__))

inline Bytes bytes_of(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const std::byte*>(data), size};
}

// msgpack-cxx's verdict: the object when `data` is exactly one well-formed msgpack
// object, else nullopt. Limits scale with the input (every element takes a byte), so a
// claimed count never makes it allocate more than the input could hold.
inline std::optional<msgpack::object_handle> unpack_one(Bytes data) {
  const auto n = static_cast<std::size_t>(data.size());
  const msgpack::unpack_limit limit(n, n / 2, n, n, n, n + 1);
  std::size_t off = 0;
  try {
    auto handle = msgpack::unpack(reinterpret_cast<const char*>(data.data()), n, off, nullptr,
                                  nullptr, limit);
    if (off != n) return std::nullopt;
    return handle;
  } catch (const msgpack::unpack_error&) {
    return std::nullopt;
  }
}

inline std::string_view str_of(const msgpack::object& o) {
  return {o.via.str.ptr, o.via.str.size};
}

// Equal values (msgpack-cxx's operator== says NaN != NaN): the same bytes once re-packed.
inline bool same_value(const msgpack::object& a, const msgpack::object& b) {
  msgpack::sbuffer pa, pb;
  msgpack::pack(pa, a);
  msgpack::pack(pb, b);
  return std::string_view(pa.data(), pa.size()) == std::string_view(pb.data(), pb.size());
}

// RFC 3629 by the byte ranges of the Unicode standard's table of well-formed sequences
// (Table 3-7), written independently of ipc/utf8.cpp so each checks the other.
inline bool utf8_oracle(std::string_view s) {
  auto in = [](unsigned char c, unsigned lo, unsigned hi) { return c >= lo && c <= hi; };
  for (std::size_t i = 0; i < s.size();) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const std::size_t left = s.size() - i;
    if (b(0) <= 0x7f) {
      i += 1;
    } else if (in(b(0), 0xc2, 0xdf)) {
      if (left < 2 || !in(b(1), 0x80, 0xbf)) return false;
      i += 2;
    } else if (in(b(0), 0xe0, 0xef)) {
      const unsigned lo = b(0) == 0xe0 ? 0xa0 : 0x80, hi = b(0) == 0xed ? 0x9f : 0xbf;
      if (left < 3 || !in(b(1), lo, hi) || !in(b(2), 0x80, 0xbf)) return false;
      i += 3;
    } else if (in(b(0), 0xf0, 0xf4)) {
      const unsigned lo = b(0) == 0xf0 ? 0x90 : 0x80, hi = b(0) == 0xf4 ? 0x8f : 0xbf;
      if (left < 4 || !in(b(1), lo, hi) || !in(b(2), 0x80, 0xbf) || !in(b(3), 0x80, 0xbf))
        return false;
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

inline bool is_wire_code_name(std::string_view name) {
  for (auto c = static_cast<unsigned>(ipc::WireCode::kBadFrame);
       c <= static_cast<unsigned>(ipc::WireCode::kInternal); ++c)
    if (ipc::wire_code_name(static_cast<ipc::WireCode>(c)) == name) return true;
  return false;
}

// What a response said, once it is known to be a well-formed envelope.
struct Response {
  std::optional<std::uint64_t> id;
  bool ok = false;
  std::string code;  // when !ok
};

// A binary response body: a map of exactly "id"? (uint < 2^53), "ok" (bool) and either
// "result" (ok) or "error" {"code": a contract code, "message": UTF-8 string}.
inline Response check_msgpack_response(Bytes body) {
  const auto handle = unpack_one(body);
  FUZZ_CHECK(handle.has_value());
  const msgpack::object& top = handle->get();
  FUZZ_CHECK(top.type == msgpack::type::MAP);
  Response r;
  bool has_ok = false, has_result = false, has_error = false;
  for (std::uint32_t i = 0; i < top.via.map.size; ++i) {
    const auto& [key, value] = top.via.map.ptr[i];
    FUZZ_CHECK(key.type == msgpack::type::STR);
    const std::string_view name = str_of(key);
    if (name == "id") {
      FUZZ_CHECK(!r.id && value.type == msgpack::type::POSITIVE_INTEGER &&
                 value.via.u64 <= ipc::kMaxRequestId);
      r.id = value.via.u64;
    } else if (name == "ok") {
      FUZZ_CHECK(!has_ok && value.type == msgpack::type::BOOLEAN);
      has_ok = true;
      r.ok = value.via.boolean;
    } else if (name == "result") {
      FUZZ_CHECK(!has_result);
      has_result = true;
    } else {
      FUZZ_CHECK(name == "error" && !has_error && value.type == msgpack::type::MAP &&
                 value.via.map.size == 2);
      has_error = true;
      for (std::uint32_t j = 0; j < 2; ++j) {
        const auto& [k, v] = value.via.map.ptr[j];
        FUZZ_CHECK(k.type == msgpack::type::STR && v.type == msgpack::type::STR);
        if (str_of(k) == "code") {
          FUZZ_CHECK(is_wire_code_name(str_of(v)));
          r.code = str_of(v);
        } else {
          FUZZ_CHECK(str_of(k) == "message" && utf8_oracle(str_of(v)));
        }
      }
      FUZZ_CHECK(!r.code.empty());
    }
  }
  FUZZ_CHECK(has_ok && (r.ok ? has_result && !has_error : has_error && !has_result));
  return r;
}

// A JSON-lines response: one compact line of valid UTF-8 JSON, the same envelope.
inline Response check_json_response(std::string_view line) {
  FUZZ_CHECK(line.find('\n') == std::string_view::npos);
  boost::system::error_code ec;
  boost::json::parse_options deep;  // a result may nest as deep as a value (32) and more
  deep.max_depth = 4096;
  const boost::json::value v = boost::json::parse(line, ec, {}, deep);
  FUZZ_CHECK(!ec && v.is_object());
  const auto& o = v.get_object();
  Response r;
  if (const auto* id = o.if_contains("id")) {
    FUZZ_CHECK((id->is_uint64() || id->is_int64()) &&
               id->to_number<std::uint64_t>() <= ipc::kMaxRequestId);
    r.id = id->to_number<std::uint64_t>();
  }
  const auto* ok = o.if_contains("ok");
  FUZZ_CHECK(ok != nullptr && ok->is_bool());
  r.ok = ok->get_bool();
  FUZZ_CHECK(o.size() == (r.id ? 3u : 2u));
  if (r.ok) {
    FUZZ_CHECK(o.contains("result"));
  } else {
    const auto* error = o.if_contains("error");
    FUZZ_CHECK(error != nullptr && error->is_object() && error->get_object().size() == 2);
    const auto* code = error->get_object().if_contains("code");
    const auto* message = error->get_object().if_contains("message");
    FUZZ_CHECK(code != nullptr && code->is_string() && is_wire_code_name(code->get_string()));
    FUZZ_CHECK(message != nullptr && message->is_string());
    r.code = code->get_string();
  }
  return r;
}

// The id a request carries by the contract: the last "id" key of a top-level map, when
// it is an unsigned integer below 2^53 (else none is echoed).
inline std::optional<std::uint64_t> valid_id_of(const msgpack::object& request) {
  if (request.type != msgpack::type::MAP) return std::nullopt;
  const msgpack::object* id = nullptr;
  for (std::uint32_t i = 0; i < request.via.map.size; ++i) {
    const auto& [key, value] = request.via.map.ptr[i];
    if (key.type == msgpack::type::STR && str_of(key) == "id") id = &value;
  }
  if (id == nullptr || id->type != msgpack::type::POSITIVE_INTEGER ||
      id->via.u64 > ipc::kMaxRequestId)
    return std::nullopt;
  return id->via.u64;
}

}  // namespace durationd::fuzz

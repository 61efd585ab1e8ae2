#include "ipc/json_codec.hpp"

#include <charconv>
#include <cmath>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_stack.hpp>

#include "ipc/base64.hpp"
#include "ipc/msgpack_writer.hpp"
#include "ipc/timestamp.hpp"
#include "ipc/utf8.hpp"

namespace durationd::ipc {
namespace json = boost::json;
namespace {

WireError bad_request(std::string message) { return {WireCode::kBadRequest, std::move(message)}; }

// Builds a json::value as Boost.JSON's own parser does (its detail::handler), except
// that a double is read again from its text with std::from_chars, which rounds exactly:
// Boost 1.81 reads some long numbers as a neighbouring double (found by fuzz_json_lines:
// -9.223372233720369e+23 became the double one ulp away), and a value must come back as
// the number that was sent.
struct ValueBuilder {
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  json::value_stack st;
  std::string number;  // the text of a number arriving in parts

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) { return true; }
  bool on_object_end(std::size_t n, boost::system::error_code&) { return st.push_object(n), true; }
  bool on_array_begin(boost::system::error_code&) { return true; }
  bool on_array_end(std::size_t n, boost::system::error_code&) { return st.push_array(n), true; }
  bool on_key_part(json::string_view s, std::size_t, boost::system::error_code&) { return st.push_chars(s), true; }
  bool on_key(json::string_view s, std::size_t, boost::system::error_code&) { return st.push_key(s), true; }
  bool on_string_part(json::string_view s, std::size_t, boost::system::error_code&) {
    return st.push_chars(s), true;
  }
  bool on_string(json::string_view s, std::size_t, boost::system::error_code&) { return st.push_string(s), true; }
  bool on_number_part(json::string_view s, boost::system::error_code&) { return number.append(s), true; }
  bool on_int64(std::int64_t i, json::string_view, boost::system::error_code&) {
    number.clear();
    return st.push_int64(i), true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, boost::system::error_code&) {
    number.clear();
    return st.push_uint64(u), true;
  }
  bool on_double(double d, json::string_view s, boost::system::error_code&) {
    number.append(s);
    double exact = 0;
    const char* end = number.data() + number.size();
    // Out of range (1e400): keep Boost's reading (infinity, or zero).
    if (auto [p, ec] = std::from_chars(number.data(), end, exact); ec == std::errc() && p == end) d = exact;
    number.clear();
    return st.push_double(d), true;
  }
  bool on_bool(bool b, boost::system::error_code&) { return st.push_bool(b), true; }
  bool on_null(boost::system::error_code&) { return st.push_null(), true; }
  bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_comment(json::string_view, boost::system::error_code&) { return true; }
};

boost::system::result<void, WireError> pack_json(const json::value& v, MsgpackWriter& w);

boost::system::result<void, WireError> pack_map(const json::object& o, MsgpackWriter& w) {
  w.pack_map(static_cast<std::uint32_t>(o.size()));
  for (const auto& [key, inner] : o) {
    pack_str(w, key);
    if (auto r = pack_json(inner, w); !r) return r;
  }
  return {};
}

// A map with exactly the key `$bin` or `$ts` is a typed value, not a map.
boost::system::result<void, WireError> pack_json(const json::value& v, MsgpackWriter& w) {
  switch (v.kind()) {
    case json::kind::null: w.pack_nil(); return {};
    case json::kind::bool_: v.get_bool() ? w.pack_true() : w.pack_false(); return {};
    case json::kind::int64: w.pack_int64(v.get_int64()); return {};
    case json::kind::uint64: w.pack_uint64(v.get_uint64()); return {};
    case json::kind::double_: pack_float64(w, v.get_double()); return {};
    case json::kind::string: pack_str(w, v.get_string()); return {};
    case json::kind::array: {
      const auto& a = v.get_array();
      w.pack_array(static_cast<std::uint32_t>(a.size()));
      for (const auto& e : a) {
        if (auto r = pack_json(e, w); !r) return r;
      }
      return {};
    }
    case json::kind::object: {
      const auto& o = v.get_object();
      if (o.size() == 1) {
        const auto& [key, inner] = *o.begin();
        if (key == "$bin") {
          if (!inner.is_string()) return bad_request("$bin: must be a base64 string");
          auto raw = decode_base64(inner.get_string());
          if (!raw) return bad_request("$bin: not valid base64");
          w.pack_bin(static_cast<std::uint32_t>(raw->size()));
          w.pack_bin_body(raw->data(), static_cast<std::uint32_t>(raw->size()));
          return {};
        }
        if (key == "$ts") {
          if (!inner.is_string()) return bad_request("$ts: must be an RFC 3339 string");
          auto ts = parse_rfc3339(inner.get_string());
          if (!ts) return bad_request("$ts: not an RFC 3339 date-time");
          pack_timestamp(w, *ts);
          return {};
        }
      }
      return pack_map(o, w);
    }
  }
  return bad_request("request: unsupported JSON value");
}

template <typename Int>
void append_int(Int v, std::string& out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

void append_double(double d, std::string& out) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);  // shortest exact form
  const std::string_view text(buf, static_cast<std::size_t>(end - buf));
  out += text;
  // Keep it a float when read back: "2" would come back as an integer.
  if (text.find_first_of(".eEn") == std::string_view::npos) out += ".0";
}

// `in_key`: writing the text of a map key that is not a string (see append_map_key).
bool append_value(MsgpackReader& r, std::string& out, unsigned depth, bool in_key);

bool append_map_key(MsgpackReader& r, std::string& out, unsigned depth, bool in_key) {
  MsgpackReader peek = r;
  MsgToken t;
  if (!peek.next(t)) return false;
  if (t.kind == MsgKind::kStr) {
    r = peek;
    append_json_string(as_chars(t.payload), out);
    return true;
  }
  // JSON keys are strings: any other key is written as the string of its JSON text, so
  // an integer key as its decimal digits (other key types never come from a validated
  // value, but still yield valid JSON). Only the outermost such key's text is escaped:
  // escaping again for each key nested inside a key doubled the backslashes at every
  // level, 2^depth bytes from a few hundred (found by fuzz_envelope).
  if (in_key) return append_value(r, out, depth, true);
  std::string key;
  if (!append_value(r, key, depth, true)) return false;
  append_json_string(key, out);
  return true;
}

bool append_value(MsgpackReader& r, std::string& out, unsigned depth, bool in_key) {
  if (depth > kMaxJsonNesting * 4) return false;  // our own values are far shallower
  MsgToken t;
  if (!r.next(t)) return false;
  switch (t.kind) {
    case MsgKind::kNil: out += "null"; return true;
    case MsgKind::kBool: out += t.boolean ? "true" : "false"; return true;
    case MsgKind::kUint: append_int(t.uint, out); return true;
    case MsgKind::kInt: append_int(t.sint, out); return true;
    case MsgKind::kFloat32:
    case MsgKind::kFloat64: append_double(t.real, out); return true;
    case MsgKind::kStr: append_json_string(as_chars(t.payload), out); return true;
    case MsgKind::kBin:
      out += R"({"$bin":")";
      append_base64(t.payload, out);
      out += "\"}";
      return true;
    case MsgKind::kExt:
      if (auto ts = decode_timestamp(t); ts && has_rfc3339_form(*ts)) {
        out += R"({"$ts":")";
        out += format_rfc3339(*ts);
        out += "\"}";
      } else {
        out += "null";
      }
      return true;
    case MsgKind::kArray:
      out.push_back('[');
      for (std::uint32_t i = 0; i < t.count; ++i) {
        if (i) out.push_back(',');
        if (!append_value(r, out, depth + 1, in_key)) return false;
      }
      out.push_back(']');
      return true;
    case MsgKind::kMap:
      out.push_back('{');
      for (std::uint32_t i = 0; i < t.count; ++i) {
        if (i) out.push_back(',');
        if (!append_map_key(r, out, depth + 1, in_key)) return false;
        out.push_back(':');
        if (!append_value(r, out, depth + 1, in_key)) return false;
      }
      out.push_back('}');
      return true;
  }
  return false;
}

}  // namespace

boost::system::result<void, WireError> json_to_msgpack(std::string_view line, std::string& out) {
  json::parse_options opts;
  opts.max_depth = kMaxJsonNesting;
  json::basic_parser<ValueBuilder> parser(opts);
  parser.handler().st.reset();
  boost::system::error_code ec;
  // As json::parser::write: the whole line is one document and nothing follows it.
  const std::size_t n = parser.write_some(false, line.data(), line.size(), ec);
  if (!ec && n < line.size()) ec = json::error::extra_data;
  if (ec == json::error::too_deep) return WireError{WireCode::kTooDeep, "request: nested too deeply"};
  if (ec) return bad_request("request: not valid JSON (" + ec.message() + ")");
  const json::value v = parser.handler().st.release();
  if (!v.is_object()) return bad_request("request: not a JSON object");
  StringSink sink(out);
  MsgpackWriter writer(sink);
  // The line is the request envelope, a map even when it holds just "$bin" or "$ts"
  // (which made it a bin or a timestamp, found by fuzz_json_lines): those are values.
  return pack_map(v.get_object(), writer);
}

bool msgpack_to_json(Bytes value, std::string& out) {
  MsgpackReader reader(value);
  return append_value(reader, out, 0, false);
}

void append_json_string(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const std::size_t n = utf8_sequence_length(s, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

}  // namespace durationd::ipc

// JSON-lines mode: requests arrive as JSON and are turned into the same msgpack bytes a
// binary client would send, so everything after framing has one code path. Responses
// go the other way. The mapping is the contract's (protocol.md, "Values"):
// {"$bin": base64} <-> bin, {"$ts": RFC 3339} <-> timestamp, integers exact.
#pragma once

#include <string>
#include <string_view>

#include <boost/system/result.hpp>

#include "ipc/msgpack_reader.hpp"
#include "ipc/wire_error.hpp"

namespace durationd::ipc {

// JSON nesting (containers, envelope and $bin/$ts wrappers included) beyond which a
// line is refused with TOO_DEEP before it is fully parsed. The exact value depth limit
// of the contract is checked later, on the msgpack form.
constexpr unsigned kMaxJsonNesting = 64;

// Parses one JSON line (no newline) and appends its msgpack encoding to `out`.
// Errors: BAD_REQUEST (not JSON, not UTF-8, bad $bin/$ts), TOO_DEEP (nesting).
boost::system::result<void, WireError> json_to_msgpack(std::string_view line, std::string& out);

// Appends the JSON text of one msgpack value. Lossy only where JSON has no form:
// integer map keys become decimal strings, NaN and infinities become null, ext types
// other than timestamps and timestamps outside RFC 3339's years 0000..9999 become null.
// Returns false on malformed msgpack.
bool msgpack_to_json(Bytes value, std::string& out);

// Appends `s` as a JSON string literal (quotes included). Invalid UTF-8 is replaced
// with U+FFFD so the output is always valid JSON.
void append_json_string(std::string_view s, std::string& out);

}  // namespace durationd::ipc

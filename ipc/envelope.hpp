// The request envelope (protocol.md, "Envelope"): `op`, `id`, `args`, read straight from
// the frame's msgpack bytes without copying, and the response envelope around a result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/system/result.hpp>

#include "ipc/framing.hpp"
#include "ipc/msgpack_reader.hpp"
#include "ipc/wire_error.hpp"

namespace durationd::ipc {

// Ids are JSON-safe integers: below 2^53.
constexpr std::uint64_t kMaxRequestId = (std::uint64_t{1} << 53) - 1;

// Views into the frame: valid while the frame's bytes are.
struct Request {
  std::string_view op;
  std::optional<std::uint64_t> id;
  Bytes args;  // the raw msgpack map, or empty when absent or nil
};

// A request that cannot be served, with the id to echo when one was valid.
struct RequestFailure {
  WireError error;
  std::optional<std::uint64_t> id;
};

// `body` must already be known to hold exactly one well-formed msgpack object.
// Unknown keys are ignored; `id` is read before anything else can fail, so every
// failure after it still echoes it.
boost::system::result<Request, RequestFailure> parse_request(Bytes body);

// Appends one complete response in the connection's encoding (binary: a frame; JSON:
// a compact line). `result` is the packed msgpack of the result value.
void append_ok_response(Encoding encoding, std::optional<std::uint64_t> id, Bytes result, std::string& out);
void append_error_response(Encoding encoding, std::optional<std::uint64_t> id, const WireError& error,
                           std::string& out);

}  // namespace durationd::ipc

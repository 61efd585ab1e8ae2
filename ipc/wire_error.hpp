// The contract's error codes (protocol.md, "Error codes") and the one error type that
// crosses the transport. Every module's own errors are mapped to these in one place
// (daemon/wire_errors.cpp); the transport itself produces only the framing ones.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace durationd::ipc {

enum class WireCode : std::uint8_t {
  kBadFrame,
  kBadRequest,
  kUnknownOp,
  kTooLarge,
  kTooDeep,
  kBadType,
  kNotFound,
  kConflict,
  kForbidden,
  kBusy,
  kUnavailable,
  kInternal,
};

// The stable string sent on the wire, e.g. "BAD_FRAME".
std::string_view wire_code_name(WireCode code);

struct WireError {
  WireCode code = WireCode::kInternal;
  std::string message;  // for humans; never secrets, values or internal details
};

}  // namespace durationd::ipc

#include "ipc/wire_error.hpp"

namespace durationd::ipc {

std::string_view wire_code_name(WireCode code) {
  switch (code) {
    case WireCode::kBadFrame: return "BAD_FRAME";
    case WireCode::kBadRequest: return "BAD_REQUEST";
    case WireCode::kUnknownOp: return "UNKNOWN_OP";
    case WireCode::kTooLarge: return "TOO_LARGE";
    case WireCode::kTooDeep: return "TOO_DEEP";
    case WireCode::kBadType: return "BAD_TYPE";
    case WireCode::kNotFound: return "NOT_FOUND";
    case WireCode::kConflict: return "CONFLICT";
    case WireCode::kForbidden: return "FORBIDDEN";
    case WireCode::kBusy: return "BUSY";
    case WireCode::kUnavailable: return "UNAVAILABLE";
    case WireCode::kInternal: return "INTERNAL";
  }
  return "INTERNAL";
}

}  // namespace durationd::ipc

// Standard base64 (RFC 4648 §4) for `{"$bin": ...}` in JSON mode.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ipc/msgpack_reader.hpp"

namespace durationd::ipc {

void append_base64(Bytes data, std::string& out);

// Accepts padded or unpadded input; rejects any other character, including whitespace.
std::optional<std::string> decode_base64(std::string_view text);

}  // namespace durationd::ipc

// Validation of cache values (protocol.md, "Values"): the types a value may hold, how
// deep it may nest and how large its encoding may be. Runs over the value's own bytes
// with a fixed-size stack, so a value nested 100,000 levels deep is refused after
// reading 33 headers, and no allocation is ever driven by a length the peer claims.
#pragma once

#include <cstddef>
#include <optional>

#include "ipc/msgpack_reader.hpp"
#include "ipc/wire_error.hpp"

namespace durationd::ipc {

// Encoded size limit of a value: larger is TOO_LARGE.
inline constexpr std::size_t kMaxValueBytes = 10'485'760;
// A scalar is depth 0, a container one more than its deepest element: deeper is TOO_DEEP.
inline constexpr unsigned kMaxValueDepth = 32;

// Checks that `value` is exactly one msgpack value that the cache accepts:
//   - size:  value.size() <= kMaxValueBytes, else TOO_LARGE;
//   - depth: <= kMaxValueDepth, else TOO_DEEP;
//   - types: nil, bool, integer, float, str (valid UTF-8), bin, array, map with str or
//     integer keys, and ext type -1 (timestamp, 4, 8 or 12 bytes, nanoseconds valid);
//     anything else is BAD_TYPE;
//   - malformed or trailing bytes: BAD_REQUEST (a binary frame is already checked to be
//     well-formed, so only a caller's bug gets here).
// The first problem found wins. `field` names the argument in messages ("value").
// Returns nullopt when the value is acceptable. Never allocates on success.
std::optional<WireError> validate_value(Bytes value, std::string_view field = "value");

}  // namespace durationd::ipc

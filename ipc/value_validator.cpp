#include "ipc/value_validator.hpp"

#include <array>
#include <cstdint>
#include <string>

#include "ipc/timestamp.hpp"
#include "ipc/utf8.hpp"

namespace durationd::ipc {
namespace {

WireError error(WireCode code, std::string_view field, std::string_view what) {
  return {code, std::string(field) + ": " + std::string(what)};
}

}  // namespace

std::optional<WireError> validate_value(Bytes value, std::string_view field) {
  if (value.size() > kMaxValueBytes)
    return error(WireCode::kTooLarge, field,
                 "encoded size is over " + std::to_string(kMaxValueBytes) + " bytes");
  if (value.empty()) return error(WireCode::kBadRequest, field, "missing");

  // One frame per open container: the items it still holds (a map counts keys and
  // values separately, so an even count left means a key comes next).
  struct Level {
    std::uint64_t left;
    bool is_map;
  };
  std::array<Level, kMaxValueDepth> stack;
  unsigned depth = 0;

  MsgpackReader reader(value);
  MsgToken t;
  bool first = true;
  while (first || depth > 0) {
    const bool is_key = depth > 0 && stack[depth - 1].is_map && stack[depth - 1].left % 2 == 0;
    if (depth > 0) --stack[depth - 1].left;
    first = false;
    if (!reader.next(t)) return error(WireCode::kBadRequest, field, "malformed msgpack");

    if (is_key && t.kind != MsgKind::kStr && t.kind != MsgKind::kUint && t.kind != MsgKind::kInt)
      return error(WireCode::kBadType, field, "a map key must be a string or an integer");

    switch (t.kind) {
      case MsgKind::kNil:
      case MsgKind::kBool:
      case MsgKind::kUint:
      case MsgKind::kInt:
      case MsgKind::kFloat32:
      case MsgKind::kFloat64:
      case MsgKind::kBin:
        break;
      case MsgKind::kStr:
        if (!is_valid_utf8(as_chars(t.payload)))
          return error(WireCode::kBadType, field, "a string is not valid UTF-8");
        break;
      case MsgKind::kExt:
        if (t.ext_type != kTimestampExtType)
          return error(WireCode::kBadType, field,
                       "extension type " + std::to_string(t.ext_type) +
                           " is not allowed (only -1, timestamps)");
        if (!decode_timestamp(t))
          return error(WireCode::kBadType, field, "malformed timestamp extension");
        break;
      case MsgKind::kArray:
      case MsgKind::kMap: {
        if (depth == kMaxValueDepth)
          return error(WireCode::kTooDeep, field,
                       "nested deeper than " + std::to_string(kMaxValueDepth) + " levels");
        const bool is_map = t.kind == MsgKind::kMap;
        const std::uint64_t items = is_map ? std::uint64_t{t.count} * 2 : t.count;
        // Each item takes at least one byte: a count the bytes cannot hold is malformed.
        if (items > reader.remaining())
          return error(WireCode::kBadRequest, field, "malformed msgpack");
        stack[depth++] = {items, is_map};
        break;
      }
    }
    while (depth > 0 && stack[depth - 1].left == 0) --depth;
  }
  if (!reader.at_end())
    return error(WireCode::kBadRequest, field, "trailing bytes after the value");
  return std::nullopt;
}

}  // namespace durationd::ipc

// The contract's framing (protocol.md, "Two encodings"): which encoding a connection
// speaks, where one binary frame or JSON line ends, and how responses are framed.
// Pure functions over buffered bytes: no I/O, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ipc/msgpack_reader.hpp"

namespace durationd::ipc {

// 2^24 - 1: the first byte of every valid length prefix is then 0x00.
constexpr std::uint32_t kDefaultMaxFrame = 16'777'215;
constexpr std::size_t kFrameHeaderBytes = 4;

enum class Encoding : std::uint8_t { kBinary, kJsonLines, kInvalid };

Encoding encoding_for_first_byte(std::byte first);

enum class FrameStatus : std::uint8_t { kNeedMore, kComplete, kBadLength };

struct FrameScan {
  FrameStatus status = FrameStatus::kNeedMore;
  std::uint32_t body_bytes = 0;  // once the header is in: the length it claims
};

// Looks at the start of `buffered` for one binary frame. The claimed length is checked
// against `max_frame` as soon as the 4 header bytes are in, before anything is
// allocated for the body.
FrameScan scan_binary_frame(Bytes buffered, std::uint32_t max_frame);

enum class LineStatus : std::uint8_t { kNeedMore, kComplete, kTooLong };

struct LineScan {
  LineStatus status = LineStatus::kNeedMore;
  std::size_t line_bytes = 0;     // without the '\n'
  std::size_t scanned_bytes = 0;  // kNeedMore: bytes already known to hold no '\n'
};

// Looks for the end of one JSON line at the start of `buffered`, resuming the search at
// `already_scanned` so a long line arriving in pieces is scanned once.
LineScan scan_json_line(std::string_view buffered, std::size_t already_scanned, std::uint32_t max_frame);

// True for a line that holds nothing but spaces, tabs and a CR: it is skipped.
bool is_blank_line(std::string_view line);

// Appends a 4-byte big-endian length placeholder; returns its offset for
// finish_binary_frame once the body is written.
std::size_t begin_binary_frame(std::string& out);
void finish_binary_frame(std::string& out, std::size_t header_at);

}  // namespace durationd::ipc

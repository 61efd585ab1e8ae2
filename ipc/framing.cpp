#include "ipc/framing.hpp"

#include <cstring>

namespace durationd::ipc {

Encoding encoding_for_first_byte(std::byte first) {
  switch (std::to_integer<char>(first)) {
    case '\0': return Encoding::kBinary;
    case '{': case ' ': case '\t': case '\r': case '\n': return Encoding::kJsonLines;
    default: return Encoding::kInvalid;
  }
}

FrameScan scan_binary_frame(Bytes buffered, std::uint32_t max_frame) {
  FrameScan scan;
  if (buffered.size() < kFrameHeaderBytes) return scan;
  std::uint32_t n = 0;
  for (std::size_t i = 0; i < kFrameHeaderBytes; ++i) n = (n << 8) | std::to_integer<std::uint32_t>(buffered[i]);
  scan.body_bytes = n;
  if (n == 0 || n > max_frame) {
    scan.status = FrameStatus::kBadLength;
  } else if (buffered.size() - kFrameHeaderBytes >= n) {
    scan.status = FrameStatus::kComplete;
  }
  return scan;
}

LineScan scan_json_line(std::string_view buffered, std::size_t already_scanned, std::uint32_t max_frame) {
  LineScan scan;
  const std::size_t nl = buffered.find('\n', already_scanned);
  if (nl == std::string_view::npos) {
    scan.scanned_bytes = buffered.size();
    if (buffered.size() > max_frame) scan.status = LineStatus::kTooLong;
    return scan;
  }
  scan.line_bytes = nl;
  scan.status = nl > max_frame ? LineStatus::kTooLong : LineStatus::kComplete;
  return scan;
}

bool is_blank_line(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

std::size_t begin_binary_frame(std::string& out) {
  const std::size_t at = out.size();
  out.append(kFrameHeaderBytes, '\0');
  return at;
}

void finish_binary_frame(std::string& out, std::size_t header_at) {
  const auto n = static_cast<std::uint32_t>(out.size() - header_at - kFrameHeaderBytes);
  for (std::size_t i = 0; i < kFrameHeaderBytes; ++i)
    out[header_at + i] = static_cast<char>(n >> (8 * (kFrameHeaderBytes - 1 - i)));
}

}  // namespace durationd::ipc

#include <catch2/catch.hpp>

#include "ipc/framing.hpp"

using namespace durationd::ipc;

TEST_CASE("encoding is chosen by the first byte") {
  CHECK(encoding_for_first_byte(std::byte{0}) == Encoding::kBinary);
  for (char c : std::string("{ \t\r\n")) CHECK(encoding_for_first_byte(std::byte(c)) == Encoding::kJsonLines);
  for (char c : std::string("[\"aG\x01\xff")) CHECK(encoding_for_first_byte(std::byte(c)) == Encoding::kInvalid);
}

TEST_CASE("binary frame scan checks the length before the body arrives") {
  CHECK(scan_binary_frame(as_bytes(std::string("\0\0", 2)), kDefaultMaxFrame).status == FrameStatus::kNeedMore);
  CHECK(scan_binary_frame(as_bytes(std::string("\0\0\0\0", 4)), kDefaultMaxFrame).status == FrameStatus::kBadLength);
  const auto over = scan_binary_frame(as_bytes(std::string("\x01\0\0\0", 4)), kDefaultMaxFrame);
  CHECK(over.status == FrameStatus::kBadLength);
  CHECK(over.body_bytes == 16'777'216u);
  CHECK(scan_binary_frame(as_bytes(std::string("\0\0\0\x0b", 4)), 10).status == FrameStatus::kBadLength);
  const auto partial = scan_binary_frame(as_bytes(std::string("\0\0\0\x03\xc0", 5)), 10);
  CHECK(partial.status == FrameStatus::kNeedMore);
  CHECK(partial.body_bytes == 3u);
  CHECK(scan_binary_frame(as_bytes(std::string("\0\0\0\x01\xc0", 5)), 10).status == FrameStatus::kComplete);
}

TEST_CASE("frame header round trip") {
  std::string out = "x";
  const auto at = begin_binary_frame(out);
  out.append(300, 'a');
  finish_binary_frame(out, at);
  const auto scan = scan_binary_frame(as_bytes(std::string_view(out).substr(1)), kDefaultMaxFrame);
  CHECK(scan.status == FrameStatus::kComplete);
  CHECK(scan.body_bytes == 300u);
}

TEST_CASE("JSON line scan") {
  auto s = scan_json_line("{\"op\":1}\nrest", 0, 100);
  CHECK(s.status == LineStatus::kComplete);
  CHECK(s.line_bytes == 8u);
  s = scan_json_line("{\"op\"", 0, 100);
  CHECK(s.status == LineStatus::kNeedMore);
  CHECK(s.scanned_bytes == 5u);
  CHECK(scan_json_line(std::string(101, ' '), 0, 100).status == LineStatus::kTooLong);
  CHECK(scan_json_line(std::string(101, ' ') + "\n", 0, 100).status == LineStatus::kTooLong);
  CHECK(scan_json_line(std::string(100, ' ') + "\n", 0, 100).status == LineStatus::kComplete);
  CHECK(is_blank_line(" \t\r"));
  CHECK(is_blank_line(""));
  CHECK_FALSE(is_blank_line(" {"));
}

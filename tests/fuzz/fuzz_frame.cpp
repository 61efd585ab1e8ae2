// The frame decoder: a byte stream arriving in chunks of fuzzed sizes goes through the
// connection's InputBuffer and scan_binary_frame / scan_json_line, resuming as the
// server does, and must split into exactly the frames or lines (and end in exactly the
// state) that a plain reading of the whole stream at once gives. Every frame body goes
// through is_single_msgpack_object (checked against msgpack-cxx), and every frame
// written back with begin/finish_binary_frame must scan as itself.
//
// Input: a byte choosing max_frame (the default or 1..256, so the limits are reached),
// 8 bytes seeding the chunk sizes, then the stream.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "ipc/framing.hpp"
#include "ipc/input_buffer.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace durationd;
using ipc::Bytes;

enum class End { kNeedMore, kBadLength, kTooLong, kInvalidEncoding };

struct Split {
  std::vector<std::string> units;  // frame bodies or lines (without '\n')
  End end = End::kNeedMore;
  friend bool operator==(const Split&, const Split&) = default;
};

std::uint32_t be32(std::string_view s) {
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i)
    n = (n << 8) | static_cast<unsigned char>(s[static_cast<std::size_t>(i)]);
  return n;
}

// The contract read plainly, over the whole stream at once.
Split reference_split(std::string_view s, std::uint32_t max_frame) {
  Split out;
  if (s.empty()) return out;
  const char first = s[0];
  if (first == '\0') {
    while (s.size() >= 4) {
      const std::uint32_t n = be32(s);
      if (n == 0 || n > max_frame) {
        out.end = End::kBadLength;
        return out;
      }
      if (s.size() - 4 < n) return out;
      out.units.emplace_back(s.substr(4, n));
      s.remove_prefix(4 + n);
    }
    return out;
  }
  if (first != '{' && first != ' ' && first != '\t' && first != '\r' && first != '\n') {
    out.end = End::kInvalidEncoding;
    return out;
  }
  for (;;) {
    const std::size_t nl = s.find('\n');
    const std::size_t line = nl == std::string_view::npos ? s.size() : nl;
    if (line > max_frame) {
      out.end = End::kTooLong;
      return out;
    }
    if (nl == std::string_view::npos) return out;
    out.units.emplace_back(s.substr(0, nl));
    s.remove_prefix(nl + 1);
  }
}

// As ipc/connection.cpp reads: chunks into an InputBuffer, scanning what is buffered.
Split streamed_split(std::string_view s, std::uint32_t max_frame, std::uint64_t seed) {
  Split out;
  ipc::InputBuffer in;
  ipc::Encoding encoding = ipc::Encoding::kInvalid;
  std::size_t line_scanned = 0;
  std::size_t fed = 0;
  while (fed < s.size()) {
    // xorshift64: chunk sizes from 1 byte to a few KiB, mostly small.
    seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
    const std::size_t want = (seed & 3) == 0 ? 1 + (seed >> 8) % 4096 : 1 + (seed >> 8) % 16;
    const std::size_t chunk = std::min(want, s.size() - fed);
    const auto space = in.prepare(chunk);
    FUZZ_CHECK(space.size() >= chunk);
    std::memcpy(space.data(), s.data() + fed, chunk);
    in.commit(chunk);
    fed += chunk;

    if (encoding == ipc::Encoding::kInvalid) {
      encoding = ipc::encoding_for_first_byte(in.readable()[0]);
      if (encoding == ipc::Encoding::kInvalid) {
        out.end = End::kInvalidEncoding;
        return out;
      }
    }
    for (;;) {
      const Bytes buffered = in.readable();
      if (encoding == ipc::Encoding::kBinary) {
        const ipc::FrameScan scan = ipc::scan_binary_frame(buffered, max_frame);
        if (scan.status == ipc::FrameStatus::kNeedMore) break;
        if (scan.status == ipc::FrameStatus::kBadLength) {
          out.end = End::kBadLength;
          return out;
        }
        out.units.emplace_back(
            ipc::as_chars(buffered.subspan(ipc::kFrameHeaderBytes, scan.body_bytes)));
        in.consume(ipc::kFrameHeaderBytes + scan.body_bytes);
        continue;
      }
      const ipc::LineScan scan =
          ipc::scan_json_line(ipc::as_chars(buffered), line_scanned, max_frame);
      if (scan.status == ipc::LineStatus::kTooLong) {
        out.end = End::kTooLong;
        return out;
      }
      if (scan.status == ipc::LineStatus::kNeedMore) {
        FUZZ_CHECK(scan.scanned_bytes == buffered.size());
        line_scanned = scan.scanned_bytes;
        break;
      }
      line_scanned = 0;
      out.units.emplace_back(ipc::as_chars(buffered.first(scan.line_bytes)));
      in.consume(scan.line_bytes + 1);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  const auto choice = fdp.ConsumeIntegral<std::uint8_t>();
  const std::uint32_t max_frame = choice < 64 ? ipc::kDefaultMaxFrame : choice - 63u;
  const auto seed = fdp.ConsumeIntegral<std::uint64_t>() | 1;
  const std::string stream = fdp.ConsumeRemainingBytesAsString();

  const Split expected = reference_split(stream, max_frame);
  const Split streamed = streamed_split(stream, max_frame, seed);
  FUZZ_CHECK(streamed == expected);

  const bool binary = !stream.empty() && stream[0] == '\0';
  for (const std::string& unit : expected.units) {
    if (binary) {
      const Bytes body = ipc::as_bytes(unit);
      FUZZ_CHECK(ipc::is_single_msgpack_object(body) ==
                 durationd::fuzz::unpack_one(body).has_value());
      // A response frame around the same bytes scans back as exactly that frame.
      std::string framed = "x";
      const std::size_t at = ipc::begin_binary_frame(framed);
      framed += unit;
      ipc::finish_binary_frame(framed, at);
      const auto scan = ipc::scan_binary_frame(ipc::as_bytes(framed).subspan(at), max_frame);
      FUZZ_CHECK(scan.status == ipc::FrameStatus::kComplete && scan.body_bytes == unit.size());
    } else {
      FUZZ_CHECK(ipc::is_blank_line(unit) ==
                 (unit.find_first_not_of(" \t\r") == std::string::npos));
    }
  }
  return 0;
}

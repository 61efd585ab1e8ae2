// A zero-allocation reader over untrusted msgpack bytes.
//
// Why not msgpack::unpack? Requests arrive from other local users. Reading them with a
// cursor over the frame's own bytes means no allocation is ever driven by a length the
// peer claims (a 5-byte array header claiming 2^32-1 elements costs nothing here), and
// values are kept as the exact bytes the client sent, so they come back type for type.
// msgpack-cxx is still used to *write* msgpack (see msgpack_writer.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace durationd::ipc {

using Bytes = std::span<const std::byte>;

inline std::string_view as_chars(Bytes b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline Bytes as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

enum class MsgKind : std::uint8_t { kNil, kBool, kUint, kInt, kFloat32, kFloat64, kStr, kBin, kArray, kMap, kExt };

// One msgpack header. For kStr/kBin/kExt `payload` views the body; for kArray/kMap
// `count` is the number of elements (maps: pairs). Integers: non-negative values always
// come back as kUint, negative ones as kInt.
struct MsgToken {
  MsgKind kind = MsgKind::kNil;
  bool boolean = false;
  std::uint64_t uint = 0;
  std::int64_t sint = 0;
  double real = 0;
  std::uint32_t count = 0;
  std::int8_t ext_type = 0;
  Bytes payload;
};

// A forward cursor. Every read is bounds-checked; on malformed or truncated input the
// reader returns false and stays failed. It never allocates.
class MsgpackReader {
 public:
  explicit MsgpackReader(Bytes data) : data_(data) {}

  // Reads the next header (for containers only the header, not the elements).
  bool next(MsgToken& token);
  // Reads a map key, leaving the reader on its value: the header of a scalar key, and
  // all of a key that is itself an array or map (msgpack allows one; `token` then holds
  // its header). Reading such a key with next() would take its elements for the map's
  // own keys and values.
  bool next_key(MsgToken& token);
  // Skips one complete value, containers included, in O(1) memory.
  bool skip();
  // Reads and returns the bytes of one complete value.
  bool read_raw(Bytes& value);

  std::size_t offset() const { return pos_; }
  std::size_t remaining() const { return data_.size() - pos_; }
  bool at_end() const { return pos_ == data_.size(); }

 private:
  bool take(std::size_t n, const std::byte*& p);
  bool fail() {
    failed_ = true;
    return false;
  }
  Bytes data_;
  std::size_t pos_ = 0;
  bool failed_ = false;
};

// True when `frame` holds exactly one well-formed msgpack object and nothing else.
// O(1) memory whatever the nesting depth.
bool is_single_msgpack_object(Bytes frame);

}  // namespace durationd::ipc

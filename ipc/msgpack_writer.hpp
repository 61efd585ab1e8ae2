// Writing msgpack into a std::string with msgpack-cxx's packer. The string keeps its
// capacity between requests, so a warm connection packs responses without allocating.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <msgpack.hpp>

namespace durationd::ipc {

class StringSink {
 public:
  explicit StringSink(std::string& out) : out_(&out) {}
  void write(const char* data, std::size_t size) { out_->append(data, size); }

 private:
  std::string* out_;
};

using MsgpackWriter = msgpack::packer<StringSink>;

// Appends bytes that are already msgpack. The packer keeps its stream private, but
// every *_body member appends its bytes verbatim; this is the one place relying on it.
inline void append_raw(MsgpackWriter& w, std::string_view encoded) {
  w.pack_str_body(encoded.data(), static_cast<std::uint32_t>(encoded.size()));
}

// msgpack-cxx 4.1's pack_double/pack_float write an integral value (2.0) as an
// integer. A float must stay a float, type for type: write the float64 form ourselves.
inline void pack_float64(MsgpackWriter& w, double d) {
  const auto bits = std::bit_cast<std::uint64_t>(d);
  char buf[9];
  buf[0] = static_cast<char>(0xcb);
  for (int i = 0; i < 8; ++i) buf[1 + i] = static_cast<char>(bits >> (8 * (7 - i)));
  append_raw(w, {buf, sizeof buf});
}

inline void pack_str(MsgpackWriter& w, std::string_view s) {
  w.pack_str(static_cast<std::uint32_t>(s.size()));
  w.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

}  // namespace durationd::ipc

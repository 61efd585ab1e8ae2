#include "ipc/msgpack_reader.hpp"

#include <bit>
#include <type_traits>

namespace durationd::ipc {
namespace {

template <typename T>
T load_be(const std::byte* p) {
  using U = std::make_unsigned_t<T>;
  U v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v = static_cast<U>((std::uint64_t{v} << 8) | std::to_integer<U>(p[i]));
  return static_cast<T>(v);
}

}  // namespace

bool MsgpackReader::take(std::size_t n, const std::byte*& p) {
  if (failed_ || n > data_.size() - pos_) return fail();
  p = data_.data() + pos_;
  pos_ += n;
  return true;
}

bool MsgpackReader::next(MsgToken& t) {
  const std::byte* p = nullptr;
  if (!take(1, p)) return false;
  const auto b = static_cast<std::uint8_t>(*p);
  t = MsgToken{};

  auto str_of = [&](MsgKind kind, std::size_t len) {
    t.kind = kind;
    if (!take(len, p)) return false;
    t.payload = Bytes(p, len);
    return true;
  };
  auto len_of = [&](std::size_t width, std::size_t& len) {
    if (!take(width, p)) return false;
    len = width == 1 ? load_be<std::uint8_t>(p) : width == 2 ? load_be<std::uint16_t>(p) : load_be<std::uint32_t>(p);
    return true;
  };
  auto ext_of = [&](std::size_t len) {
    t.kind = MsgKind::kExt;
    if (!take(1, p)) return false;
    t.ext_type = static_cast<std::int8_t>(*p);
    if (!take(len, p)) return false;
    t.payload = Bytes(p, len);
    return true;
  };

  if (b <= 0x7f) {
    t.kind = MsgKind::kUint;
    t.uint = b;
    return true;
  }
  if (b >= 0xe0) {
    t.kind = MsgKind::kInt;
    t.sint = static_cast<std::int8_t>(b);
    return true;
  }
  if ((b & 0xf0) == 0x80) {
    t.kind = MsgKind::kMap;
    t.count = b & 0x0f;
    return true;
  }
  if ((b & 0xf0) == 0x90) {
    t.kind = MsgKind::kArray;
    t.count = b & 0x0f;
    return true;
  }
  if ((b & 0xe0) == 0xa0) return str_of(MsgKind::kStr, b & 0x1f);

  std::size_t len = 0;
  switch (b) {
    case 0xc0: t.kind = MsgKind::kNil; return true;
    case 0xc2: case 0xc3:
      t.kind = MsgKind::kBool;
      t.boolean = b == 0xc3;
      return true;
    case 0xc4: case 0xc5: case 0xc6:
      return len_of(std::size_t{1} << (b - 0xc4), len) && str_of(MsgKind::kBin, len);
    case 0xc7: case 0xc8: case 0xc9:
      return len_of(std::size_t{1} << (b - 0xc7), len) && ext_of(len);
    case 0xca:
      if (!take(4, p)) return false;
      t.kind = MsgKind::kFloat32;
      t.real = std::bit_cast<float>(load_be<std::uint32_t>(p));
      return true;
    case 0xcb:
      if (!take(8, p)) return false;
      t.kind = MsgKind::kFloat64;
      t.real = std::bit_cast<double>(load_be<std::uint64_t>(p));
      return true;
    case 0xcc: if (!take(1, p)) return false; t.kind = MsgKind::kUint; t.uint = load_be<std::uint8_t>(p); return true;
    case 0xcd: if (!take(2, p)) return false; t.kind = MsgKind::kUint; t.uint = load_be<std::uint16_t>(p); return true;
    case 0xce: if (!take(4, p)) return false; t.kind = MsgKind::kUint; t.uint = load_be<std::uint32_t>(p); return true;
    case 0xcf: if (!take(8, p)) return false; t.kind = MsgKind::kUint; t.uint = load_be<std::uint64_t>(p); return true;
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
      const std::size_t width = std::size_t{1} << (b - 0xd0);
      if (!take(width, p)) return false;
      const std::int64_t v = width == 1   ? load_be<std::int8_t>(p)
                             : width == 2 ? load_be<std::int16_t>(p)
                             : width == 4 ? load_be<std::int32_t>(p)
                                          : load_be<std::int64_t>(p);
      // Normalise: a non-negative value sent in a signed encoding is still a uint.
      if (v >= 0) {
        t.kind = MsgKind::kUint;
        t.uint = static_cast<std::uint64_t>(v);
      } else {
        t.kind = MsgKind::kInt;
        t.sint = v;
      }
      return true;
    }
    case 0xd4: return ext_of(1);
    case 0xd5: return ext_of(2);
    case 0xd6: return ext_of(4);
    case 0xd7: return ext_of(8);
    case 0xd8: return ext_of(16);
    case 0xd9: case 0xda: case 0xdb:
      return len_of(std::size_t{1} << (b - 0xd9), len) && str_of(MsgKind::kStr, len);
    case 0xdc: case 0xdd:
      if (!len_of(b == 0xdc ? 2 : 4, len)) return false;
      t.kind = MsgKind::kArray;
      t.count = static_cast<std::uint32_t>(len);
      return true;
    case 0xde: case 0xdf:
      if (!len_of(b == 0xde ? 2 : 4, len)) return false;
      t.kind = MsgKind::kMap;
      t.count = static_cast<std::uint32_t>(len);
      return true;
    default:  // 0xc1 is reserved and never valid
      return fail();
  }
}

bool MsgpackReader::next_key(MsgToken& token) {
  MsgpackReader key = *this;
  if (!key.next(token)) return fail();
  if (token.kind == MsgKind::kArray || token.kind == MsgKind::kMap) return skip();
  *this = key;
  return true;
}

bool MsgpackReader::skip() {
  // Values still to read. Containers add their element count, so no stack is needed
  // however deep the nesting. Each element takes at least one byte, which bounds the
  // counter by the input length (a claimed count larger than the bytes left fails).
  std::uint64_t pending = 1;
  MsgToken t;
  while (pending > 0) {
    if (!next(t)) return false;
    --pending;
    if (t.kind == MsgKind::kArray) pending += t.count;
    if (t.kind == MsgKind::kMap) pending += std::uint64_t{t.count} * 2;
    if (pending > remaining()) return fail();
  }
  return true;
}

bool MsgpackReader::read_raw(Bytes& value) {
  const std::size_t start = pos_;
  if (!skip()) return false;
  value = data_.subspan(start, pos_ - start);
  return true;
}

bool is_single_msgpack_object(Bytes frame) {
  MsgpackReader reader(frame);
  return reader.skip() && reader.at_end();
}

}  // namespace durationd::ipc

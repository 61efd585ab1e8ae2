#include "crypto/detail/printable.hpp"

namespace durationd::crypto::detail {

std::string printable(std::string_view text, std::size_t max_chars) {
  const bool cut = text.size() > max_chars;
  if (cut) text = text.substr(0, max_chars);
  std::string out;
  out.reserve(text.size() + 3);
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    out += (byte >= 0x20 && byte < 0x7f) ? c : '?';
  }
  if (cut) out += "...";
  return out;
}

}  // namespace durationd::crypto::detail

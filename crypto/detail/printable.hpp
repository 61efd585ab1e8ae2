// Internal to crypto/: makes untrusted text (paths, algorithm names) safe to embed in a
// one-line message.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace durationd::crypto::detail {

// Copies `text`, replacing control and non-ASCII bytes with '?' so a crafted file name
// cannot break a message across lines or inject terminal escapes, and cutting it to
// `max_chars` (marking the cut with "..."). Never call it with secret material.
std::string printable(std::string_view text, std::size_t max_chars = 256);

}  // namespace durationd::crypto::detail

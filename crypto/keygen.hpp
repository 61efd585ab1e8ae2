// `durationd keygen FILE`: creates a key file holding a new random passphrase.
#pragma once

#include <cstddef>
#include <filesystem>

#include "crypto/error.hpp"

namespace durationd::crypto {

// 32 random bytes (256 bits) in base64 without padding.
inline constexpr std::size_t kGeneratedPassphraseChars = 43;

// Writes a new passphrase of kGeneratedPassphraseChars characters (A-Z a-z 0-9 + /) and
// a "\n" to `path`, which must not exist: the file is created with O_EXCL|O_NOFOLLOW,
// so neither an existing file nor a symlink planted at `path` is ever written through
// (Errc::key_file_exists). Its mode is 0600 whatever the umask; the file and its
// directory are fsync'd before success is returned. On failure a partly written file
// is removed. The passphrase exists in memory only in SecretBytes.
Result<void> write_new_key_file(const std::filesystem::path& path);

}  // namespace durationd::crypto

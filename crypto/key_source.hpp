// Where the daemon's passphrase comes from (protocol.md, "Command lines"), and the
// checks a key file must pass before its bytes are trusted.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/error.hpp"
#include "crypto/secret_bytes.hpp"

namespace durationd::crypto {

inline constexpr std::size_t kMinPassphraseBytes = 16;
// Caps both a key file's size and a passphrase from the environment.
inline constexpr std::size_t kMaxKeyFileBytes = 4096;
// Name of the file systemd's LoadCredential= puts in $CREDENTIALS_DIRECTORY.
inline constexpr std::string_view kCredentialName = "durationd.key";
inline constexpr const char* kKeyEnvironmentVariable = "DURATIOND_KEY";

struct KeySourceOptions {
  std::optional<std::filesystem::path> key_file;  // --key-file, when given
};

struct LoadedKey {
  SecretBytes passphrase;
  // Where it came from, for logs and messages; never the passphrase itself:
  // "credential <path>", "key file <path>" or "environment DURATIOND_KEY".
  std::string origin;
};

// Loads the passphrase from the first source that applies:
//  1. $CREDENTIALS_DIRECTORY/durationd.key, when the variable is set and the file exists;
//  2. options.key_file, when given; a missing file is an error, not a fall-through;
//  3. the environment variable DURATIOND_KEY.
// A file source must pass read_key_file()'s checks (a bad credential file is an error,
// not a fall-through). Whatever source wins, DURATIOND_KEY is taken out of the
// environment (its bytes overwritten in place, then unsetenv) so no child process
// inherits it and /proc/PID/environ no longer shows it. The passphrase must be
// kMinPassphraseBytes..kMaxKeyFileBytes long. With no source: Errc::no_key.
// Reads and changes the environment: call it at start-up, before any thread exists.
Result<LoadedKey> load_passphrase(const KeySourceOptions& options);

// Reads a key file: its bytes less one trailing "\n" (only "\n": a "\r" before it is
// kept as part of the passphrase). Refused, with a one-line message naming the file:
// a symbolic link (opened with O_NOFOLLOW), anything but a regular file, a file that
// group or others may read or write (the message gives its mode in octal), a file over
// kMaxKeyFileBytes, and a passphrase shorter than kMinPassphraseBytes. The bytes go
// straight from read(2) into SecretBytes; no other copy is made.
Result<SecretBytes> read_key_file(const std::filesystem::path& path);

// Refuses a passphrase outside kMinPassphraseBytes..kMaxKeyFileBytes with
// "passphrase from <origin> is N bytes; at least 16 are required" (or at most 4096).
// For passphrases from other places too, such as a key rotation request.
Result<void> check_passphrase_length(const SecretBytes& passphrase, std::string_view origin);

}  // namespace durationd::crypto

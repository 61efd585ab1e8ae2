#include "crypto/key_source.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <utility>

#include "crypto/detail/printable.hpp"
#include "crypto/detail/unique_fd.hpp"

namespace durationd::crypto {
namespace {

std::string errno_text(int error) {
  return std::system_category().message(error);
}

// Four octal digits, as chmod takes them: "0644".
std::string octal_mode(mode_t mode) {
  std::string text(4, '0');
  unsigned bits = mode & 07777U;
  for (auto digit = text.rbegin(); digit != text.rend(); ++digit, bits >>= 3U) {
    *digit = static_cast<char>('0' + (bits & 7U));
  }
  return text;
}

// Opens without following a final symlink, and without blocking on a FIFO (which the
// regular-file check then refuses).
Result<detail::UniqueFd> open_key_file(const std::filesystem::path& path,
                                       const std::string& shown) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd >= 0) return detail::UniqueFd(fd);
  const int error = errno;
  if (error == ENOENT) return Error{Errc::key_file_missing, shown + " does not exist"};
  struct stat link_status {};
  if (error == ELOOP && ::lstat(path.c_str(), &link_status) == 0 && S_ISLNK(link_status.st_mode)) {
    return Error{Errc::key_file_symlink, shown + " is a symbolic link; name the file itself"};
  }
  return Error{Errc::key_file_unreadable, "cannot open " + shown + ": " + errno_text(error)};
}

Result<void> check_file_status(int fd, const std::string& shown) {
  struct stat status {};
  if (::fstat(fd, &status) != 0) {
    const int error = errno;
    return Error{Errc::key_file_unreadable, "cannot stat " + shown + ": " + errno_text(error)};
  }
  if (!S_ISREG(status.st_mode)) {
    return Error{Errc::key_file_not_regular, shown + " is not a regular file"};
  }
  // Execute bits give no access to the content, so only read and write are refused.
  if ((status.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) != 0) {
    return Error{Errc::key_file_permissions,
                 shown + " has mode " + octal_mode(status.st_mode) +
                     "; it must not be readable or writable by group or others (chmod 600)"};
  }
  if (status.st_size > static_cast<off_t>(kMaxKeyFileBytes)) {
    return Error{Errc::key_file_too_large, shown + " is " + std::to_string(status.st_size) +
                                               " bytes; at most " +
                                               std::to_string(kMaxKeyFileBytes) + " are allowed"};
  }
  return {};
}

// Reads to end of file into SecretBytes; one spare byte detects a file that grew past
// the cap after fstat.
Result<SecretBytes> read_contents(int fd, const std::string& shown) {
  SecretBytes buffer = SecretBytes::zeroed(kMaxKeyFileBytes + 1);
  std::size_t filled = 0;
  while (filled < buffer.size()) {
    const ssize_t got = ::read(fd, buffer.data() + filled, buffer.size() - filled);
    if (got < 0) {
      const int error = errno;
      if (error == EINTR) continue;
      return Error{Errc::key_file_unreadable, "cannot read " + shown + ": " + errno_text(error)};
    }
    if (got == 0) break;
    filled += static_cast<std::size_t>(got);
  }
  if (filled > kMaxKeyFileBytes) {
    return Error{Errc::key_file_too_large, shown + " is over " + std::to_string(kMaxKeyFileBytes) +
                                               " bytes, the most allowed"};
  }
  if (filled > 0 && buffer.data()[filled - 1] == std::byte{'\n'}) --filled;
  buffer.truncate(filled);
  return buffer;
}

// read_key_file with the file described as `label` (credential or key file).
Result<SecretBytes> read_passphrase_file(const std::filesystem::path& path,
                                         std::string_view label) {
  const std::string shown = std::string(label) + " " + detail::printable(path.string());
  auto fd = open_key_file(path, shown);
  if (!fd) return fd.error();
  if (auto checked = check_file_status(fd->get(), shown); !checked) return checked.error();
  auto contents = read_contents(fd->get(), shown);
  if (!contents) return contents.error();
  if (auto length = check_passphrase_length(*contents, shown); !length) return length.error();
  return std::move(*contents);
}

// Copies DURATIOND_KEY into SecretBytes and removes it from the environment. POSIX asks
// programs not to write to getenv's string; we do, once, before any thread exists,
// because unsetenv only drops the pointer: the bytes would stay in our initial
// environment block (shown by /proc/PID/environ) or in setenv's heap copy, both of
// which are writable. durationd never putenv()s a read-only string.
Result<std::optional<SecretBytes>> take_environment_passphrase() {
  char* value = std::getenv(kKeyEnvironmentVariable);
  if (value == nullptr) return std::optional<SecretBytes>();
  const std::size_t size = std::strlen(value);
  std::optional<SecretBytes> passphrase(SecretBytes::copy_of(std::string_view(value, size)));
  OPENSSL_cleanse(value, size);
  if (::unsetenv(kKeyEnvironmentVariable) != 0) {
    const int error = errno;
    return Error{Errc::hardening_failed, std::string("cannot remove ") + kKeyEnvironmentVariable +
                                             " from the environment: " + errno_text(error)};
  }
  return passphrase;
}

}  // namespace

Result<SecretBytes> read_key_file(const std::filesystem::path& path) {
  return read_passphrase_file(path, "key file");
}

Result<void> check_passphrase_length(const SecretBytes& passphrase, std::string_view origin) {
  if (passphrase.size() < kMinPassphraseBytes) {
    return Error{Errc::passphrase_too_short,
                 "passphrase from " + std::string(origin) + " is " +
                     std::to_string(passphrase.size()) + " bytes; at least " +
                     std::to_string(kMinPassphraseBytes) + " are required"};
  }
  if (passphrase.size() > kMaxKeyFileBytes) {
    return Error{Errc::passphrase_too_long, "passphrase from " + std::string(origin) + " is " +
                                                std::to_string(passphrase.size()) +
                                                " bytes; at most " +
                                                std::to_string(kMaxKeyFileBytes) + " are allowed"};
  }
  return {};
}

Result<LoadedKey> load_passphrase(const KeySourceOptions& options) {
  // First, so the variable is gone whichever source wins.
  auto from_environment = take_environment_passphrase();
  if (!from_environment) return from_environment.error();

  if (const char* directory = std::getenv("CREDENTIALS_DIRECTORY");
      directory != nullptr && *directory != '\0') {
    const std::filesystem::path path = std::filesystem::path(directory) / kCredentialName;
    auto passphrase = read_passphrase_file(path, "credential");
    if (passphrase) {
      return LoadedKey{std::move(*passphrase), "credential " + detail::printable(path.string())};
    }
    // Only absence falls through: a credential that exists but fails a check is an error.
    if (passphrase.error().code != Errc::key_file_missing) return passphrase.error();
  }

  if (options.key_file) {
    auto passphrase = read_key_file(*options.key_file);
    if (!passphrase) return passphrase.error();
    return LoadedKey{std::move(*passphrase),
                     "key file " + detail::printable(options.key_file->string())};
  }

  if (*from_environment) {
    std::string origin = std::string("environment ") + kKeyEnvironmentVariable;
    if (auto length = check_passphrase_length(**from_environment, origin); !length) {
      return length.error();
    }
    return LoadedKey{std::move(**from_environment), std::move(origin)};
  }

  return Error{Errc::no_key, "no key: set $CREDENTIALS_DIRECTORY/durationd.key, --key-file or " +
                                 std::string(kKeyEnvironmentVariable)};
}

}  // namespace durationd::crypto

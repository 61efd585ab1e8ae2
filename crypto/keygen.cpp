#include "crypto/keygen.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

#include "crypto/detail/openssl_error.hpp"
#include "crypto/detail/printable.hpp"
#include "crypto/detail/unique_fd.hpp"
#include "crypto/random.hpp"
#include "crypto/secret_bytes.hpp"

namespace durationd::crypto {
namespace {

constexpr std::size_t kRandomBytes = 32;
constexpr std::size_t kBase64Chars = 4 * ((kRandomBytes + 2) / 3);  // with padding: 44
static_assert(kBase64Chars == kGeneratedPassphraseChars + 1);

// The passphrase followed by "\n", as the file will hold it.
Result<SecretBytes> new_passphrase_line() {
  auto random = random_secret(kRandomBytes);
  if (!random) return random.error();
  // EVP_EncodeBlock writes a NUL after the text.
  SecretBytes line = SecretBytes::zeroed(kBase64Chars + 1);
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(line.data()),
                                      reinterpret_cast<const unsigned char*>(random->data()),
                                      static_cast<int>(random->size()));
  if (written != static_cast<int>(kBase64Chars)) {
    return detail::openssl_error("base64 encoding failed");
  }
  // 32 bytes leave one '=' of padding at the end; the newline takes its place.
  line.data()[kGeneratedPassphraseChars] = std::byte{'\n'};
  line.truncate(kGeneratedPassphraseChars + 1);
  return line;
}

// `error` is passed by value at the call, before anything else can overwrite errno.
Error failure(const char* action, const std::string& shown, int error) {
  return Error{Errc::key_file_write_failed, std::string("cannot ") + action + " " + shown + ": " +
                                                std::system_category().message(error)};
}

Result<void> write_all(int fd, const SecretBytes& bytes, const std::string& shown) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t wrote = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote < 0) return failure("write", shown, errno);
    done += static_cast<std::size_t>(wrote);
  }
  return {};
}

// Everything after the file was created; on failure the caller removes the file.
Result<void> fill_and_sync(detail::UniqueFd fd, const SecretBytes& line, const std::string& shown) {
  // The umask can only have removed bits from 0600, but say it explicitly.
  if (::fchmod(fd.get(), S_IRUSR | S_IWUSR) != 0) return failure("chmod", shown, errno);
  if (auto written = write_all(fd.get(), line, shown); !written) return written.error();
  if (::fsync(fd.get()) != 0) return failure("fsync", shown, errno);
  if (fd.close() != 0) return failure("close", shown, errno);
  return {};
}

// Makes the new directory entry durable too, not just the file's data.
Result<void> sync_parent_directory(const std::filesystem::path& path, const std::string& shown) {
  std::filesystem::path directory = path.parent_path();
  if (directory.empty()) directory = ".";
  const detail::UniqueFd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid() || ::fsync(fd.get()) != 0) {
    return failure("sync the directory of", shown, errno);
  }
  return {};
}

}  // namespace

Result<void> write_new_key_file(const std::filesystem::path& path) {
  const std::string shown = "key file " + detail::printable(path.string());
  auto line = new_passphrase_line();
  if (!line) return line.error();

  detail::UniqueFd fd(::open(path.c_str(),
                             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                             S_IRUSR | S_IWUSR));
  if (!fd.valid()) {
    if (errno == EEXIST) {
      return Error{Errc::key_file_exists, shown + " already exists; refusing to overwrite it"};
    }
    return failure("create", shown, errno);
  }
  if (auto filled = fill_and_sync(std::move(fd), *line, shown); !filled) {
    // We created it (O_EXCL); leave no half-written key file behind.
    static_cast<void>(::unlink(path.c_str()));
    return filled.error();
  }
  // The file is complete here; only the durability of its name is in doubt, so it stays.
  return sync_parent_directory(path, shown);
}

}  // namespace durationd::crypto

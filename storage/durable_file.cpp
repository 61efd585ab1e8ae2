#include "storage/durable_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace durationd::storage {
namespace {

Error os_error(std::string_view what, const std::filesystem::path& path, int err) {
  return {err == ENOSPC || err == EDQUOT || err == EFBIG ? Errc::full : err == EROFS ? Errc::read_only : Errc::io,
          std::string(what) + " " + path.string() + ": " + std::strerror(err)};
}

Result<void> sync_path(const std::filesystem::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return os_error("cannot open", path, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return os_error("cannot sync", path, err);
  return {};
}

}  // namespace

Result<void> sync_file(const std::filesystem::path& path) { return sync_path(path, O_RDONLY); }
Result<void> sync_directory(const std::filesystem::path& dir) { return sync_path(dir, O_RDONLY | O_DIRECTORY); }

Result<void> write_file_atomically(const std::filesystem::path& path, std::string_view content) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return os_error("cannot create", tmp, errno);
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return os_error("cannot write", tmp, err);
    }
    done += static_cast<std::size_t>(n);
  }
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) {
    ::unlink(tmp.c_str());
    return os_error("cannot sync", tmp, err);
  }
  return rename_durably(tmp, path);
}

Result<void> rename_durably(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return os_error("cannot rename", from, errno);
  return sync_directory(to.parent_path().empty() ? "." : to.parent_path());
}

Result<void> remove_if_exists(const std::filesystem::path& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return os_error("cannot remove", path, errno);
  return {};
}

}  // namespace durationd::storage

#include "ipc/unix_listener.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace durationd::ipc {
namespace {

std::runtime_error error_at(const std::filesystem::path& path, const std::string& what) {
  return std::runtime_error("socket " + path.string() + ": " + what);
}

// True when something accepts connections on `path` right now.
bool socket_is_live(const std::filesystem::path& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  const bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return live;
}

}  // namespace

Acceptor bind_unix_listener(const boost::asio::any_io_executor& executor, const std::filesystem::path& path,
                            BoundSocket& bound) {
  using Protocol = boost::asio::local::stream_protocol;
  if (path.native().size() >= sizeof(sockaddr_un{}.sun_path))
    throw error_at(path, "path is longer than a Unix socket address allows");

  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) throw error_at(path, "exists and is not a socket; refusing to replace it");
    if (socket_is_live(path)) throw error_at(path, "another daemon is already listening on it");
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      throw error_at(path, std::string("cannot remove stale socket: ") + std::strerror(errno));
  }

  Acceptor acceptor(executor);
  acceptor.open(Protocol());
  // The socket file must never exist with looser permissions than 0660, not even for
  // the moment between bind and chmod: bind under a umask that already yields 0660.
  const mode_t previous_umask = ::umask(0117);
  boost::system::error_code ec;
  acceptor.bind(Protocol::endpoint(path.string()), ec);
  ::umask(previous_umask);
  if (ec) throw error_at(path, "cannot bind: " + ec.message());
  if (::chmod(path.c_str(), 0660) != 0) throw error_at(path, std::string("cannot chmod: ") + std::strerror(errno));
  acceptor.listen(SOMAXCONN);

  if (::lstat(path.c_str(), &st) == 0) bound = {path, st.st_dev, st.st_ino};
  return acceptor;
}

Acceptor adopt_unix_listener(const boost::asio::any_io_executor& executor, int fd) {
  return Acceptor(executor, boost::asio::local::stream_protocol(), fd);
}

void remove_bound_socket(const BoundSocket& bound) {
  struct stat st{};
  if (bound.path.empty() || ::lstat(bound.path.c_str(), &st) != 0) return;
  if (st.st_dev == bound.device && st.st_ino == bound.inode) ::unlink(bound.path.c_str());
}

}  // namespace durationd::ipc

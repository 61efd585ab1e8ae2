// Creating the listening socket, as redis's unix.c does: a stale socket file left by a
// crashed daemon is replaced, a live one (another daemon answers on it) is left alone.
#pragma once

#include <sys/stat.h>

#include <filesystem>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/local/stream_protocol.hpp>

namespace durationd::ipc {

using Acceptor = boost::asio::local::stream_protocol::acceptor;

// The socket file we created, so shutdown removes it only if it is still ours
// (a newer daemon may have replaced it).
struct BoundSocket {
  std::filesystem::path path;
  dev_t device = 0;
  ino_t inode = 0;
};

// Binds and listens on `path` with mode 0660. Throws std::runtime_error with a message
// naming the path when another daemon is live there, when the path exists and is not
// a socket, or when binding fails.
Acceptor bind_unix_listener(const boost::asio::any_io_executor& executor, const std::filesystem::path& path,
                            BoundSocket& bound);

// Takes over a listening socket handed to us (systemd socket activation). The socket
// file belongs to the manager: it is never unlinked or rebound.
Acceptor adopt_unix_listener(const boost::asio::any_io_executor& executor, int fd);

// Removes the socket file if it is still the one we bound.
void remove_bound_socket(const BoundSocket& bound);

}  // namespace durationd::ipc

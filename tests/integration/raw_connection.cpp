#include "raw_connection.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "ipc/framing.hpp"
#include "ipc/json_codec.hpp"
#include "ipc/msgpack_writer.hpp"

namespace durationd::test {
namespace {
constexpr int kReadTimeoutMs = 10'000;
}

RawConnection::RawConnection(const std::filesystem::path& socket) {
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
  if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("connect " + socket.string() + ": " + std::strerror(errno));
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

void RawConnection::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) throw std::runtime_error(std::string("send: ") + std::strerror(errno));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void RawConnection::want(std::size_t n) {
  char buf[65536];
  while (in_.size() < n) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, kReadTimeoutMs) != 1) throw std::runtime_error("timed out waiting for the daemon");
    const ssize_t got = ::recv(fd_, buf, sizeof buf, 0);
    if (got == 0) throw std::runtime_error("the daemon closed the connection");
    if (got < 0) throw std::runtime_error(std::string("recv: ") + std::strerror(errno));
    in_.append(buf, static_cast<std::size_t>(got));
  }
}

ipc::Response RawConnection::read_frame() {
  want(ipc::kFrameHeaderBytes);
  const auto scan = ipc::scan_binary_frame(ipc::as_bytes(in_), ipc::kDefaultMaxFrame);
  if (scan.status == ipc::FrameStatus::kBadLength) throw std::runtime_error("bad response frame length");
  want(ipc::kFrameHeaderBytes + scan.body_bytes);
  auto response = ipc::decode_response(ipc::as_bytes(std::string_view(in_).substr(4, scan.body_bytes)));
  in_.erase(0, ipc::kFrameHeaderBytes + scan.body_bytes);
  return response;
}

std::string RawConnection::read_line() {
  for (;;) {
    const auto nl = in_.find('\n');
    if (nl != std::string::npos) {
      std::string line = in_.substr(0, nl);
      in_.erase(0, nl + 1);
      return line;
    }
    want(in_.size() + 1);
  }
}

bool RawConnection::closed_by_peer(std::chrono::milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
  char c;
  const ssize_t n = ::recv(fd_, &c, 1, 0);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

std::string frame(std::string_view body) {
  std::string out;
  const auto at = ipc::begin_binary_frame(out);
  out.append(body);
  ipc::finish_binary_frame(out, at);
  return out;
}

std::string request_body(std::string_view op, std::optional<std::uint64_t> id, std::string_view extra_pairs,
                         std::uint32_t extra_count) {
  std::string out;
  ipc::StringSink sink(out);
  ipc::MsgpackWriter w(sink);
  w.pack_map(1 + (id ? 1 : 0) + extra_count);
  ipc::pack_str(w, "op");
  ipc::pack_str(w, op);
  if (id) {
    ipc::pack_str(w, "id");
    w.pack_uint64(*id);
  }
  out.append(extra_pairs);
  return out;
}

std::string request_frame(std::string_view op, std::optional<std::uint64_t> id) {
  return frame(request_body(op, id));
}

std::string result_json(const ipc::Response& response) {
  std::string out;
  ipc::msgpack_to_json(ipc::as_bytes(response.result), out);
  return out;
}

}  // namespace durationd::test

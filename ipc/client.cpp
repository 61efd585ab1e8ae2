#include "ipc/client.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "ipc/framing.hpp"
#include "ipc/msgpack_writer.hpp"

namespace durationd::ipc {

Client::Client(const std::filesystem::path& socket_path, std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  if (socket_path.native().size() >= sizeof addr.sun_path)
    throw std::system_error(ENAMETOOLONG, std::generic_category(), socket_path.string());
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket");
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.native().size());
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    throw std::system_error(err, std::generic_category(), "cannot connect to " + socket_path.string());
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000);
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

Client::Client(Client&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), next_id_(other.next_id_), out_(std::move(other.out_)), in_(std::move(other.in_)) {}

Client& Client::operator=(Client&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    next_id_ = other.next_id_;
    out_ = std::move(other.out_);
    in_ = std::move(other.in_);
  }
  return *this;
}

void Client::send(std::string_view op, std::optional<std::uint64_t> id, Bytes args) {
  out_.clear();
  const std::size_t header = begin_binary_frame(out_);
  StringSink sink(out_);
  MsgpackWriter w(sink);
  w.pack_map(1 + (id ? 1 : 0) + (args.empty() ? 0 : 1));
  pack_str(w, "op");
  pack_str(w, op);
  if (id) {
    pack_str(w, "id");
    w.pack_uint64(*id);
  }
  if (!args.empty()) {
    pack_str(w, "args");
    out_.append(as_chars(args));
  }
  finish_binary_frame(out_, header);
  send_raw(out_);
}

void Client::send_raw(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "send to durationd");
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void Client::read_exact(char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::recv(fd_, data, size, 0);
    if (n == 0) throw std::runtime_error("durationd closed the connection");
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) throw std::runtime_error("timed out waiting for durationd");
      throw std::system_error(errno, std::generic_category(), "receive from durationd");
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

Response Client::receive() {
  char header[kFrameHeaderBytes];
  read_exact(header, sizeof header);
  const FrameScan scan = scan_binary_frame(as_bytes({header, sizeof header}), kDefaultMaxFrame);
  if (scan.status == FrameStatus::kBadLength) throw std::runtime_error("durationd sent a malformed frame");
  in_.resize(scan.body_bytes);
  read_exact(in_.data(), in_.size());
  return decode_response(as_bytes(in_));
}

Response Client::call(std::string_view op, Bytes args) {
  const std::uint64_t id = next_id_++;
  send(op, id, args);
  Response response = receive();
  if (response.id != id) throw std::runtime_error("durationd answered out of order");
  return response;
}

Response decode_response(Bytes body) {
  auto malformed = [] { return std::runtime_error("durationd sent a malformed response"); };
  Response response;
  MsgpackReader r(body);
  MsgToken t;
  if (!r.next(t) || t.kind != MsgKind::kMap) throw malformed();
  for (std::uint32_t i = 0, n = t.count; i < n; ++i) {
    MsgToken key;
    if (!r.next(key) || key.kind != MsgKind::kStr) throw malformed();
    const std::string_view name = as_chars(key.payload);
    if (name == "result") {
      Bytes raw;
      if (!r.read_raw(raw)) throw malformed();
      response.result.assign(as_chars(raw));
      continue;
    }
    if (name == "error") {
      MsgToken map;
      if (!r.next(map) || map.kind != MsgKind::kMap) throw malformed();
      for (std::uint32_t j = 0; j < map.count; ++j) {
        MsgToken k, v;
        if (!r.next(k) || !r.next(v) || k.kind != MsgKind::kStr || v.kind != MsgKind::kStr) throw malformed();
        (as_chars(k.payload) == "code" ? response.error_code : response.error_message) = as_chars(v.payload);
      }
      continue;
    }
    MsgToken value;
    if (!r.next(value)) throw malformed();
    if (name == "id" && value.kind == MsgKind::kUint) response.id = value.uint;
    if (name == "ok" && value.kind == MsgKind::kBool) response.ok = value.boolean;
  }
  return response;
}

std::string default_socket_path() {
  const char* env = std::getenv("DURATIOND_SOCKET");
  return env != nullptr && *env != '\0' ? env : "/run/durationd/durationd.sock";
}

msgpack::object_handle unpack_result(const Response& response) {
  if (!response.ok) throw CallError(response.error_code, response.error_message);
  // Bounded like every unpack of bytes from a socket: no count can exceed the bytes.
  const std::size_t n = response.result.size();
  const msgpack::unpack_limit limit(n, n, n, n, n, 64);
  std::size_t offset = 0;
  msgpack::object_handle handle = msgpack::unpack(response.result.data(), n, offset, nullptr, nullptr, limit);
  if (offset != n) throw std::runtime_error("durationd sent a malformed result");
  return handle;
}

}  // namespace durationd::ipc

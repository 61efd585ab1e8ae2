// A test client that speaks bytes, not requests: for malformed frames, pipelining and
// the JSON-lines encoding. Every read has a timeout so a broken daemon fails the test
// instead of hanging it.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "ipc/client.hpp"

namespace durationd::test {

class RawConnection {
 public:
  explicit RawConnection(const std::filesystem::path& socket);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  void send(std::string_view bytes);
  // One binary response frame, decoded.
  ipc::Response read_frame();
  // One JSON line, without its '\n'.
  std::string read_line();
  // True when the daemon closes the connection within `timeout` with nothing more sent.
  bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  int native_handle() const { return fd_; }

 private:
  // Reads until at least `n` bytes are buffered; throws on EOF or timeout.
  void want(std::size_t n);
  int fd_ = -1;
  std::string in_;
};

// A binary frame around `body`: 4-byte big-endian length, then the body.
std::string frame(std::string_view body);

// The msgpack of a request map {op, id?} with `extra` key/value pairs already packed
// (pass an even number of packed items in `extra_pairs`, counted by `extra_count`).
std::string request_body(std::string_view op, std::optional<std::uint64_t> id,
                         std::string_view extra_pairs = {}, std::uint32_t extra_count = 0);

// Shortcut: frame(request_body(op, id)).
std::string request_frame(std::string_view op, std::optional<std::uint64_t> id);

// Unpacks the msgpack of a response result into JSON text (for readable assertions).
std::string result_json(const ipc::Response& response);

}  // namespace durationd::test

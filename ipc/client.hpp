// A small blocking client for the binary encoding: what durationctl, the tests and the
// benchmarks use to talk to the daemon. Not thread-safe; one per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "ipc/msgpack_reader.hpp"
#include "ipc/msgpack_writer.hpp"

namespace durationd::ipc {

struct Response {
  std::optional<std::uint64_t> id;
  bool ok = false;
  std::string result;      // packed msgpack of the result (ok responses)
  std::string error_code;  // e.g. "NOT_FOUND" (error responses)
  std::string error_message;
};

class Client {
 public:
  // Connects; throws std::system_error whose message names the socket path.
  explicit Client(const std::filesystem::path& socket_path,
                  std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  Client(Client&& other) noexcept;
  Client& operator=(Client&& other) noexcept;

  // Sends a request; `args` is a packed msgpack map, or empty for none.
  void send(std::string_view op, std::optional<std::uint64_t> id, Bytes args = {});
  // Reads the next response. Throws std::runtime_error on a broken or closed stream.
  Response receive();
  // send + receive, with a fresh id that the response must echo.
  Response call(std::string_view op, Bytes args = {});

  // Writes bytes exactly as given (for tests of malformed input).
  void send_raw(std::string_view bytes);
  int native_handle() const { return fd_; }

 private:
  void read_exact(char* data, std::size_t size);
  int fd_ = -1;
  std::uint64_t next_id_ = 1;
  std::string out_;
  std::string in_;
};

// Decodes one response frame body.
Response decode_response(Bytes body);

// --- For applications (see ipc/examples/cache_example.cpp) ---

// The socket durationctl and durationd-bench use: $DURATIOND_SOCKET when set and not
// empty, else /run/durationd/durationd.sock.
std::string default_socket_path();

// An error answer, as an exception: code() is the contract's code, e.g. "NOT_FOUND".
class CallError : public std::runtime_error {
 public:
  CallError(std::string code, const std::string& message)
      : std::runtime_error(code + ": " + message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

// Packs anything msgpack-cxx can pack (a std::map, a struct with MSGPACK_DEFINE_MAP, ...)
// into the bytes Client::call takes as `args`.
template <typename T>
std::string pack_args(const T& args) {
  std::string out;
  StringSink sink(out);
  msgpack::pack(sink, args);
  return out;
}

// The result of an ok response, unpacked (the handle owns the memory its object points
// into); throws CallError for an error response.
msgpack::object_handle unpack_result(const Response& response);

// Client::call with `args` packed by pack_args, and its result unpacked.
template <typename T>
msgpack::object_handle call_result(Client& client, std::string_view op, const T& args) {
  return unpack_result(client.call(op, as_bytes(pack_args(args))));
}
inline msgpack::object_handle call_result(Client& client, std::string_view op) {
  return unpack_result(client.call(op));
}

}  // namespace durationd::ipc

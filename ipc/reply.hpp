// What an operation writes its answer into: a msgpack result value or an error. One
// Reply lives in each connection and is reused for every request, so its buffer keeps
// its capacity and a warm connection answers without allocating.
#pragma once

#include <optional>
#include <string>

#include "ipc/msgpack_writer.hpp"
#include "ipc/wire_error.hpp"

namespace durationd::ipc {

class Reply {
 public:
  Reply() : sink_(result_), writer_(sink_) {}
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;

  // Pack exactly one value: the operation's result.
  MsgpackWriter& result() { return writer_; }
  // Appends already-encoded msgpack (e.g. a stored value) to the result.
  void append_raw(Bytes encoded) { result_.append(as_chars(encoded)); }

  // Turns the reply into an error; anything packed so far is discarded.
  void fail(WireCode code, std::string message) { error_ = WireError{code, std::move(message)}; }

  const std::optional<WireError>& error() const { return error_; }
  Bytes result_bytes() const { return as_bytes(result_); }

  void reset() {
    result_.clear();
    error_.reset();
  }

 private:
  std::string result_;
  StringSink sink_;
  MsgpackWriter writer_;
  std::optional<WireError> error_;
};

}  // namespace durationd::ipc

// A connection's receive buffer: grows with what actually arrived (never with what a
// frame header claims), and gives memory back once a large request has been served.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "ipc/msgpack_reader.hpp"

namespace durationd::ipc {

class InputBuffer {
 public:
  Bytes readable() const { return {data_.data() + begin_, end_ - begin_}; }
  bool empty() const { return begin_ == end_; }

  // Space for at least `min_bytes` more, at the end of what is buffered.
  std::span<std::byte> prepare(std::size_t min_bytes);
  void commit(std::size_t n) { end_ += n; }
  void consume(std::size_t n);

 private:
  static constexpr std::size_t kKeepCapacity = 256 * 1024;
  std::vector<std::byte> data_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace durationd::ipc

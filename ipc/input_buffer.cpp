#include "ipc/input_buffer.hpp"

#include <algorithm>
#include <cstring>

namespace durationd::ipc {

std::span<std::byte> InputBuffer::prepare(std::size_t min_bytes) {
  if (data_.size() - end_ < min_bytes && begin_ > 0) {
    std::memmove(data_.data(), data_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (data_.size() - end_ < min_bytes) data_.resize(std::max(data_.size() * 2, end_ + min_bytes));
  return {data_.data() + end_, data_.size() - end_};
}

void InputBuffer::consume(std::size_t n) {
  begin_ += n;
  if (begin_ != end_) return;
  begin_ = end_ = 0;
  if (data_.capacity() > kKeepCapacity) std::vector<std::byte>().swap(data_);
}

}  // namespace durationd::ipc

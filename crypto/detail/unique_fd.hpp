// Internal to crypto/: a file descriptor that is closed exactly once.
#pragma once

#include <unistd.h>

#include <utility>

namespace durationd::crypto::detail {

// Owns one descriptor (or none, -1). Where a close error matters (after writing a key
// file), call close() and check it; the destructor closes silently as a last resort.
class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~UniqueFd() { reset(); }

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }

  // Closes now; returns close(2)'s result (0, or -1 with errno set). Never retried on
  // EINTR: on Linux the descriptor is released even then.
  int close() noexcept { return fd_ >= 0 ? ::close(std::exchange(fd_, -1)) : 0; }

 private:
  void reset() noexcept {
    if (fd_ >= 0) {
      // Nothing useful can be done with a close error here; see close().
      static_cast<void>(::close(std::exchange(fd_, -1)));
    }
  }

  int fd_ = -1;
};

}  // namespace durationd::crypto::detail

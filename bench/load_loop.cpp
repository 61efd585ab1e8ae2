#include "bench/load_loop.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <system_error>

namespace durationd::bench {

namespace {

constexpr std::size_t kInitialInput = 64 * 1024;
constexpr std::uint64_t kProgressNs = 250'000'000;
constexpr std::uint64_t kStallNs = 60'000'000'000;  // no reply for this long: give up rather than hang

int connect_unix(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) throw ConnectError("cannot connect to " + path + ": path too long");
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  // Connect blocking (a refusal is reported at once), then switch to non-blocking.
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd);
    throw ConnectError("cannot connect to " + path + ": " + std::strerror(err));
  }
  if (::fcntl(fd, F_SETFL, O_NONBLOCK) != 0) throw std::system_error(errno, std::generic_category(), "fcntl");
  return fd;
}

}  // namespace

LoadLoop::LoadLoop(LoopConfig config, RequestTemplate request)
    : config_(std::move(config)), request_(std::move(request)), rng_(monotonic_ns() | 1) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  conns_.resize(config_.connections);
  for (std::size_t i = 0; i < conns_.size(); ++i) {
    Conn& c = conns_[i];
    c.fd = connect_unix(config_.socket);
    c.out.reserve(request_.max_bytes() * config_.pipeline);
    c.in.resize(kInitialInput);
    c.sent_at.resize(config_.pipeline);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &ev) != 0)
      throw std::system_error(errno, std::generic_category(), "epoll_ctl");
  }
}

LoadLoop::~LoadLoop() {
  for (auto& c : conns_)
    if (c.fd >= 0) ::close(c.fd);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

std::uint64_t LoadLoop::next_key() {
  if (config_.sequential_keys) return sequential_next_++ % config_.keyspace;
  // xorshift64*: fast and good enough to spread keys; the multiply-shift maps it onto
  // [0, keyspace) without a division.
  rng_ ^= rng_ >> 12;
  rng_ ^= rng_ << 25;
  rng_ ^= rng_ >> 27;
  const std::uint64_t x = rng_ * 0x2545F4914F6CDD1DULL;
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(x) * config_.keyspace) >> 64);
}

void LoadLoop::fill(Conn& c) {
  if (c.in_flight == config_.pipeline || issued_ == limit_) return;
  // One clock read per batch: the requests of a batch leave in the same write.
  const std::uint64_t now = monotonic_ns();
  while (c.in_flight < config_.pipeline && issued_ < limit_) {
    request_.append(c.out, next_key());
    c.sent_at[(c.head + c.in_flight) % config_.pipeline] = now;
    ++c.in_flight;
    ++issued_;
  }
  flush(c);
}

void LoadLoop::flush(Conn& c) {
  while (c.out_sent < c.out.size()) {
    const ssize_t n = ::send(c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        watch_writable(c, true);
        return;
      }
      throw std::system_error(errno, std::generic_category(), "send to " + config_.socket);
    }
    c.out_sent += static_cast<std::size_t>(n);
  }
  c.out.clear();  // keeps its capacity
  c.out_sent = 0;
  watch_writable(c, false);
}

void LoadLoop::watch_writable(Conn& c, bool on) {
  if (c.want_write == on) return;
  c.want_write = on;
  epoll_event ev{};
  ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
  ev.data.u64 = static_cast<std::uint64_t>(&c - conns_.data());
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev) != 0)
    throw std::system_error(errno, std::generic_category(), "epoll_ctl");
}

void LoadLoop::receive(Conn& c, std::vector<std::uint64_t>* latencies) {
  if (c.in_begin == c.in_end) c.in_begin = c.in_end = 0;
  if (c.in_end == c.in.size()) {  // full: make room at the front, else grow
    if (c.in_begin > 0) {
      std::memmove(c.in.data(), c.in.data() + c.in_begin, c.in_end - c.in_begin);
      c.in_end -= c.in_begin;
      c.in_begin = 0;
    } else {
      c.in.resize(c.in.size() * 2);
    }
  }
  const ssize_t n = ::recv(c.fd, c.in.data() + c.in_end, c.in.size() - c.in_end, 0);
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN) return;
    throw std::system_error(errno, std::generic_category(), "receive from " + config_.socket);
  }
  if (n == 0)
    throw std::runtime_error("the server closed a connection" +
                             (first_failure_.empty() ? std::string() : " (last failure: " + first_failure_ + ")"));
  c.in_end += static_cast<std::size_t>(n);

  const std::uint64_t now = monotonic_ns();  // one clock read for every reply of this read
  for (;;) {
    const std::string_view buffered(c.in.data() + c.in_begin, c.in_end - c.in_begin);
    const ReplyScan scan = scan_reply(config_.wire, buffered);
    if (scan.status == ReplyStatus::kMalformed) throw std::runtime_error("the server sent a malformed reply");
    if (scan.status == ReplyStatus::kNeedMore) {
      // A reply bigger than the buffer (a long timer session): grow once to hold it.
      if (scan.bytes > c.in.size() - c.in_begin) {
        std::memmove(c.in.data(), c.in.data() + c.in_begin, buffered.size());
        c.in_end -= c.in_begin;
        c.in_begin = 0;
        if (scan.bytes > c.in.size()) c.in.resize(std::max(scan.bytes, c.in.size() * 2));
      }
      break;
    }
    if (c.in_flight == 0) throw std::runtime_error("the server sent a reply nobody asked for");
    if (latencies && completed_ < latencies->size()) (*latencies)[completed_] = now - c.sent_at[c.head];
    c.head = (c.head + 1) % config_.pipeline;
    --c.in_flight;
    ++completed_;
    if (!scan.ok) {
      if (errors_++ == 0) first_failure_ = describe_failure(config_.wire, buffered.substr(0, scan.bytes));
    }
    c.in_begin += scan.bytes;
  }
  fill(c);
}

void LoadLoop::print_progress(std::uint64_t now) {
  const double seconds = static_cast<double>(now - started_ns_) / 1e9;
  std::fprintf(stderr, "\r\033[K%s: %.1f req/s  %llu/%llu", config_.label.c_str(),
               seconds > 0 ? static_cast<double>(completed_) / seconds : 0.0,
               static_cast<unsigned long long>(completed_), static_cast<unsigned long long>(limit_));
  std::fflush(stderr);
}

void LoadLoop::run_until(std::uint64_t total, std::vector<std::uint64_t>* latencies) {
  limit_ = total;
  if (started_ns_ == 0) started_ns_ = monotonic_ns();
  for (auto& c : conns_) fill(c);
  std::uint64_t next_tick = monotonic_ns() + kProgressNs;
  std::uint64_t last_reply = monotonic_ns();
  std::uint64_t completed_at_last_reply = completed_;
  epoll_event events[256];
  while (completed_ < limit_) {
    const int n = ::epoll_wait(epoll_fd_, events, 256, config_.progress ? 250 : 1000);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      Conn& c = conns_[events[i].data.u64];
      if (events[i].events & EPOLLOUT) flush(c);
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) receive(c, latencies);
    }
    // The clock is read here only when the loop idles or a tick may be due.
    if (n == 0 || config_.progress) {
      const std::uint64_t now = monotonic_ns();
      if (completed_ != completed_at_last_reply) {
        completed_at_last_reply = completed_;
        last_reply = now;
      } else if (now - last_reply > kStallNs) {
        throw std::runtime_error("no reply for 60 s; giving up");
      }
      if (config_.progress && now >= next_tick) {
        print_progress(now);
        next_tick = now + kProgressNs;
      }
    }
  }
  if (config_.progress) std::fprintf(stderr, "\r\033[K");
}

}  // namespace durationd::bench

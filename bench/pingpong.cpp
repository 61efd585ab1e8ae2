// unix-pingpong: the raw Unix-socket ping-pong floor. An echo server thread and a client
// each run one epoll loop over c socketpair(AF_UNIX, SOCK_STREAM) connections; the client
// keeps one N-byte message in flight per connection and times each round trip. No
// protocol, no parsing, no allocation after setup: what a request/response server on a
// Unix socket cannot beat on this machine (bench/compare.sh sets durationd against it).
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "bench/bench_util.hpp"

using durationd::bench::monotonic_ns;
using durationd::bench::parse_number;

namespace {

constexpr const char* kUsage =
    "usage: unix-pingpong [-c CONNS] [-n ROUNDTRIPS] [-d BYTES] [--json] [-h]\n"
    "\n"
    "  -c CONNS       connections, each with one message in flight (default 1)\n"
    "  -n ROUNDTRIPS  total round trips (default 200000)\n"
    "  -d BYTES       message size (default 100)\n"
    "  --json         one JSON object on stdout (test \"pingpong\")\n"
    "  -h             this help\n"
    "\n"
    "An echo server thread and the client thread each run one epoll loop over socketpairs.\n"
    "exit: 0 done, 64 usage error, 1 a system call failed.\n";

constexpr int kMaxEvents = 256;

[[noreturn]] void fail(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

int make_epoll(const std::vector<int>& fds) {
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) fail("epoll_create1");
  for (std::size_t i = 0; i < fds.size(); ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    if (::epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) != 0) fail("epoll_ctl");
  }
  return ep;
}

// Echoes whatever arrives until every client end is closed. One message is in flight per
// connection and it fits the socket buffer, so a write never comes up short; a short
// one is finished blocking-free by retrying (it cannot happen with one message in flight).
void serve(std::vector<int> fds, std::size_t size) {
  const int ep = make_epoll(fds);
  std::vector<char> buf(std::max<std::size_t>(size, 64 * 1024));
  std::size_t open = fds.size();
  epoll_event events[kMaxEvents];
  while (open > 0) {
    const int n = ::epoll_wait(ep, events, kMaxEvents, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("server epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      const int fd = fds[events[i].data.u64];
      const ssize_t got = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (got < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        fail("server recv");
      }
      if (got == 0) {
        ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
        ::close(fd);
        --open;
        continue;
      }
      for (ssize_t sent = 0; sent < got;) {
        const ssize_t w = ::send(fd, buf.data() + sent, static_cast<std::size_t>(got - sent), MSG_NOSIGNAL);
        if (w < 0) {
          if (errno == EAGAIN || errno == EINTR) continue;
          fail("server send");
        }
        sent += w;
      }
    }
  }
  ::close(ep);
}

struct Conn {
  int fd = -1;
  std::size_t received = 0;  // bytes of the reply in flight
  std::uint64_t sent_at = 0;
};

double percentile_us(const std::vector<std::uint64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return static_cast<double>(sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1]) / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t conns = 1, total = 200'000, size = 100;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--json") {
      json = true;
    } else if (arg == "-c" && has_value) {
      if (!parse_number(argv[++i], 1, 10'000, conns)) return std::fputs("unix-pingpong: -c wants 1..10000\n", stderr), 64;
    } else if (arg == "-n" && has_value) {
      if (!parse_number(argv[++i], 1, 1'000'000'000, total))
        return std::fputs("unix-pingpong: -n wants 1..1000000000\n", stderr), 64;
    } else if (arg == "-d" && has_value) {
      if (!parse_number(argv[++i], 1, 65'536, size)) return std::fputs("unix-pingpong: -d wants 1..65536\n", stderr), 64;
    } else {
      std::fprintf(stderr, "unix-pingpong: unknown or incomplete option %s (unix-pingpong -h for help)\n", argv[i]);
      return 64;
    }
  }

  try {
    std::vector<Conn> client(conns);
    std::vector<int> client_fds(conns), server_fds(conns);
    for (std::uint64_t i = 0; i < conns; ++i) {
      int pair[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) fail("socketpair");
      client[i].fd = client_fds[i] = pair[0];
      server_fds[i] = pair[1];
    }
    std::thread server([&server_fds, size] {
      try {
        serve(server_fds, size);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "unix-pingpong: %s\n", e.what());
        std::_Exit(1);
      }
    });

    const int ep = make_epoll(client_fds);
    const std::vector<char> message(size, 'x');
    std::vector<char> sink(std::max<std::size_t>(size, 64 * 1024));
    std::vector<std::uint64_t> latencies(total);
    std::uint64_t issued = 0, completed = 0;

    auto send_one = [&](Conn& c) {
      c.received = 0;
      c.sent_at = monotonic_ns();
      ++issued;
      for (std::size_t sent = 0; sent < size;) {
        const ssize_t w = ::send(c.fd, message.data() + sent, size - sent, MSG_NOSIGNAL);
        if (w < 0) {
          if (errno == EAGAIN || errno == EINTR) continue;
          fail("send");
        }
        sent += static_cast<std::size_t>(w);
      }
    };

    const std::uint64_t started = monotonic_ns();
    for (auto& c : client)
      if (issued < total) send_one(c);
    epoll_event events[kMaxEvents];
    while (completed < total) {
      const int n = ::epoll_wait(ep, events, kMaxEvents, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        fail("epoll_wait");
      }
      for (int i = 0; i < n; ++i) {
        Conn& c = client[events[i].data.u64];
        const ssize_t got = ::recv(c.fd, sink.data(), sink.size(), MSG_DONTWAIT);
        if (got < 0) {
          if (errno == EAGAIN || errno == EINTR) continue;
          fail("recv");
        }
        if (got == 0) throw std::runtime_error("the echo server closed a connection");
        c.received += static_cast<std::size_t>(got);
        if (c.received < size) continue;
        latencies[completed++] = monotonic_ns() - c.sent_at;
        if (issued < total) send_one(c);
      }
    }
    const double seconds = static_cast<double>(monotonic_ns() - started) / 1e9;
    for (auto& c : client) ::close(c.fd);  // the server sees EOF on each and returns
    ::close(ep);
    server.join();

    std::sort(latencies.begin(), latencies.end());
    const double rps = static_cast<double>(total) / seconds;
    const double p50 = percentile_us(latencies, 0.50), p99 = percentile_us(latencies, 0.99),
                 p999 = percentile_us(latencies, 0.999), max = static_cast<double>(latencies.back()) / 1000.0;
    const auto n_total = static_cast<unsigned long long>(total);
    const auto n_conns = static_cast<unsigned long long>(conns);
    if (json)
      std::printf(
          "{\"test\":\"pingpong\",\"requests\":%llu,\"seconds\":%.6f,\"rps\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
          "\"p999_us\":%.1f,\"max_us\":%.1f,\"errors\":0,\"connections\":%llu,\"pipeline\":1,\"size\":%llu,"
          "\"mode\":\"socketpair\"}\n",
          n_total, seconds, rps, p50, p99, p999, max, n_conns, static_cast<unsigned long long>(size));
    else
      std::printf("pingpong: %.1f round trips/s  p50 %.1f µs  p99 %.1f µs  p99.9 %.1f µs  max %.0f µs  (c=%llu d=%llu n=%llu)\n",
                  rps, p50, p99, p999, max, n_conns, static_cast<unsigned long long>(size), n_total);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unix-pingpong: %s\n", e.what());
    return 1;
  }
  return 0;
}

// The load generator's engine: c non-blocking connections on one epoll loop in one
// thread, each keeping up to P requests in flight, as redis-benchmark does. Buffers
// are sized up front, so the hot loop does not allocate.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/bench_util.hpp"
#include "bench/bench_wire.hpp"

namespace durationd::bench {

// The server could not be reached at all (exit 69).
struct ConnectError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct LoopConfig {
  std::string socket;
  Wire wire = Wire::kDurationd;
  unsigned connections = 1;
  unsigned pipeline = 1;
  std::uint64_t keyspace = 1;
  bool sequential_keys = false;  // keys 0, 1, 2...: for --preload, else uniform at random
  std::string label;             // for the progress line
  bool progress = false;         // a progress line on stderr every 250 ms
};

class LoadLoop {
 public:
  // Connects every connection; throws ConnectError naming the socket.
  LoadLoop(LoopConfig config, RequestTemplate request);
  ~LoadLoop();
  LoadLoop(const LoadLoop&) = delete;
  LoadLoop& operator=(const LoadLoop&) = delete;

  // Sends requests until `total` (counted since construction) have been answered, then
  // returns with nothing in flight. Latencies of answered requests go to
  // latencies[completed] when `latencies` is long enough. Throws on a broken stream.
  void run_until(std::uint64_t total, std::vector<std::uint64_t>* latencies);
  // Requests sent after this use `request` (between runs: when nothing is in flight).
  void set_request(RequestTemplate request) { request_ = std::move(request); }

  std::uint64_t completed() const { return completed_; }
  std::uint64_t errors() const { return errors_; }
  const std::string& first_failure() const { return first_failure_; }

 private:
  struct Conn {
    int fd = -1;
    std::string out;
    std::size_t out_sent = 0;
    bool want_write = false;
    std::string in;  // in[in_begin, in_end) is unparsed
    std::size_t in_begin = 0, in_end = 0;
    std::vector<std::uint64_t> sent_at;  // ring of P send times, oldest at `head`
    unsigned head = 0, in_flight = 0;
  };

  std::uint64_t next_key();
  void fill(Conn& c);
  void flush(Conn& c);
  void receive(Conn& c, std::vector<std::uint64_t>* latencies);
  void watch_writable(Conn& c, bool on);
  void print_progress(std::uint64_t now);

  LoopConfig config_;
  RequestTemplate request_;
  int epoll_fd_ = -1;
  std::vector<Conn> conns_;
  std::uint64_t limit_ = 0, issued_ = 0, completed_ = 0, errors_ = 0;
  std::uint64_t rng_, sequential_next_ = 0;
  std::uint64_t started_ns_ = 0;  // first run_until; progress rates count from here
  std::string first_failure_;
};

}  // namespace durationd::bench

// durationd-bench: a load generator in the manner of redis-benchmark. c connections on
// one epoll loop keep P requests each in flight against durationd (or, with --redis, a
// redis-server, to compare like with like) and report requests/s and latency
// percentiles per test. See bench_options.cpp for the command line.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/bench_options.hpp"
#include "bench/bench_timer.hpp"
#include "bench/bench_wire.hpp"
#include "bench/load_loop.hpp"
#include "ipc/client.hpp"

using namespace durationd::bench;

namespace {

constexpr int kExitOk = 0, kExitBroken = 1, kExitUsage = 64, kExitUnavailable = 69;

struct TestResult {
  std::string test;
  std::uint64_t requests = 0, errors = 0;
  double seconds = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
  std::string first_failure;
};

LoopConfig loop_config(const Options& o, const std::string& label, bool progress) {
  return {.socket = o.socket,
          .wire = o.redis ? Wire::kRedis : Wire::kDurationd,
          .connections = o.connections,
          .pipeline = o.pipeline,
          .keyspace = o.keyspace,
          .label = label,
          .progress = progress};
}

// Nearest-rank percentile of sorted nanoseconds, in microseconds.
double percentile_us(const std::vector<std::uint64_t>& sorted, std::size_t count, double q) {
  if (count == 0) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(count)));
  return static_cast<double>(sorted[std::clamp<std::size_t>(rank, 1, count) - 1]) / 1000.0;
}

TestResult run_test(const Options& o, const std::string& test, bool progress, std::vector<std::uint64_t>& latencies) {
  const Wire wire = o.redis ? Wire::kRedis : Wire::kDurationd;
  TestResult result{.test = test};
  std::uint64_t started = 0, ended = 0;
  std::uint64_t completed = 0;
  if (test == "timer" || test == "timerb") {
    const bool brief = test == "timerb";
    BenchTimer timer(o.socket);
    BenchSession session = timer.open();
    LoadLoop loop(loop_config(o, test, progress), RequestTemplate::interrupt(session.id, brief));
    started = monotonic_ns();
    std::uint32_t room = kMaxInterruptions - std::min(kMaxInterruptions, session.interruptions);
    while (loop.completed() < o.requests) {
      if (room == 0) {  // the session is full: carry on with a fresh one
        timer.close(session.id);
        session = timer.open();
        loop.set_request(RequestTemplate::interrupt(session.id, brief));
        room = kMaxInterruptions - std::min(kMaxInterruptions, session.interruptions);
        continue;
      }
      const std::uint64_t chunk = std::min<std::uint64_t>(room, o.requests - loop.completed());
      loop.run_until(loop.completed() + chunk, &latencies);
      room -= static_cast<std::uint32_t>(chunk);
    }
    ended = monotonic_ns();
    timer.close(session.id);
    completed = loop.completed();
    result.errors = loop.errors();
    result.first_failure = loop.first_failure();
  } else {
    const RequestTemplate request = test == "ping"  ? RequestTemplate::ping(wire)
                                    : test == "get" ? RequestTemplate::get(wire)
                                                    : RequestTemplate::put(wire, o.value_size, test == "putd");
    LoadLoop loop(loop_config(o, test, progress), request);
    started = monotonic_ns();
    loop.run_until(o.requests, &latencies);
    ended = monotonic_ns();
    completed = loop.completed();
    result.errors = loop.errors();
    result.first_failure = loop.first_failure();
  }
  result.requests = completed;
  result.seconds = static_cast<double>(ended - started) / 1e9;
  const std::size_t count = std::min<std::size_t>(completed, latencies.size());
  std::sort(latencies.begin(), latencies.begin() + static_cast<std::ptrdiff_t>(count));
  result.p50_us = percentile_us(latencies, count, 0.50);
  result.p99_us = percentile_us(latencies, count, 0.99);
  result.p999_us = percentile_us(latencies, count, 0.999);
  result.max_us = count ? static_cast<double>(latencies[count - 1]) / 1000.0 : 0;
  return result;
}

void preload(const Options& o, bool progress) {
  LoopConfig config = loop_config(o, "preload", progress);
  config.sequential_keys = true;
  LoadLoop loop(config, RequestTemplate::put(config.wire, o.value_size, false));
  const std::uint64_t started = monotonic_ns();
  loop.run_until(o.keyspace, nullptr);
  // cache.stats commits everything written behind: the tests that follow then measure
  // themselves, not the preload's encryption and fsync on the daemon's writer thread.
  if (config.wire == Wire::kDurationd) (void)durationd::ipc::Client(o.socket).call("cache.stats");
  const double seconds = static_cast<double>(monotonic_ns() - started) / 1e9;
  if (loop.errors() > 0)
    std::fprintf(stderr, "preload: %llu of %llu puts failed; first: %s\n",
                 static_cast<unsigned long long>(loop.errors()), static_cast<unsigned long long>(o.keyspace),
                 loop.first_failure().c_str());
  else if (!o.quiet)
    std::fprintf(stderr, "preload: %llu keys in %.2f s\n", static_cast<unsigned long long>(o.keyspace), seconds);
}

void report(const Options& o, const TestResult& r) {
  const double rps = r.seconds > 0 ? static_cast<double>(r.requests) / r.seconds : 0;
  const auto requests = static_cast<unsigned long long>(r.requests);
  const auto errors = static_cast<unsigned long long>(r.errors);
  if (o.json) {
    std::printf(
        "{\"test\":\"%s\",\"requests\":%llu,\"seconds\":%.6f,\"rps\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
        "\"p999_us\":%.1f,\"max_us\":%.1f,\"errors\":%llu,\"connections\":%u,\"pipeline\":%u,\"size\":%zu,"
        "\"mode\":\"%s\"}\n",
        r.test.c_str(), requests, r.seconds, rps, r.p50_us, r.p99_us, r.p999_us, r.max_us, errors, o.connections,
        o.pipeline, o.value_size, o.redis ? "redis" : "durationd");
  } else {
    std::printf("%s: %.1f req/s  p50 %.0f µs  p99 %.0f µs  p99.9 %.0f µs  max %.0f µs  errors %llu  (%sc=%u P=%u d=%zu n=%llu)\n",
                r.test.c_str(), rps, r.p50_us, r.p99_us, r.p999_us, r.max_us, errors, o.redis ? "redis " : "",
                o.connections, o.pipeline, o.value_size, static_cast<unsigned long long>(o.requests));
  }
  std::fflush(stdout);
  if (r.errors > 0)
    std::fprintf(stderr, "%s: %llu errors; first: %s%s\n", r.test.c_str(), errors, r.first_failure.c_str(),
                 r.test == "get" && !o.preload ? " (--preload fills the keyspace first)" : "");
}

}  // namespace

int main(int argc, char** argv) {
  const ParsedOptions parsed = parse_options(argc, argv, durationd::ipc::default_socket_path());
  if (parsed.help) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (!parsed.error.empty()) {
    std::fprintf(stderr, "durationd-bench: %s (durationd-bench -h for help)\n", parsed.error.c_str());
    return kExitUsage;
  }
  const Options& o = parsed.options;
  const bool progress = !o.quiet && ::isatty(STDERR_FILENO);
  std::string current = "preload";
  try {
    // One array for every test: latencies are recorded without allocating.
    std::vector<std::uint64_t> latencies(o.requests);
    if (o.preload) preload(o, progress);
    for (const auto& test : o.tests) {
      current = test;
      report(o, run_test(o, test, progress, latencies));
    }
  } catch (const ConnectError& e) {
    std::fprintf(stderr, "durationd-bench: %s (is %s running?)\n", e.what(), o.redis ? "redis-server" : "durationd");
    return kExitUnavailable;
  } catch (const std::exception& e) {
    // A progress line may be half drawn: start a fresh line.
    std::fprintf(stderr, "%sdurationd-bench: %s: %s\n", progress ? "\n" : "", current.c_str(), e.what());
    return kExitBroken;
  }
  return kExitOk;
}

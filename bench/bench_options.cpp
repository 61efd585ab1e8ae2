#include "bench/bench_options.hpp"

#include "bench/bench_util.hpp"

#include <algorithm>
#include <charconv>
#include <string_view>

namespace durationd::bench {

const char* const kUsage =
    "usage: durationd-bench [-s SOCKET] [-c CONNS] [-n REQUESTS] [-P DEPTH] [-d BYTES] [-r KEYS]\n"
    "                       [-t TESTS] [--preload] [--json] [--redis] [-q] [-h]\n"
    "\n"
    "  -s SOCKET   Unix socket (default $DURATIOND_SOCKET, else /run/durationd/durationd.sock)\n"
    "  -c CONNS    parallel connections (default 50)\n"
    "  -n REQUESTS total requests per test (default 100000)\n"
    "  -P DEPTH    requests in flight per connection (default 1: no pipelining)\n"
    "  -d BYTES    value size of put/putd (default 100)\n"
    "  -r KEYS     keyspace: keys key:<0..KEYS-1>, chosen uniformly at random (default 100000)\n"
    "  -t TESTS    comma list of ping,get,put,putd,timer,timerb (default ping,get,put)\n"
    "  --preload   first put every key of the keyspace once, so gets hit\n"
    "  --json      one JSON object per test on stdout\n"
    "  --redis     speak Redis RESP instead (ping, get, put = SET) to compare with redis-server\n"
    "  -q          quiet: no progress, only results\n"
    "  -h          this help\n"
    "\n"
    "tests: ping = ping; get = cache.get; put = cache.put of a bin value; putd = durable put;\n"
    "timer = timer.interrupt on one running session of task \"bench\" (deleted afterwards);\n"
    "timerb = the same with brief: true (answers without the growing interruption list).\n"
    "A failed request (ok=false, -ERR, a get that misses) counts as an error.\n"
    "exit: 0 done, 64 usage error, 69 cannot connect, 1 the run broke off.\n";

namespace {

constexpr std::string_view kAllTests[] = {"ping", "get", "put", "putd", "timer", "timerb"};

std::vector<std::string> split_tests(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view word = list.substr(0, comma);
    if (!word.empty()) out.emplace_back(word);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
  return out;
}

}  // namespace

ParsedOptions parse_options(int argc, char** argv, std::string default_socket) {
  ParsedOptions parsed;
  Options& o = parsed.options;
  o.socket = std::move(default_socket);
  auto fail = [&](std::string message) {
    parsed.error = std::move(message);
    return parsed;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      parsed.help = true;
      return parsed;
    }
    if (arg == "--json") { o.json = true; continue; }
    if (arg == "--redis") { o.redis = true; continue; }
    if (arg == "--preload") { o.preload = true; continue; }
    if (arg == "-q") { o.quiet = true; continue; }
    static constexpr std::string_view kWithValue[] = {"-s", "-c", "-n", "-P", "-d", "-r", "-t"};
    if (std::find(std::begin(kWithValue), std::end(kWithValue), arg) == std::end(kWithValue))
      return fail("unknown option " + std::string(arg));
    if (i + 1 >= argc) return fail(std::string(arg) + " needs a value");
    const std::string_view value = argv[++i];
    std::uint64_t n = 0;
    // The bounds keep every buffer and the latency array allocatable.
    if (arg == "-s") {
      o.socket = value;
    } else if (arg == "-c") {
      if (!parse_number(value, 1, 10'000, n)) return fail("-c wants 1..10000 connections");
      o.connections = static_cast<unsigned>(n);
    } else if (arg == "-n") {
      if (!parse_number(value, 1, 1'000'000'000, n)) return fail("-n wants 1..1000000000 requests");
      o.requests = n;
    } else if (arg == "-P") {
      if (!parse_number(value, 1, 10'000, n)) return fail("-P wants a depth of 1..10000");
      o.pipeline = static_cast<unsigned>(n);
    } else if (arg == "-d") {
      if (!parse_number(value, 0, 512u << 20, n)) return fail("-d wants 0..536870912 bytes");
      o.value_size = static_cast<std::size_t>(n);
    } else if (arg == "-r") {
      if (!parse_number(value, 1, 1'000'000'000, n)) return fail("-r wants a keyspace of 1..1000000000");
      o.keyspace = n;
    } else {  // -t
      o.tests = split_tests(value);
      if (o.tests.empty()) return fail("-t wants a comma list of tests");
      for (const auto& t : o.tests)
        if (std::find(std::begin(kAllTests), std::end(kAllTests), t) == std::end(kAllTests))
          return fail("unknown test " + t + " (tests: ping,get,put,putd,timer,timerb)");
    }
  }
  if (o.redis)
    for (const auto& t : o.tests)
      if (t == "putd" || t == "timer" || t == "timerb")
        return fail("test " + t + " is a durationd operation; with --redis only ping,get,put apply");
  return parsed;
}

}  // namespace durationd::bench

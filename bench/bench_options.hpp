// durationd-bench's command line (redis-benchmark's letters where it has one).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace durationd::bench {

struct Options {
  std::string socket;
  unsigned connections = 50;
  std::uint64_t requests = 100'000;
  unsigned pipeline = 1;
  std::size_t value_size = 100;
  std::uint64_t keyspace = 100'000;
  std::vector<std::string> tests{"ping", "get", "put"};
  bool json = false;
  bool redis = false;
  bool preload = false;
  bool quiet = false;
};

struct ParsedOptions {
  Options options;
  bool help = false;
  std::string error;  // non-empty: a usage error, said in one line
};

// `default_socket` is what -s falls back to ($DURATIOND_SOCKET or the systemd path).
ParsedOptions parse_options(int argc, char** argv, std::string default_socket);

extern const char* const kUsage;

}  // namespace durationd::bench

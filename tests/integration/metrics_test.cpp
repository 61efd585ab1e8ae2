// admin.metrics against the real daemon: the text must satisfy the reference OpenMetrics
// parser, and its counters must match the traffic the test sent.
#include <sys/stat.h>

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <sstream>

#include "daemon_process.hpp"
#include "ipc/client.hpp"
#include "ipc/msgpack_writer.hpp"
#include "raw_connection.hpp"

using namespace durationd;
using namespace durationd::test;

namespace {

// A msgpack args map of string values, and `durable: true` when asked.
std::string args_of(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs, bool durable = false) {
  std::string out;
  ipc::StringSink sink(out);
  ipc::MsgpackWriter w(sink);
  w.pack_map(static_cast<std::uint32_t>(pairs.size() + (durable ? 1 : 0)));
  for (const auto& [k, v] : pairs) {
    ipc::pack_str(w, k);
    ipc::pack_str(w, v);
  }
  if (durable) {
    ipc::pack_str(w, "durable");
    w.pack_true();
  }
  return out;
}

// "name {k=v,...}" -> value, as the reference parser read the exposition.
std::map<std::string, double> parse_with_reference_parser(const DaemonProcess& daemon, const std::string& text) {
  const auto path = daemon.dir() / "metrics.txt";
  std::ofstream(path) << text;
  std::string out;
  const auto r = run_command({"/usr/bin/python3", INTEGRATION_SOURCE_DIR "/openmetrics_samples.py", path.string()},
                             {}, &out);
  INFO(r.stderr_text);
  REQUIRE(r.exit_code == 0);
  std::map<std::string, double> samples;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    const auto space = line.rfind(' ');
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

}  // namespace

TEST_CASE("admin.metrics is valid OpenMetrics and counts requests, cache use, commits and events") {
  DaemonProcess daemon;
  ipc::Client client(daemon.socket());
  const std::string put = args_of({{"key", "k"}, {"value", "v"}}, true);
  const std::string hit = args_of({{"key", "k"}}), miss = args_of({{"key", "absent"}});
  REQUIRE(client.call("cache.put", ipc::as_bytes(put)).ok);
  REQUIRE(client.call("cache.get", ipc::as_bytes(hit)).ok);
  REQUIRE(client.call("cache.get", ipc::as_bytes(hit)).ok);
  REQUIRE(client.call("cache.get", ipc::as_bytes(miss)).error_code == "NOT_FOUND");
  REQUIRE(client.call("no.such.op").error_code == "UNKNOWN_OP");
  {
    RawConnection bad(daemon.socket());
    bad.send("garbage");
    CHECK(bad.read_line().find("BAD_FRAME") != std::string::npos);
  }

  const auto r = client.call("admin.metrics");
  REQUIRE(r.ok);
  const auto result = boost::json::parse(result_json(r)).as_object();
  CHECK(result.at("content_type").as_string() == "application/openmetrics-text; version=1.0.0; charset=utf-8");
  const std::string exposition(result.at("text").as_string());
  CHECK(exposition.ends_with("# EOF\n"));
  const auto m = parse_with_reference_parser(daemon, exposition);
  auto at = [&](const std::string& sample) {
    INFO(sample);
    REQUIRE(m.count(sample) == 1);
    return m.at(sample);
  };
  CHECK(at("durationd_requests_total {code=ok,op=cache.put}") == 1);
  CHECK(at("durationd_requests_total {code=ok,op=cache.get}") == 2);
  CHECK(at("durationd_requests_total {code=NOT_FOUND,op=cache.get}") == 1);
  CHECK(at("durationd_requests_total {code=UNKNOWN_OP,op=}") == 1);
  CHECK(at("durationd_requests_total {code=BAD_FRAME,op=}") == 1);
  CHECK(at("durationd_requests_total {code=ok,op=timer.start}") == 0);  // registered ops show from the start
  CHECK(at("durationd_cache_hits_total {}") == 2);
  CHECK(at("durationd_cache_misses_total {}") == 1);
  CHECK(at("durationd_connections {}") >= 1);
  CHECK(at("durationd_connections_accepted_total {}") >= 2);
  CHECK(at("durationd_commit_jobs_total {db=cache.db}") >= 1);
  CHECK(at("durationd_commit_batch_size_count {db=cache.db}") >= 1);
  CHECK(at("durationd_commit_batch_size_bucket {db=cache.db,le=+Inf}") == at("durationd_commit_batch_size_count {db=cache.db}"));
  CHECK(at("durationd_commit_seconds_sum {db=cache.db}") > 0);
  CHECK(at("durationd_pool_connections {db=timers.db}") >= 1);
  CHECK(at("durationd_security_events_total {kind=bad_frame}") == 1);
  CHECK(at("durationd_security_events_total {kind=key_rotated}") == 0);
  CHECK(at("durationd_timer_running {}") == 0);
}

TEST_CASE("durationctl metrics prints the exposition, and a non-admin is refused") {
  DaemonProcess daemon;
  std::string out;
  const auto r = run_command({DURATIONCTL_BINARY, "--socket", daemon.socket().string(), "metrics"}, {}, &out);
  CHECK(r.exit_code == 0);
  CHECK(out.starts_with("# TYPE durationd_uptime_seconds gauge\n"));
  CHECK(out.ends_with("# EOF\n"));
  ::chmod(daemon.socket().c_str(), 0666);
  ::chmod(daemon.dir().c_str(), 0755);
  const auto nobody =
      run_command(as_uid(65534, {durationctl_for_all(), "--socket", daemon.socket().string(), "metrics"}), {}, &out);
  CHECK(nobody.exit_code == 1);
  CHECK(nobody.stderr_text.find("FORBIDDEN") != std::string::npos);
}

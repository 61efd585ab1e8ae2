// The OpenMetrics writer: the exact text for each kind of family.
#include "daemon/metrics_text.hpp"

#include <catch2/catch.hpp>
#include <limits>

using namespace durationd::app;

TEST_CASE("metrics text: numbers are canonical, integral ones end in .0") {
  CHECK(format_metric_number(1) == "1.0");
  CHECK(format_metric_number(0.0005) == "0.0005");
  CHECK(format_metric_number(0.00025) == "0.00025");
  CHECK(format_metric_number(1024) == "1024.0");
  CHECK(format_metric_number(std::numeric_limits<double>::infinity()) == "+Inf");
}

TEST_CASE("metrics text: counters end in _total, labels are escaped, the text ends with EOF") {
  MetricsText m;
  m.family("x_requests", MetricType::kCounter, "Requests \\ answered.");
  m.sample({{"op", "a\"b\\c\nd"}}, std::uint64_t{3});
  m.family("x_open", MetricType::kGauge, "Open now.", "");
  m.sample(std::uint64_t{2});
  CHECK(std::move(m).finish() ==
        "# TYPE x_requests counter\n"
        "# HELP x_requests Requests \\\\ answered.\n"
        "x_requests_total{op=\"a\\\"b\\\\c\\nd\"} 3\n"
        "# TYPE x_open gauge\n"
        "# HELP x_open Open now.\n"
        "x_open 2\n"
        "# EOF\n");
}

TEST_CASE("metrics text: a histogram has cumulative buckets up to +Inf, a count and a sum") {
  durationd::storage::Histogram h{1, 2, 4};
  for (double v : {0.5, 1.0, 3.0, 3.5, 100.0}) h.observe(v);
  MetricsText m;
  m.family("x_seconds", MetricType::kHistogram, "Time.", "seconds");
  m.sample({{"db", "a"}}, h);
  CHECK(std::move(m).finish() ==
        "# TYPE x_seconds histogram\n"
        "# HELP x_seconds Time.\n"
        "# UNIT x_seconds seconds\n"
        "x_seconds_bucket{db=\"a\",le=\"1.0\"} 2\n"
        "x_seconds_bucket{db=\"a\",le=\"2.0\"} 2\n"
        "x_seconds_bucket{db=\"a\",le=\"4.0\"} 4\n"
        "x_seconds_bucket{db=\"a\",le=\"+Inf\"} 5\n"
        "x_seconds_count{db=\"a\"} 5\n"
        "x_seconds_sum{db=\"a\"} 108.0\n"
        "# EOF\n");
}

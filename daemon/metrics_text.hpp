// Writes the OpenMetrics text exposition format (https://openmetrics.io, version 1.0.0):
// families introduced by # TYPE / # HELP (/ # UNIT), samples with escaped labels,
// counters as <name>_total, histograms as cumulative _bucket{le=...} with +Inf, _count
// and _sum, and the mandatory "# EOF" at the end.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "storage/histogram.hpp"

namespace durationd::app {

enum class MetricType : std::uint8_t { kCounter, kGauge, kHistogram };

class MetricsText {
 public:
  using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;
  static constexpr std::string_view kContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

  // Starts a metric family; its samples follow. `unit`, when given, must end `name`.
  void family(std::string_view name, MetricType type, std::string_view help, std::string_view unit = {});

  // A sample of the current counter or gauge family.
  void sample(Labels labels, double value);
  void sample(Labels labels, std::uint64_t value);
  void sample(std::uint64_t value) { sample({}, value); }
  // The samples of one histogram of the current family.
  void sample(Labels labels, const storage::Histogram& histogram);

  // The whole exposition, "# EOF" appended.
  std::string finish() &&;

 private:
  void line(std::string_view suffix, Labels labels, std::pair<std::string_view, std::string_view> extra,
            std::string_view value);

  std::string out_;
  std::string name_;
  MetricType type_ = MetricType::kGauge;
};

// A number as OpenMetrics wants it: the shortest decimal that reads back exactly, with
// ".0" on integral values ("1.0", "0.0005"), "+Inf" for infinity.
std::string format_metric_number(double value);

}  // namespace durationd::app

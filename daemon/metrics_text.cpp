#include "daemon/metrics_text.hpp"

#include <charconv>
#include <cmath>

namespace durationd::app {
namespace {

std::string_view type_name(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "unknown";
}

void append_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

}  // namespace

std::string format_metric_number(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::isnan(value)) return "NaN";
  char buffer[64];
  // Fixed notation, shortest round-trip digits: what OpenMetrics parsers call canonical
  // for bucket bounds (Python's repr of 0.0005 is "0.0005", never "5e-04").
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed);
  std::string text(buffer, ec == std::errc() ? end : buffer);
  if (text.find('.') == std::string::npos) text += ".0";
  return text;
}

void MetricsText::family(std::string_view name, MetricType type, std::string_view help, std::string_view unit) {
  name_ = name;
  type_ = type;
  out_ += "# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type_name(type);
  out_ += "\n# HELP ";
  out_ += name;
  out_ += ' ';
  append_escaped(out_, help);
  out_ += '\n';
  if (!unit.empty()) {
    out_ += "# UNIT ";
    out_ += name;
    out_ += ' ';
    out_ += unit;
    out_ += '\n';
  }
}

void MetricsText::line(std::string_view suffix, Labels labels, std::pair<std::string_view, std::string_view> extra,
                       std::string_view value) {
  out_ += name_;
  out_ += suffix;
  bool first = true;
  auto label = [&](std::string_view key, std::string_view text) {
    out_ += first ? '{' : ',';
    first = false;
    out_ += key;
    out_ += "=\"";
    append_escaped(out_, text);
    out_ += '"';
  };
  for (const auto& [key, text] : labels) label(key, text);
  if (!extra.first.empty()) label(extra.first, extra.second);
  if (!first) out_ += '}';
  out_ += ' ';
  out_ += value;
  out_ += '\n';
}

void MetricsText::sample(Labels labels, double value) {
  line(type_ == MetricType::kCounter ? "_total" : "", labels, {}, format_metric_number(value));
}

void MetricsText::sample(Labels labels, std::uint64_t value) {
  line(type_ == MetricType::kCounter ? "_total" : "", labels, {}, std::to_string(value));
}

void MetricsText::sample(Labels labels, const storage::Histogram& histogram) {
  std::uint64_t cumulative = 0;
  const auto& bounds = histogram.bounds();
  const auto& counts = histogram.counts();
  for (std::size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    const std::string le = i < bounds.size() ? format_metric_number(bounds[i]) : "+Inf";
    line("_bucket", labels, {"le", le}, std::to_string(cumulative));
  }
  line("_count", labels, {}, std::to_string(histogram.count()));
  line("_sum", labels, {}, format_metric_number(histogram.sum()));
}

std::string MetricsText::finish() && {
  out_ += "# EOF\n";
  return std::move(out_);
}

}  // namespace durationd::app

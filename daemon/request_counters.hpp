// Requests answered, by op and outcome (ok or the error code), for admin.metrics.
// Indexed by OpSpec::index so counting costs an array increment on the hot path; frames
// refused before an op is known and unknown ops share one row, so a peer cannot grow
// the table by inventing names. Event-loop thread only.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/wire_error.hpp"

namespace durationd::app {

class RequestCounters {
 public:
  // ok, then one slot per WireCode in its declaration order.
  static constexpr std::size_t kOutcomes = static_cast<std::size_t>(ipc::WireCode::kInternal) + 2;
  using Row = std::array<std::uint64_t, kOutcomes>;

  // `op_names`: OpRegistry::names(), complete; it must outlive the counters.
  explicit RequestCounters(const std::vector<std::string>& op_names)
      : op_names_(op_names), rows_(op_names.size() + 1, Row{}) {}

  // `op_index`: OpSpec::index, or nullopt when no registered op was reached.
  void count(std::optional<std::size_t> op_index, const std::optional<ipc::WireCode>& error) {
    Row& row = rows_[op_index ? *op_index : rows_.size() - 1];
    ++row[error ? static_cast<std::size_t>(*error) + 1 : 0];
  }

  // Rows in OpSpec::index order; the last is "no op".
  const std::vector<Row>& rows() const { return rows_; }
  // The op of row `i`; empty for the last ("no op") row.
  std::string_view op_name(std::size_t i) const { return i < op_names_.size() ? op_names_[i] : std::string_view(); }

 private:
  const std::vector<std::string>& op_names_;
  std::vector<Row> rows_;
};

}  // namespace durationd::app

// A fixed-bucket histogram in the manner of Prometheus's client libraries: each bucket
// counts the observations at or below its bound and above the previous one; readers
// accumulate. Observing is a short scan and two additions, cheap enough for every commit.
// Not synchronised: the owner guards it.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

namespace durationd::storage {

class Histogram {
 public:
  // `bounds` ascending; one more bucket (+Inf) catches everything above the last.
  Histogram(std::initializer_list<double> bounds) : bounds_(bounds), counts_(bounds_.size() + 1, 0) {}

  void observe(double value) {
    std::size_t i = 0;
    while (i < bounds_.size() && value > bounds_[i]) ++i;
    ++counts_[i];
    ++count_;
    sum_ += value;
  }

  const std::vector<double>& bounds() const { return bounds_; }
  // Per bucket, not cumulative; the last is the +Inf bucket.
  const std::vector<std::uint64_t>& counts() const { return counts_; }
  std::uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

}  // namespace durationd::storage

#include "daemon/heartbeat.hpp"

#include <cstdlib>

#include "daemon/service_manager.hpp"

namespace durationd::app {
namespace {

// STATUS= alone (no watchdog armed) is refreshed at this pace.
constexpr std::chrono::microseconds kStatusPeriod = std::chrono::seconds(5);

}  // namespace

Heartbeat::Heartbeat(const boost::asio::any_io_executor& loop, std::function<std::string()> summary)
    : timer_(loop), summary_(std::move(summary)) {
  if (std::getenv("NOTIFY_SOCKET") == nullptr) return;
  if (const auto interval = watchdog_interval()) {
    watchdog_ = true;
    // sd_watchdog_enabled(3) advises half; a third leaves room for a slow beat.
    period_ = std::max(*interval / 3, std::chrono::microseconds(1000));
  } else {
    period_ = kStatusPeriod;
  }
}

void Heartbeat::start() {
  if (period_.count() == 0) return;
  if (watchdog_) notify_watchdog();
  arm();
}

void Heartbeat::stop() {
  period_ = std::chrono::microseconds(0);
  timer_.cancel();
}

void Heartbeat::arm() {
  timer_.expires_after(period_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || period_.count() == 0) return;
    if (watchdog_) notify_watchdog();
    // Only a changed summary is sent: an idle daemon writes nothing but the beat.
    if (std::string status = summary_(); status != last_status_) {
      notify_status(status);
      last_status_ = std::move(status);
    }
    arm();
  });
}

}  // namespace durationd::app

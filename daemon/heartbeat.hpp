// Keeps the service manager informed from the event loop itself: WATCHDOG=1 at a third
// of WatchdogSec=, so a loop that is stuck misses it and systemd restarts the service,
// and STATUS= with a one-line summary kept current. Without NOTIFY_SOCKET it does
// nothing at all.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

namespace durationd::app {

class Heartbeat {
 public:
  // `summary` is called on the event loop at each beat.
  Heartbeat(const boost::asio::any_io_executor& loop, std::function<std::string()> summary);

  void start();
  void stop();  // lets the event loop run out of work

 private:
  void arm();

  boost::asio::steady_timer timer_;
  std::function<std::string()> summary_;
  std::chrono::microseconds period_{0};  // 0: nothing to send
  bool watchdog_ = false;
  std::string last_status_;
};

}  // namespace durationd::app

#include "daemon/service_manager.hpp"

#include <systemd/sd-daemon.h>

#include <ctime>
#include <string>

namespace durationd::app {
namespace {

void notify(const std::string& state) {
  // unset_environment = 0: children we never start would not need it, and tests read
  // NOTIFY_SOCKET again after a reload.
  ::sd_notify(0, state.c_str());
}

}  // namespace

void notify_ready(std::string_view status) { notify("READY=1\nSTATUS=" + std::string(status)); }
void notify_status(std::string_view status) { notify("STATUS=" + std::string(status)); }
void notify_stopping(std::string_view status) { notify("STOPPING=1\nSTATUS=" + std::string(status)); }

void notify_reloading() {
  // MONOTONIC_USEC: systemd 253+ (Type=notify-reload) requires it; 252 ignores it.
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const auto usec = static_cast<long long>(now.tv_sec) * 1'000'000 + now.tv_nsec / 1'000;
  notify("RELOADING=1\nSTATUS=reloading the configuration\nMONOTONIC_USEC=" + std::to_string(usec));
}

}  // namespace durationd::app

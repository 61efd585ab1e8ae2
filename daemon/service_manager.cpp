#include "daemon/service_manager.hpp"

#include <systemd/sd-daemon.h>

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

}  // namespace durationd::app

#include "daemon/logging.hpp"

#include <sys/stat.h>

#include <cstdlib>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>

namespace durationd::app {
namespace {

// systemd sets JOURNAL_STREAM when stderr is connected to the journal; the native
// socket carries the priority of each line, which a stderr stream would lose.
bool journal_wanted(bool foreground) {
  struct stat st{};
  return !foreground && std::getenv("JOURNAL_STREAM") != nullptr &&
         ::stat("/run/systemd/journal/socket", &st) == 0 && S_ISSOCK(st.st_mode);
}

}  // namespace

void setup_logging(std::string_view level, bool foreground) {
  std::shared_ptr<spdlog::logger> logger;
  if (journal_wanted(foreground)) {
    logger = spdlog::systemd_logger_mt("durationd", "durationd");
  } else {
    logger = spdlog::stderr_color_mt("durationd");
    // The colour sink drops colours by itself when stderr is not a terminal.
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  }
  logger->set_level(spdlog::level::from_str(std::string(level)));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

void set_log_level(std::string_view level) { spdlog::set_level(spdlog::level::from_str(std::string(level))); }

}  // namespace durationd::app

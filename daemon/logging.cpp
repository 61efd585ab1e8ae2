#include "daemon/logging.hpp"

#include <cstdlib>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace durationd::app {

void setup_logging(std::string_view level, bool foreground) {
  auto logger = spdlog::stderr_color_mt("durationd");
  const bool to_journal = !foreground && std::getenv("JOURNAL_STREAM") != nullptr;
  // The colour sink drops colours by itself when stderr is not a terminal.
  logger->set_pattern(to_journal ? "%v" : "%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(spdlog::level::from_str(std::string(level)));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace durationd::app

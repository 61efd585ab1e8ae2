#include "daemon/serve.hpp"

#include <sys/stat.h>

#include <csignal>
#include <cstring>
#include <stdexcept>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "daemon/access_policy.hpp"
#include "daemon/app_service.hpp"
#include "daemon/config.hpp"
#include "daemon/core_family.hpp"
#include "daemon/logging.hpp"
#include "daemon/service_manager.hpp"
#include "durationd/version.hpp"
#include "ipc/server.hpp"
#include "ipc/unix_listener.hpp"

namespace durationd::app {
namespace asio = boost::asio;
namespace {

// The state dir holds the encrypted databases: only the daemon's user may enter it.
void prepare_state_dir(const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw std::runtime_error("state dir " + dir.string() + ": cannot create: " + std::strerror(errno));
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw std::runtime_error("state dir " + dir.string() + ": not a directory");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    throw std::runtime_error("state dir " + dir.string() + " has mode " + mode +
                             "; it must not be accessible by group or others (chmod 700)");
  }
}

}  // namespace

int serve(const Options& options) {
  // Every file we create is ours alone unless we say otherwise (the socket is 0660).
  ::umask(077);
  std::signal(SIGPIPE, SIG_IGN);
  const Config config = options.config_file ? load_config(*options.config_file) : Config{};
  setup_logging(config.log_level, options.foreground);
  prepare_state_dir(options.state_dir);

  asio::io_context io(1);
  ipc::BoundSocket bound;
  auto acceptor = ipc::bind_unix_listener(io.get_executor(), options.socket, bound);

  OpRegistry registry;
  register_core_family(registry, config.max_frame);
  AccessPolicy policy;
  AppService service(registry, policy);
  ipc::Server server(std::move(acceptor), service, {config.max_frame, config.idle_timeout});
  server.start();

  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("received {}, finishing in-flight requests", signal == SIGTERM ? "SIGTERM" : "SIGINT");
    notify_stopping("stopping");
    server.stop();
  });

  spdlog::info("durationd {} listening on {} (state dir {})", kVersion, options.socket.string(),
               options.state_dir.string());
  notify_ready("serving on " + options.socket.string());
  io.run();

  ipc::remove_bound_socket(bound);
  spdlog::info("durationd stopped");
  return 0;
}

}  // namespace durationd::app

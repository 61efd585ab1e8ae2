#include "daemon/serve.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <functional>
#include <stdexcept>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "crypto/core_dumps.hpp"
#include "crypto/key_source.hpp"
#include "daemon/access_policy.hpp"
#include "daemon/app_service.hpp"
#include "daemon/config.hpp"
#include "daemon/databases.hpp"
#include "daemon/family.hpp"
#include "daemon/heap_tuning.hpp"
#include "daemon/heartbeat.hpp"
#include "daemon/logging.hpp"
#include "daemon/service_manager.hpp"
#include "durationd/version.hpp"
#include "ipc/server.hpp"
#include "ipc/unix_listener.hpp"
#include "storage/store.hpp"

namespace durationd::app {
namespace asio = boost::asio;
namespace {

// Every connection is a descriptor. The soft limit a service starts with (1024 under
// systemd, kept low for select()) would refuse connections long before max_connections;
// this process uses epoll only, so it takes the hard limit, as systemd's
// documentation of LimitNOFILE= advises such programs to do.
void raise_descriptor_limit(std::size_t max_connections) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0)
      spdlog::warn("cannot raise the descriptor limit to {}: {}", limit.rlim_max, std::strerror(errno));
  }
  // Databases, their journals, the listener, the journal socket: a few dozen besides.
  constexpr std::size_t kReserved = 64;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < max_connections + kReserved)
    spdlog::warn("the descriptor limit ({}) is below max_connections ({}) plus {} for the daemon's own files: "
                 "connections beyond it will wait; raise LimitNOFILE=",
                 limit.rlim_cur, max_connections, kReserved);
}

// The state dir holds the encrypted databases: only the daemon's user may enter it.
// Returns a descriptor holding an exclusive lock on it, so two daemons never share one
// state dir (as PostgreSQL's postmaster.pid does); the lock dies with the process.
int prepare_state_dir(const std::filesystem::path& dir) {
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
  const auto lock_path = dir / "durationd.lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw std::runtime_error("state dir " + dir.string() + ": cannot open its lock: " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
    throw std::runtime_error("state dir " + dir.string() + " is in use by another durationd");
  return fd;
}

// Loads the passphrase, derives every database's key once, and opens the databases.
// The passphrase itself is wiped before this returns: only derived keys stay in memory.
std::unique_ptr<storage::Store> open_store(const Options& options, const Config& config) {
  auto key = crypto::load_passphrase({options.key_file});
  if (!key) throw std::runtime_error(key.error().message);
  const auto started = std::chrono::steady_clock::now();
  auto store = storage::Store::open({options.state_dir, config.kdf_iterations, config.pool_size},
                                    key->passphrase.view(), database_specs());
  if (!store) throw std::runtime_error(store.error().message);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  spdlog::info("databases open ({} ms, key from {}, PBKDF2-HMAC-SHA512 x {})", ms.count(), key->origin,
               config.kdf_iterations);
  return std::move(*store);
}

// The listening socket: the one systemd handed us (socket activation: the .socket unit
// owns its file, mode and group, so it is never unlinked, rebound or chowned), or one
// bound at --socket. `bound` stays empty for a handed socket, so shutdown leaves it.
ipc::Acceptor open_listener(asio::io_context& io, const Options& options, const Config& config,
                            ipc::BoundSocket& bound) {
  if (const auto fd = socket_from_manager()) {
    spdlog::info("listening on the socket handed over by the service manager");
    return ipc::adopt_unix_listener(io.get_executor(), *fd);
  }
  // Resolved before binding, so a bad group name leaves no socket behind.
  const std::optional<gid_t> socket_gid =
      config.socket_group.empty() ? std::nullopt : std::optional<gid_t>(resolve_group(config.socket_group));
  auto acceptor = ipc::bind_unix_listener(io.get_executor(), options.socket, bound);
  if (socket_gid && ::chown(options.socket.c_str(), static_cast<uid_t>(-1), *socket_gid) != 0) {
    ipc::remove_bound_socket(bound);
    throw std::runtime_error("socket " + options.socket.string() + ": cannot give it to group " + config.socket_group +
                             ": " + std::strerror(errno));
  }
  return acceptor;
}

std::string status_line(const std::string& serving, const ipc::ServerStats& s) {
  return serving + ": " + std::to_string(s.connections_current) + " connections, " +
         std::to_string(s.requests_total) + " requests (" + std::to_string(s.requests_errors) + " errors)";
}

// SIGHUP: re-reads the config file. The log level applies at once; every other key is
// read at start only, and a change to one is reported rather than silently ignored.
void reload_config(const Options& options, const Config& running) {
  if (!options.config_file) {
    spdlog::info("SIGHUP: no --config file to re-read");
    return;
  }
  try {
    Config fresh = load_config(*options.config_file);
    set_log_level(fresh.log_level);
    spdlog::info("SIGHUP: {} re-read; log level {}", options.config_file->string(), fresh.log_level);
    fresh.log_level = running.log_level;
    if (!(fresh == running))
      spdlog::warn("SIGHUP: {} changed keys other than log_level; they take effect at the next restart",
                   options.config_file->string());
  } catch (const std::exception& e) {
    spdlog::error("SIGHUP: {}; the running configuration stays in force", e.what());
  }
}

}  // namespace

int serve(const Options& options) {
  // Every file we create is ours alone unless we say otherwise (the socket is 0660).
  ::umask(077);
  std::signal(SIGPIPE, SIG_IGN);
  // Big short-lived buffers (cache write batches) get their own mappings instead of
  // leaving resident holes among the cache's entries (daemon/heap_tuning.hpp).
  keep_large_allocations_off_the_heap();
  // Keys live in this process's memory: no core dumps, no ptrace by other users.
  if (auto hardened = crypto::disable_core_dumps(); !hardened) throw std::runtime_error(hardened.error().message);
  const Config config = options.config_file ? load_config(*options.config_file) : Config{};
  setup_logging(config.log_level, options.foreground);
  raise_descriptor_limit(config.max_connections);
  // Held until the process exits (the kernel releases the lock then).
  [[maybe_unused]] const int state_lock = prepare_state_dir(options.state_dir);
  const AccessPolicy policy(config.access);  // resolves group names: fails before any key work

  // Bind first: a second daemon on a live socket fails fast, before any key derivation.
  asio::io_context io(1);
  ipc::BoundSocket bound;
  auto acceptor = open_listener(io, options, config, bound);
  const std::string socket_path = acceptor.local_endpoint().path();
  std::unique_ptr<storage::Store> store;
  try {
    store = open_store(options, config);
  } catch (...) {
    ipc::remove_bound_socket(bound);
    throw;
  }

  // Database work runs here, never on the event loop; durable writes go through one
  // group-committing writer per database.
  storage::WorkerPool workers(config.pool_size);
  storage::GroupCommitter cache_writer(store->pool(kCacheDatabase));
  storage::GroupCommitter timer_writer(store->pool(kTimersDatabase));
  SecurityLog security({.burst = config.event_log_burst, .window = config.event_log_interval});
  AppContext context{config, *store, workers, cache_writer, timer_writer, policy, io.get_executor(), security};
  OpRegistry registry;
  std::vector<std::unique_ptr<Family>> families;
  make_families(registry, context, families);
  RequestCounters requests(registry.names());
  context.requests = &requests;
  AppService service(registry, policy, security, requests,
                     {config.max_connections, config.max_connections_per_uid});
  ipc::Server server(std::move(acceptor), service, {config.max_frame, config.idle_timeout});
  context.server = &server;
  server.start();
  for (auto& family : families) family->start();

  const std::string serving = "serving on " + socket_path;
  Heartbeat heartbeat(io.get_executor(), [&] { return status_line(serving, server.stats()); });
  asio::signal_set hangups(io, SIGHUP);
  std::function<void()> await_hangup = [&] {
    hangups.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      notify_reloading();
      reload_config(options, config);
      notify_ready(serving);
      await_hangup();
    });
  };
  await_hangup();

  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("received {}, finishing in-flight requests", signal == SIGTERM ? "SIGTERM" : "SIGINT");
    notify_stopping("stopping");
    hangups.cancel();
    heartbeat.stop();
    server.stop();
    for (auto& family : families) family->stop();
  });

  spdlog::info("durationd {} listening on {} (state dir {})", kVersion, socket_path, options.state_dir.string());
  notify_ready(serving);
  heartbeat.start();
  io.run();

  ipc::remove_bound_socket(bound);
  // Everything acknowledged or pending reaches the disk before the databases close.
  for (auto& family : families) family->flush();
  cache_writer.flush();
  timer_writer.flush();
  workers.join();
  spdlog::info("durationd stopped");
  return 0;
}

}  // namespace durationd::app

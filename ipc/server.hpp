// The Unix-socket server: an accept loop and one coroutine per connection, all on one
// event loop thread (io_context), in the manner of Asio's cpp20 chat_server example.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <unordered_set>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include "ipc/framing.hpp"
#include "ipc/service.hpp"

namespace durationd::ipc {

struct ServerOptions {
  std::uint32_t max_frame = kDefaultMaxFrame;
  // A request must arrive whole, and a response be taken, within this time.
  std::chrono::milliseconds idle_timeout{60'000};
};

// Counters for admin.status; updated on the event loop thread only.
struct ServerStats {
  std::uint64_t connections_current = 0;
  std::uint64_t connections_total = 0;
  std::uint64_t connections_rejected = 0;
  std::uint64_t requests_total = 0;
  std::uint64_t requests_errors = 0;
};

class Connection;

class Server {
 public:
  using Acceptor = boost::asio::local::stream_protocol::acceptor;

  // `service` must outlive the server; all members are used on the acceptor's executor.
  Server(Acceptor acceptor, Service& service, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Starts accepting (spawns the accept loop on the acceptor's executor).
  void start();
  // Serves one connected socket as the accept loop serves each accepted one: admits the
  // peer (or answers with the refusal and closes), counts it, and starts the connection
  // on the socket's executor. The fuzz target hands it one end of a socket pair.
  void adopt(boost::asio::local::stream_protocol::socket socket, Peer peer);
  // Stops accepting and lets every connection finish the requests it has received;
  // the io_context then runs out of work once they are answered.
  void stop();

  const ServerStats& stats() const { return stats_; }
  const ServerOptions& options() const { return options_; }

 private:
  friend class Connection;
  boost::asio::awaitable<void> accept_loop();
  void forget(Connection* connection);

  Acceptor acceptor_;
  Service& service_;
  ServerOptions options_;
  ServerStats stats_;
  bool stopping_ = false;
  std::unordered_set<Connection*> connections_;
};

}  // namespace durationd::ipc

// One client connection: reads requests in either encoding, hands each to the Service
// in order, and writes the responses back in that order. Owned by its own coroutines
// through shared_from_this.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

#include "ipc/framing.hpp"
#include "ipc/input_buffer.hpp"
#include "ipc/peer.hpp"
#include "ipc/reply.hpp"

namespace durationd::ipc {

class Server;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Socket = boost::asio::local::stream_protocol::socket;

  // `refusal`: answer the first request with it and close (the peer was not admitted).
  Connection(Socket socket, Peer peer, Server& server, std::optional<WireError> refusal);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Spawns the connection's coroutines on its socket's executor.
  void start();
  // Finish what has been received, answer it, then close.
  void stop();

 private:
  enum class Phase { kReading, kServing, kWriting };
  enum class Progress { kNeedMore, kFlush, kClose };
  using Clock = std::chrono::steady_clock;

  boost::asio::awaitable<void> run();
  boost::asio::awaitable<void> watch_deadline();
  boost::asio::awaitable<Progress> serve_buffered();
  boost::asio::awaitable<void> serve_body(Bytes body);
  boost::asio::awaitable<bool> fill();
  boost::asio::awaitable<bool> flush();
  // Answers something the transport itself refused (no id: none could be read).
  void refuse(const WireError& error);
  void enter(Phase phase, bool restart_clock);
  void close();

  Socket socket_;
  boost::asio::steady_timer deadline_timer_;
  Peer peer_;
  Server& server_;
  Encoding encoding_ = Encoding::kInvalid;
  InputBuffer in_;
  std::string out_;
  std::string json_scratch_;  // a JSON line turned into msgpack
  std::size_t line_scanned_ = 0;
  Reply reply_;
  Phase phase_ = Phase::kReading;
  Clock::time_point phase_since_ = Clock::now();
  std::optional<WireError> refusal_;
  bool stopping_ = false;
  bool closed_ = false;
};

}  // namespace durationd::ipc

#include "ipc/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "ipc/connection.hpp"

namespace durationd::ipc {
namespace asio = boost::asio;

Server::Server(Acceptor acceptor, Service& service, ServerOptions options)
    : acceptor_(std::move(acceptor)), service_(service), options_(options) {}

Server::~Server() = default;

void Server::start() {
  asio::co_spawn(acceptor_.get_executor(), accept_loop(), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::critical("accept loop failed: {}", ex.what());
    }
  });
}

void Server::stop() {
  if (stopping_) return;
  stopping_ = true;
  boost::system::error_code ignored;
  acceptor_.cancel(ignored);
  acceptor_.close(ignored);
  // stop() may make a connection forget itself: iterate over a copy.
  const auto live = connections_;
  for (Connection* c : live) c->stop();
}

void Server::forget(Connection* connection) {
  if (connections_.erase(connection) > 0) --stats_.connections_current;
}

asio::awaitable<void> Server::accept_loop() {
  while (!stopping_) {
    auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
    if (stopping_) break;
    if (ec) {
      // Out of descriptors or memory: back off instead of spinning on the error.
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer pause(acceptor_.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    auto peer = read_peer_credentials(socket.native_handle());
    if (!peer) {
      ++stats_.connections_rejected;
      spdlog::warn("refusing a connection whose peer credentials cannot be read");
      continue;
    }
    adopt(std::move(socket), std::move(*peer));
  }
}

void Server::adopt(boost::asio::local::stream_protocol::socket socket, Peer peer) {
  auto refusal = service_.admit(peer);
  if (refusal) {
    ++stats_.connections_rejected;
  } else {
    ++stats_.connections_total;
  }
  ++stats_.connections_current;
  auto connection = std::make_shared<Connection>(std::move(socket), std::move(peer), *this, std::move(refusal));
  connections_.insert(connection.get());
  connection->start();
}

}  // namespace durationd::ipc

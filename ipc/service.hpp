// The boundary between transport and application, as in dragonfly's facade: the
// transport frames, parses envelopes and keeps order; a Service decides what each
// operation does. ipc/ knows nothing of storage or of any operation but the envelope.
#pragma once

#include <optional>

#include <boost/asio/awaitable.hpp>

#include "ipc/envelope.hpp"
#include "ipc/peer.hpp"
#include "ipc/reply.hpp"

namespace durationd::ipc {

class Service {
 public:
  virtual ~Service() = default;

  // Serves one request on the event loop; the reply is complete when the awaitable
  // finishes. Requests of one connection are handed over one at a time, in order. The
  // request's views stay valid until then. Must not block: blocking work goes to a
  // worker pool and is awaited.
  virtual boost::asio::awaitable<void> handle(const Request& request, const Peer& peer, Reply& reply) = 0;

  // Called once per accepted connection. nullopt admits the peer; an error (FORBIDDEN,
  // BUSY) becomes the connection's only response, in the client's encoding, and the
  // connection is closed. Every admitted peer is later passed to on_closed.
  virtual std::optional<WireError> admit(const Peer& peer) = 0;
  virtual void on_closed(const Peer& peer) = 0;

  // The transport refused something on its own (a broken frame, an undecodable line):
  // the application may record it as a security event.
  virtual void on_rejected(const Peer& peer, const WireError& error) = 0;
};

}  // namespace durationd::ipc

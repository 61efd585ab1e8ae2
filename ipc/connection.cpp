#include "ipc/connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "ipc/envelope.hpp"
#include "ipc/json_codec.hpp"
#include "ipc/server.hpp"

namespace durationd::ipc {
namespace asio = boost::asio;
namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
// Responses are sent once this much is pending even if more requests are buffered,
// so a pipelining client that never reads cannot make us hold more than this.
constexpr std::size_t kFlushBytes = 256 * 1024;
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kKeepOutputCapacity = 1024 * 1024;

}  // namespace

Connection::Connection(Socket socket, Peer peer, Server& server, std::optional<WireError> refusal)
    : socket_(std::move(socket)),
      deadline_timer_(socket_.get_executor()),
      peer_(std::move(peer)),
      server_(server),
      refusal_(std::move(refusal)) {}

void Connection::start() {
  auto self = shared_from_this();
  auto log_exception = [self](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("connection from uid {} pid {}: {}", self->peer_.uid, self->peer_.pid, ex.what());
    }
    self->close();
  };
  asio::co_spawn(socket_.get_executor(), run(), log_exception);
  asio::co_spawn(socket_.get_executor(), watch_deadline(), log_exception);
}

void Connection::stop() {
  stopping_ = true;
  // Waiting for a request: nothing received is left unanswered, so stop waiting.
  if (phase_ == Phase::kReading) {
    boost::system::error_code ignored;
    socket_.cancel(ignored);
  }
}

void Connection::enter(Phase phase, bool restart_clock) {
  phase_ = phase;
  if (restart_clock) phase_since_ = Clock::now();
}

void Connection::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.shutdown(Socket::shutdown_both, ignored);
  socket_.close(ignored);
  deadline_timer_.cancel();
  if (!refusal_) server_.service_.on_closed(peer_);
  server_.forget(this);
}

asio::awaitable<void> Connection::watch_deadline() {
  auto self = shared_from_this();
  const auto timeout = server_.options().idle_timeout;
  // Lazy deadline: phase changes only store a time; this loop wakes at the earliest
  // possible expiry and re-arms, so the hot path never touches the timer.
  while (!closed_) {
    const bool counting = phase_ != Phase::kServing;
    deadline_timer_.expires_at((counting ? phase_since_ : Clock::now()) + timeout);
    co_await deadline_timer_.async_wait(kUseTuple);
    if (closed_) break;
    if (phase_ != Phase::kServing && Clock::now() >= phase_since_ + timeout) {
      spdlog::info("closing connection from uid {} pid {}: idle for {} ms", peer_.uid, peer_.pid,
                   timeout.count());
      close();
    }
  }
}

asio::awaitable<void> Connection::run() {
  auto self = shared_from_this();
  if (co_await fill()) {
    encoding_ = encoding_for_first_byte(in_.readable()[0]);
    if (encoding_ == Encoding::kInvalid) {
      encoding_ = Encoding::kJsonLines;  // the contract answers an unknown encoding in JSON
      refuse({WireCode::kBadFrame, "unknown encoding: the first byte must be 0x00 (binary) or '{' (JSON lines)"});
      co_await flush();
    } else {
      for (;;) {
        const std::size_t buffered_before = in_.readable().size();
        const Progress progress = co_await serve_buffered();
        if (!co_await flush() || progress == Progress::kClose) break;
        if (progress == Progress::kFlush) continue;
        if (stopping_) break;
        // The idle clock restarts only when a request completed: a client trickling
        // bytes of one request gets no more time than one that sends nothing.
        const bool served_something = in_.readable().size() != buffered_before || in_.empty();
        enter(Phase::kReading, served_something);
        if (!co_await fill()) break;
      }
    }
  }
  close();
}

asio::awaitable<Connection::Progress> Connection::serve_buffered() {
  const std::uint32_t max_frame = server_.options().max_frame;
  while (out_.size() < kFlushBytes) {
    const Bytes buffered = in_.readable();
    if (encoding_ == Encoding::kBinary) {
      const FrameScan scan = scan_binary_frame(buffered, max_frame);
      if (scan.status == FrameStatus::kNeedMore) co_return Progress::kNeedMore;
      if (scan.status == FrameStatus::kBadLength) {
        refuse({WireCode::kBadFrame, "frame length " + std::to_string(scan.body_bytes) + " is outside 1.." +
                                         std::to_string(max_frame)});
        co_return Progress::kClose;
      }
      const Bytes body = buffered.subspan(kFrameHeaderBytes, scan.body_bytes);
      if (!is_single_msgpack_object(body)) {
        refuse({WireCode::kBadFrame, "frame body is not exactly one msgpack object"});
        co_return Progress::kClose;
      }
      co_await serve_body(body);
      in_.consume(kFrameHeaderBytes + scan.body_bytes);
      if (refusal_) co_return Progress::kClose;
      continue;
    }

    const LineScan scan = scan_json_line(as_chars(buffered), line_scanned_, max_frame);
    if (scan.status == LineStatus::kTooLong) {
      refuse({WireCode::kBadFrame, "line longer than " + std::to_string(max_frame) + " bytes"});
      co_return Progress::kClose;
    }
    if (scan.status == LineStatus::kNeedMore) {
      line_scanned_ = scan.scanned_bytes;
      co_return Progress::kNeedMore;
    }
    line_scanned_ = 0;
    const std::string_view line = as_chars(buffered.first(scan.line_bytes));
    if (!is_blank_line(line)) {
      json_scratch_.clear();
      if (auto converted = json_to_msgpack(line, json_scratch_); !converted) {
        ++server_.stats_.requests_total;
        ++server_.stats_.requests_errors;
        refuse(converted.error());
      } else {
        co_await serve_body(as_bytes(json_scratch_));
      }
      if (refusal_) co_return Progress::kClose;
    }
    in_.consume(scan.line_bytes + 1);
  }
  co_return Progress::kFlush;
}

asio::awaitable<void> Connection::serve_body(Bytes body) {
  ++server_.stats_.requests_total;
  auto request = parse_request(body);
  if (refusal_) {
    // Not admitted: the first request gets the refusal (with its id), then the close.
    append_error_response(encoding_, request ? request->id : request.error().id, *refusal_, out_);
    co_return;
  }
  if (!request) {
    ++server_.stats_.requests_errors;
    append_error_response(encoding_, request.error().id, request.error().error, out_);
    co_return;
  }
  reply_.reset();
  enter(Phase::kServing, false);
  try {
    co_await server_.service_.handle(*request, peer_, reply_);
  } catch (const std::exception& e) {
    spdlog::error("op {} from uid {} pid {} failed: {}", request->op, peer_.uid, peer_.pid, e.what());
    reply_.fail(WireCode::kInternal, "internal error; details are in the daemon's log");
  }
  if (const auto& error = reply_.error()) {
    ++server_.stats_.requests_errors;
    append_error_response(encoding_, request->id, *error, out_);
  } else {
    append_ok_response(encoding_, request->id, reply_.result_bytes(), out_);
  }
}

asio::awaitable<bool> Connection::fill() {
  if (closed_) co_return false;
  const auto space = in_.prepare(kReadChunk);
  auto [ec, n] = co_await socket_.async_read_some(asio::buffer(space.data(), space.size()), kUseTuple);
  if (ec) co_return false;  // EOF, reset, cancelled by stop() or the deadline
  in_.commit(n);
  co_return true;
}

asio::awaitable<bool> Connection::flush() {
  if (out_.empty()) co_return !closed_;
  if (closed_) co_return false;
  enter(Phase::kWriting, true);
  auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(out_), kUseTuple);
  out_.clear();
  if (out_.capacity() > kKeepOutputCapacity) std::string().swap(out_);
  co_return !ec;
}

void Connection::refuse(const WireError& error) {
  server_.service_.on_rejected(peer_, error);
  append_error_response(encoding_, std::nullopt, error, out_);
}

}  // namespace durationd::ipc

#include "bench/bench_wire.hpp"

#include <charconv>
#include <cstring>
#include <stdexcept>

#include "ipc/client.hpp"
#include "ipc/framing.hpp"
#include "ipc/msgpack_reader.hpp"
#include "ipc/msgpack_writer.hpp"

namespace durationd::bench {

namespace {

// {"op": <op>, "args": {<nargs pairs>...: the caller writes them}}, after a length placeholder.
std::string durationd_prefix(std::string_view op, std::uint32_t nargs) {
  std::string out(ipc::kFrameHeaderBytes, '\0');
  ipc::StringSink sink(out);
  ipc::MsgpackWriter w(sink);
  w.pack_map(nargs == 0 ? 1 : 2);
  ipc::pack_str(w, "op");
  ipc::pack_str(w, op);
  if (nargs > 0) {
    ipc::pack_str(w, "args");
    w.pack_map(nargs);
  }
  return out;
}

std::string resp_bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}

// The value's bytes do not matter to either server; a fixed pattern keeps runs repeatable.
std::string pattern(std::size_t size) {
  std::string v(size, '\0');
  for (std::size_t i = 0; i < size; ++i) v[i] = static_cast<char>('a' + i % 26);
  return v;
}

}  // namespace

RequestTemplate RequestTemplate::ping(Wire wire) {
  RequestTemplate t(wire, false);
  t.prefix_ = wire == Wire::kDurationd ? durationd_prefix("ping", 0) : "*1\r\n" + resp_bulk("PING");
  return t;
}

RequestTemplate RequestTemplate::get(Wire wire) {
  RequestTemplate t(wire, true);
  if (wire == Wire::kDurationd) {
    t.prefix_ = durationd_prefix("cache.get", 1);
    ipc::StringSink sink(t.prefix_);
    ipc::MsgpackWriter w(sink);
    ipc::pack_str(w, "key");
  } else {
    t.prefix_ = "*2\r\n" + resp_bulk("GET");
  }
  return t;
}

RequestTemplate RequestTemplate::put(Wire wire, std::size_t value_size, bool durable) {
  RequestTemplate t(wire, true);
  const std::string value = pattern(value_size);
  if (wire == Wire::kDurationd) {
    t.prefix_ = durationd_prefix("cache.put", durable ? 3 : 2);
    {
      ipc::StringSink sink(t.prefix_);
      ipc::MsgpackWriter w(sink);
      ipc::pack_str(w, "key");
    }
    ipc::StringSink sink(t.suffix_);
    ipc::MsgpackWriter w(sink);
    ipc::pack_str(w, "value");
    w.pack_bin(static_cast<std::uint32_t>(value.size()));
    w.pack_bin_body(value.data(), static_cast<std::uint32_t>(value.size()));
    if (durable) {
      ipc::pack_str(w, "durable");
      w.pack_true();
    }
  } else {
    t.prefix_ = "*3\r\n" + resp_bulk("SET");
    t.suffix_ = resp_bulk(value);
  }
  return t;
}

RequestTemplate RequestTemplate::interrupt(std::uint64_t session_id, bool brief) {
  RequestTemplate t(Wire::kDurationd, false);
  t.prefix_ = durationd_prefix("timer.interrupt", brief ? 3 : 2);
  ipc::StringSink sink(t.prefix_);
  ipc::MsgpackWriter w(sink);
  ipc::pack_str(w, "id");
  w.pack_uint64(session_id);
  ipc::pack_str(w, "reason");
  ipc::pack_str(w, "bench");
  if (brief) {
    ipc::pack_str(w, "brief");
    w.pack_true();
  }
  return t;
}

void RequestTemplate::append(std::string& out, std::uint64_t key) const {
  const std::size_t at = out.size();
  out.append(prefix_);
  if (keyed_) {
    char digits[24];
    const char* end = std::to_chars(digits, digits + sizeof digits, key).ptr;
    const std::string_view number(digits, static_cast<std::size_t>(end - digits));
    const std::size_t key_bytes = 4 + number.size();  // "key:" + digits, at most 24: a fixstr
    if (wire_ == Wire::kDurationd) {
      out.push_back(static_cast<char>(0xa0 | key_bytes));
      out.append("key:").append(number);
    } else {
      char len[4];
      char* len_end = std::to_chars(len, len + sizeof len, key_bytes).ptr;
      out.append("$").append(len, len_end).append("\r\nkey:").append(number).append("\r\n");
    }
  }
  out.append(suffix_);
  if (wire_ == Wire::kDurationd) ipc::finish_binary_frame(out, at);
}

namespace {

// The envelope's "ok", without decoding the result (which may be a large session).
ReplyScan scan_frame(std::string_view buffered) {
  ReplyScan scan;
  const ipc::FrameScan frame = ipc::scan_binary_frame(ipc::as_bytes(buffered), ipc::kDefaultMaxFrame);
  if (frame.status == ipc::FrameStatus::kBadLength) {
    scan.status = ReplyStatus::kMalformed;
    return scan;
  }
  if (buffered.size() >= ipc::kFrameHeaderBytes) scan.bytes = ipc::kFrameHeaderBytes + frame.body_bytes;
  if (frame.status == ipc::FrameStatus::kNeedMore) return scan;
  ipc::MsgpackReader r(ipc::as_bytes(buffered.substr(ipc::kFrameHeaderBytes, frame.body_bytes)));
  ipc::MsgToken t;
  scan.status = ReplyStatus::kMalformed;
  if (!r.next(t) || t.kind != ipc::MsgKind::kMap) return scan;
  for (std::uint32_t i = 0, n = t.count; i < n; ++i) {
    ipc::MsgToken key;
    if (!r.next(key)) return scan;
    if (key.kind == ipc::MsgKind::kStr && ipc::as_chars(key.payload) == "ok") {
      ipc::MsgToken value;
      if (!r.next(value) || value.kind != ipc::MsgKind::kBool) return scan;
      scan.ok = value.boolean;
      scan.status = ReplyStatus::kComplete;
      return scan;
    }
    if (!r.skip()) return scan;
  }
  return scan;  // no "ok": not a response
}

// RESP replies to PING, GET and SET: +simple, -error, :integer, $bulk (or $-1, a miss).
ReplyScan scan_resp(std::string_view buffered) {
  ReplyScan scan;
  const std::size_t nl = buffered.find("\r\n");
  if (nl == std::string_view::npos) return scan;
  const std::size_t line_bytes = nl + 2;
  switch (buffered[0]) {
    case '+': case ':': case '-':
      scan.status = ReplyStatus::kComplete;
      scan.bytes = line_bytes;
      scan.ok = buffered[0] != '-';
      return scan;
    case '$': {
      const std::string_view digits = buffered.substr(1, nl - 1);
      if (digits == "-1") {
        scan.status = ReplyStatus::kComplete;
        scan.bytes = line_bytes;
        return scan;
      }
      std::size_t len = 0;
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
      if (ec != std::errc() || end != digits.data() + digits.size()) break;
      scan.bytes = line_bytes + len + 2;
      if (buffered.size() >= scan.bytes) {
        scan.status = ReplyStatus::kComplete;
        scan.ok = true;
      }
      return scan;
    }
    default: break;
  }
  scan.status = ReplyStatus::kMalformed;
  return scan;
}

}  // namespace

ReplyScan scan_reply(Wire wire, std::string_view buffered) {
  if (buffered.empty()) return {};
  return wire == Wire::kDurationd ? scan_frame(buffered) : scan_resp(buffered);
}

std::string describe_failure(Wire wire, std::string_view reply) {
  if (wire == Wire::kRedis) {
    if (reply.starts_with("$-1")) return "nil (no such key)";
    return std::string(reply.substr(1, reply.find("\r\n") - 1));
  }
  try {
    const ipc::Response r = ipc::decode_response(ipc::as_bytes(reply.substr(ipc::kFrameHeaderBytes)));
    return r.error_code + ": " + r.error_message;
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace durationd::bench

#include "ipc/envelope.hpp"

#include "ipc/json_codec.hpp"
#include "ipc/msgpack_writer.hpp"

namespace durationd::ipc {
namespace {

RequestFailure bad_request(std::string message, std::optional<std::uint64_t> id) {
  return {{WireCode::kBadRequest, std::move(message)}, id};
}

}  // namespace

boost::system::result<Request, RequestFailure> parse_request(Bytes body) {
  MsgpackReader reader(body);
  MsgToken top;
  if (!reader.next(top) || top.kind != MsgKind::kMap) return bad_request("request: must be a map", std::nullopt);

  // One pass to find the three keys (last one wins), then validate id first.
  std::optional<MsgToken> id_token, op_token;
  std::optional<Bytes> args_raw;
  for (std::uint32_t i = 0; i < top.count; ++i) {
    MsgToken key;
    if (!reader.next_key(key)) return bad_request("request: malformed", std::nullopt);
    const std::string_view name = key.kind == MsgKind::kStr ? as_chars(key.payload) : std::string_view{};
    if (name == "id" || name == "op") {
      MsgpackReader value_reader = reader;
      MsgToken value;
      if (!value_reader.next(value)) return bad_request("request: malformed", std::nullopt);
      (name == "id" ? id_token : op_token) = value;
      if (!reader.skip()) return bad_request("request: malformed", std::nullopt);
    } else if (name == "args") {
      Bytes raw;
      if (!reader.read_raw(raw)) return bad_request("request: malformed", std::nullopt);
      args_raw = raw;
    } else if (!reader.skip()) {
      return bad_request("request: malformed", std::nullopt);
    }
  }

  Request request;
  if (id_token) {
    if (id_token->kind != MsgKind::kUint || id_token->uint > kMaxRequestId)
      return bad_request("id: must be an unsigned integer below 2^53", std::nullopt);
    request.id = id_token->uint;
  }
  if (!op_token) return bad_request("op: missing", request.id);
  if (op_token->kind != MsgKind::kStr) return bad_request("op: must be a string", request.id);
  request.op = as_chars(op_token->payload);
  if (args_raw) {
    MsgpackReader args_reader(*args_raw);
    MsgToken args;
    args_reader.next(args);
    if (args.kind == MsgKind::kMap) {
      request.args = *args_raw;
    } else if (args.kind != MsgKind::kNil) {
      return bad_request("args: must be a map", request.id);
    }
  }
  return request;
}

namespace {

// Both encodings write the same three keys in the same order: id, ok, result|error.
void append_binary(std::optional<std::uint64_t> id, const Bytes* result, const WireError* error,
                   std::string& out) {
  const std::size_t header = begin_binary_frame(out);
  StringSink sink(out);
  MsgpackWriter w(sink);
  w.pack_map(id ? 3 : 2);
  if (id) {
    pack_str(w, "id");
    w.pack_uint64(*id);
  }
  pack_str(w, "ok");
  if (result) {
    w.pack_true();
    pack_str(w, "result");
    out.append(as_chars(*result));
  } else {
    w.pack_false();
    pack_str(w, "error");
    w.pack_map(2);
    pack_str(w, "code");
    pack_str(w, wire_code_name(error->code));
    pack_str(w, "message");
    pack_str(w, error->message);
  }
  finish_binary_frame(out, header);
}

void append_json(std::optional<std::uint64_t> id, const Bytes* result, const WireError* error,
                 std::string& out) {
  out.push_back('{');
  if (id) {
    out += "\"id\":";
    out += std::to_string(*id);
    out.push_back(',');
  }
  if (result) {
    out += "\"ok\":true,\"result\":";
    const std::size_t before = out.size();
    if (!msgpack_to_json(*result, out)) {
      out.resize(before);
      out += "null";
    }
  } else {
    out += "\"ok\":false,\"error\":{\"code\":\"";
    out += wire_code_name(error->code);
    out += "\",\"message\":";
    append_json_string(error->message, out);
    out.push_back('}');
  }
  out += "}\n";
}

}  // namespace

void append_ok_response(Encoding encoding, std::optional<std::uint64_t> id, Bytes result, std::string& out) {
  encoding == Encoding::kBinary ? append_binary(id, &result, nullptr, out) : append_json(id, &result, nullptr, out);
}

void append_error_response(Encoding encoding, std::optional<std::uint64_t> id, const WireError& error,
                           std::string& out) {
  encoding == Encoding::kBinary ? append_binary(id, nullptr, &error, out) : append_json(id, nullptr, &error, out);
}

}  // namespace durationd::ipc

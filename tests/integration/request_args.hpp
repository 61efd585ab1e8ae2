// A request's args map for the binary encoding, built pair by pair:
// RequestArgs().str("key", "k").uint("value", 1).packed().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/client.hpp"
#include "ipc/msgpack_writer.hpp"
#include "ipc/timestamp.hpp"

namespace durationd::test {

class RequestArgs {
 public:
  RequestArgs() : sink_(body_), w_(sink_) {}
  RequestArgs& str(std::string_view k, std::string_view v) {
    key(k);
    ipc::pack_str(w_, v);
    return *this;
  }
  RequestArgs& uint(std::string_view k, std::uint64_t v) {
    key(k);
    w_.pack_uint64(v);
    return *this;
  }
  RequestArgs& sint(std::string_view k, std::int64_t v) {
    key(k);
    w_.pack_int64(v);
    return *this;
  }
  RequestArgs& boolean(std::string_view k, bool v) {
    key(k);
    v ? w_.pack_true() : w_.pack_false();
    return *this;
  }
  RequestArgs& nil(std::string_view k) {
    key(k);
    w_.pack_nil();
    return *this;
  }
  RequestArgs& ts(std::string_view k, std::int64_t ms) {
    key(k);
    ipc::pack_timestamp(w_, {ms / 1000, static_cast<std::uint32_t>(ms % 1000) * 1'000'000});
    return *this;
  }
  RequestArgs& strs(std::string_view k, const std::vector<std::string>& items) {
    key(k);
    w_.pack_array(static_cast<std::uint32_t>(items.size()));
    for (const auto& i : items) ipc::pack_str(w_, i);
    return *this;
  }
  // A value already packed as msgpack.
  RequestArgs& raw(std::string_view k, std::string_view packed_value) {
    key(k);
    body_ += packed_value;
    return *this;
  }
  std::string packed() const {
    std::string out;
    ipc::StringSink sink(out);
    ipc::MsgpackWriter w(sink);
    w.pack_map(pairs_);
    return out + body_;
  }

 private:
  void key(std::string_view k) {
    ++pairs_;
    ipc::pack_str(w_, k);
  }
  std::string body_;
  ipc::StringSink sink_;
  ipc::MsgpackWriter w_;
  std::uint32_t pairs_ = 0;
};

// `op` with `args` on `client`, with a fresh id.
inline ipc::Response call(ipc::Client& client, std::string_view op, const RequestArgs& args = {}) {
  const std::string packed = args.packed();
  return client.call(op, ipc::as_bytes(packed));
}

}  // namespace durationd::test

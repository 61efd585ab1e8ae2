// Reading an operation's `args` map: typed getters that check presence, type, length
// and range, and record the first problem as the contract's error naming the field.
// An absent argument and one given as nil are the same (protocol.md, "Envelope").
//
//   ArgsReader args(call.request.args);
//   auto key = args.str("key", {.min = 1, .max = 1024});
//   auto ttl = args.uint("ttl_ms");
//   if (args.failed()) { reply.fail(args.error()); co_return; }
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/msgpack_reader.hpp"
#include "ipc/timestamp.hpp"
#include "ipc/wire_error.hpp"

namespace durationd::ipc {

struct StrRule {
  std::size_t min = 0;           // shorter: BAD_REQUEST
  std::size_t max = SIZE_MAX;    // longer: TOO_LARGE (the contract's code for strings over their limit)
  bool required = false;         // absent: BAD_REQUEST
  std::string_view alphabet;     // non-empty: every byte must be one of these (BAD_REQUEST)
};

struct UintRule {
  std::uint64_t min = 0;
  std::uint64_t max = UINT64_MAX;  // outside [min, max]: BAD_REQUEST
  bool required = false;
};

class ArgsReader {
 public:
  // `map` is the request's raw args map, or empty for none.
  explicit ArgsReader(Bytes map) : map_(map) {}

  // A UTF-8 string.
  std::optional<std::string_view> str(std::string_view name, StrRule rule = {});
  // A non-negative integer.
  std::optional<std::uint64_t> uint(std::string_view name, UintRule rule = {});
  std::optional<bool> boolean(std::string_view name, bool required = false);
  // Any value, as its msgpack bytes (nil counts as absent).
  std::optional<Bytes> raw(std::string_view name, bool required = false);
  // An array of UTF-8 strings (e.g. tags): at most `max_items` items, each per `item`.
  std::optional<std::vector<std::string_view>> str_array(std::string_view name, std::size_t max_items, StrRule item);
  // A timestamp (msgpack ext -1; {"$ts": ...} in JSON mode).
  std::optional<Timestamp> timestamp(std::string_view name, bool required = false);

  bool failed() const { return error_.has_value(); }
  const WireError& error() const { return *error_; }

 private:
  // The value's bytes for `name`, or nullopt when absent or nil.
  std::optional<Bytes> find(std::string_view name) const;
  // The value with its first header read; records "missing" when required and absent.
  struct Value {
    MsgpackReader reader;
    MsgToken head;
  };
  std::optional<Value> value(std::string_view name, bool required);
  void fail(WireCode code, std::string_view name, std::string_view what);
  std::optional<std::string_view> check_str(std::string_view name, const MsgToken& t, const StrRule& rule);

  Bytes map_;
  std::optional<WireError> error_;
};

}  // namespace durationd::ipc

#include "ipc/args.hpp"

#include "ipc/utf8.hpp"

namespace durationd::ipc {

std::optional<Bytes> ArgsReader::find(std::string_view name) const {
  if (map_.empty()) return std::nullopt;
  MsgpackReader r(map_);
  MsgToken t;
  if (!r.next(t) || t.kind != MsgKind::kMap) return std::nullopt;
  std::optional<Bytes> found;
  for (std::uint32_t i = 0; i < t.count; ++i) {
    MsgToken key;
    Bytes value;
    if (!r.next_key(key) || !r.read_raw(value)) return std::nullopt;
    // Last one wins, as in the envelope; a nil value is the same as an absent one.
    if (key.kind == MsgKind::kStr && as_chars(key.payload) == name)
      found = value.size() == 1 && value[0] == std::byte{0xc0} ? std::nullopt : std::optional<Bytes>(value);
  }
  return found;
}

std::optional<ArgsReader::Value> ArgsReader::value(std::string_view name, bool required) {
  const auto raw = find(name);
  if (!raw) {
    if (required) fail(WireCode::kBadRequest, name, "missing");
    return std::nullopt;
  }
  Value v{MsgpackReader(*raw), {}};
  v.reader.next(v.head);  // find() returned a complete value: its header reads
  return v;
}

void ArgsReader::fail(WireCode code, std::string_view name, std::string_view what) {
  if (!error_) error_ = WireError{code, std::string(name) + ": " + std::string(what)};
}

std::optional<std::string_view> ArgsReader::check_str(std::string_view name, const MsgToken& t, const StrRule& rule) {
  if (t.kind != MsgKind::kStr) return fail(WireCode::kBadRequest, name, "must be a string"), std::nullopt;
  const std::string_view s = as_chars(t.payload);
  if (s.size() > rule.max)
    return fail(WireCode::kTooLarge, name, "longer than " + std::to_string(rule.max) + " bytes"), std::nullopt;
  if (s.size() < rule.min)
    return fail(WireCode::kBadRequest, name, "shorter than " + std::to_string(rule.min) + " bytes"), std::nullopt;
  if (!is_valid_utf8(s)) return fail(WireCode::kBadRequest, name, "not valid UTF-8"), std::nullopt;
  if (!rule.alphabet.empty() && s.find_first_not_of(rule.alphabet) != std::string_view::npos)
    return fail(WireCode::kBadRequest, name, "contains a character outside its alphabet"), std::nullopt;
  return s;
}

std::optional<std::string_view> ArgsReader::str(std::string_view name, StrRule rule) {
  const auto v = value(name, rule.required);
  return v ? check_str(name, v->head, rule) : std::nullopt;
}

std::optional<std::uint64_t> ArgsReader::uint(std::string_view name, UintRule rule) {
  const auto v = value(name, rule.required);
  if (!v) return std::nullopt;
  const MsgToken& t = v->head;
  if (t.kind != MsgKind::kUint) return fail(WireCode::kBadRequest, name, "must be a non-negative integer"), std::nullopt;
  if (t.uint < rule.min || t.uint > rule.max)
    return fail(WireCode::kBadRequest, name,
                "must be in " + std::to_string(rule.min) + ".." + std::to_string(rule.max)),
           std::nullopt;
  return t.uint;
}

std::optional<bool> ArgsReader::boolean(std::string_view name, bool required) {
  const auto v = value(name, required);
  if (!v) return std::nullopt;
  const MsgToken& t = v->head;
  if (t.kind != MsgKind::kBool) return fail(WireCode::kBadRequest, name, "must be a boolean"), std::nullopt;
  return t.boolean;
}

std::optional<Bytes> ArgsReader::raw(std::string_view name, bool required) {
  auto value = find(name);
  if (!value && required) fail(WireCode::kBadRequest, name, "missing");
  return value;
}

std::optional<std::vector<std::string_view>> ArgsReader::str_array(std::string_view name, std::size_t max_items,
                                                                    StrRule item) {
  auto v = value(name, false);
  if (!v) return std::nullopt;
  MsgpackReader& r = v->reader;
  const MsgToken& t = v->head;
  if (t.kind != MsgKind::kArray) return fail(WireCode::kBadRequest, name, "must be an array of strings"), std::nullopt;
  if (t.count > max_items)
    return fail(WireCode::kBadRequest, name, "more than " + std::to_string(max_items) + " items"), std::nullopt;
  std::vector<std::string_view> out;
  for (std::uint32_t i = 0; i < t.count; ++i) {
    MsgToken e;
    if (!r.next(e)) return fail(WireCode::kBadRequest, name, "malformed"), std::nullopt;
    auto s = check_str(name, e, item);
    if (!s) return std::nullopt;
    out.push_back(*s);
  }
  return out;
}

std::optional<Timestamp> ArgsReader::timestamp(std::string_view name, bool required) {
  const auto v = value(name, required);
  if (!v) return std::nullopt;
  const auto ts = decode_timestamp(v->head);
  if (!ts) return fail(WireCode::kBadRequest, name, "must be a timestamp"), std::nullopt;
  return ts;
}

}  // namespace durationd::ipc

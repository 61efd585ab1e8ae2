// The request envelope and the args reader against msgpack-cxx: for every body the
// transport would hand on (exactly one msgpack object), parse_request must find the
// same op, id and args as a plain lookup in the decoded map (the last of a repeated
// key wins; id checked first), and ArgsReader must find each argument as that lookup
// does. The responses built around the outcome must be well-formed in both encodings.
#include <vector>

#include "ipc/args.hpp"
#include "ipc/envelope.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace durationd;
using durationd::fuzz::str_of;
using durationd::fuzz::unpack_one;

// The last value under string key `name` in map `m`, or nullptr.
const msgpack::object* lookup(const msgpack::object& m, std::string_view name) {
  const msgpack::object* found = nullptr;
  for (std::uint32_t i = 0; i < m.via.map.size; ++i) {
    const auto& [key, value] = m.via.map.ptr[i];
    if (key.type == msgpack::type::STR && str_of(key) == name) found = &value;
  }
  return found;
}

void check_args(ipc::Bytes args, const msgpack::object& expected_map) {
  std::vector<std::string_view> names;
  for (std::uint32_t i = 0; i < expected_map.via.map.size && names.size() < 16; ++i)
    if (expected_map.via.map.ptr[i].key.type == msgpack::type::STR)
      names.push_back(str_of(expected_map.via.map.ptr[i].key));
  names.push_back("\x01 surely absent");

  for (const std::string_view name : names) {
    const msgpack::object* v = lookup(expected_map, name);
    if (v != nullptr && v->type == msgpack::type::NIL) v = nullptr;  // nil is absent

    ipc::ArgsReader raw_reader(args);
    const auto raw = raw_reader.raw(name);
    FUZZ_CHECK(raw.has_value() == (v != nullptr) && !raw_reader.failed());
    if (raw) {
      const auto decoded = unpack_one(*raw);
      FUZZ_CHECK(decoded.has_value() && fuzz::same_value(decoded->get(), *v));
    }

    ipc::ArgsReader uint_reader(args);
    const auto u = uint_reader.uint(name);
    const bool is_uint = v != nullptr && v->type == msgpack::type::POSITIVE_INTEGER;
    FUZZ_CHECK(u.has_value() == is_uint &&
               (is_uint ? *u == v->via.u64 : uint_reader.failed() == (v != nullptr)));

    ipc::ArgsReader bool_reader(args);
    const auto b = bool_reader.boolean(name);
    const bool is_bool = v != nullptr && v->type == msgpack::type::BOOLEAN;
    FUZZ_CHECK(b.has_value() == is_bool &&
               (is_bool ? *b == v->via.boolean : bool_reader.failed() == (v != nullptr)));

    ipc::ArgsReader str_reader(args);
    const auto s = str_reader.str(name, {.max = 64});
    const bool is_str = v != nullptr && v->type == msgpack::type::STR && v->via.str.size <= 64 &&
                        durationd::fuzz::utf8_oracle(str_of(*v));
    FUZZ_CHECK(s.has_value() == is_str &&
               (is_str ? *s == str_of(*v) : str_reader.failed() == (v != nullptr)));

    // For coverage and the sanitizers; their rules are the unit tests' business.
    ipc::ArgsReader other(args);
    other.str_array(name, 16, {.min = 1, .max = 64});
    other.timestamp(name);
  }
}

// The response around an outcome: well-formed, echoing exactly `id`, in both encodings.
void check_responses(std::optional<std::uint64_t> id, const ipc::WireError* error,
                     ipc::Bytes result) {
  for (const auto encoding : {ipc::Encoding::kBinary, ipc::Encoding::kJsonLines}) {
    std::string out;
    if (error) {
      ipc::append_error_response(encoding, id, *error, out);
    } else {
      ipc::append_ok_response(encoding, id, result, out);
    }
    fuzz::Response r;
    if (encoding == ipc::Encoding::kBinary) {
      const auto scan = ipc::scan_binary_frame(ipc::as_bytes(out), ipc::kDefaultMaxFrame);
      FUZZ_CHECK(scan.status == ipc::FrameStatus::kComplete &&
                 scan.body_bytes + ipc::kFrameHeaderBytes == out.size());
      r = fuzz::check_msgpack_response(ipc::as_bytes(out).subspan(ipc::kFrameHeaderBytes));
    } else {
      FUZZ_CHECK(!out.empty() && out.back() == '\n');
      r = fuzz::check_json_response(std::string_view(out).substr(0, out.size() - 1));
    }
    FUZZ_CHECK(r.id == id && r.ok == (error == nullptr));
    if (error) FUZZ_CHECK(r.code == ipc::wire_code_name(error->code));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ipc::Bytes body = fuzz::bytes_of(data, size);
  // The transport answers anything else with BAD_FRAME before an envelope is read.
  if (!ipc::is_single_msgpack_object(body)) return 0;
  const auto decoded = unpack_one(body);
  FUZZ_CHECK(decoded.has_value());
  const msgpack::object& top = decoded->get();
  const auto parsed = ipc::parse_request(body);

  // The contract's reading, step by step, as parse_request promises it.
  std::optional<std::uint64_t> id;
  const msgpack::object* op = nullptr;
  const msgpack::object* args = nullptr;
  bool ok = top.type == msgpack::type::MAP;
  if (ok) {
    id = fuzz::valid_id_of(top);
    ok = id.has_value() || lookup(top, "id") == nullptr;
  }
  if (ok) {
    op = lookup(top, "op");
    args = lookup(top, "args");
    ok = op != nullptr && op->type == msgpack::type::STR &&
         (args == nullptr || args->type == msgpack::type::MAP || args->type == msgpack::type::NIL);
  }
  FUZZ_CHECK(parsed.has_value() == ok);
  if (!parsed) {
    const ipc::RequestFailure failure = parsed.error();
    FUZZ_CHECK(failure.id == id && failure.error.code == ipc::WireCode::kBadRequest);
    check_responses(failure.id, &failure.error, {});
    return 0;
  }
  const ipc::Request& request = *parsed;
  FUZZ_CHECK(request.id == id && request.op == str_of(*op));
  if (args != nullptr && args->type == msgpack::type::MAP) {
    const auto args_decoded = unpack_one(request.args);
    FUZZ_CHECK(args_decoded.has_value() && fuzz::same_value(args_decoded->get(), *args));
    check_args(request.args, *args);
  } else {
    FUZZ_CHECK(request.args.empty());
  }
  static constexpr std::byte kNil[] = {std::byte{0xc0}};
  check_responses(request.id, nullptr, request.args.empty() ? ipc::Bytes(kNil) : request.args);
  return 0;
}

// JSON-lines mode: the input is split into lines as a connection splits them
// (scan_json_line; blank lines skipped; a last line without '\n' is taken too), and each
// goes through json_to_msgpack. A line is either refused with BAD_REQUEST or TOO_DEEP,
// or becomes exactly one msgpack map that the value mapping turns back into JSON
// (msgpack_to_json) which reads back to the very same msgpack bytes: the mapping is
// exact for everything JSON can say (only NaN and infinities, which a JSON number
// cannot produce except by overflow, come back as null).
#include <cmath>
#include <string>

#include "ipc/framing.hpp"
#include "ipc/json_codec.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace durationd;

bool has_non_finite(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return !std::isfinite(o.via.f64);
    case msgpack::type::ARRAY:
      for (std::uint32_t i = 0; i < o.via.array.size; ++i)
        if (has_non_finite(o.via.array.ptr[i])) return true;
      return false;
    case msgpack::type::MAP:
      for (std::uint32_t i = 0; i < o.via.map.size; ++i)
        if (has_non_finite(o.via.map.ptr[i].val)) return true;
      return false;
    default:
      return false;
  }
}

void check_line(std::string_view line) {
  std::string packed;
  const auto converted = ipc::json_to_msgpack(line, packed);
  if (!converted) {
    const auto code = converted.error().code;
    FUZZ_CHECK(code == ipc::WireCode::kBadRequest || code == ipc::WireCode::kTooDeep);
    return;
  }
  const auto decoded = durationd::fuzz::unpack_one(ipc::as_bytes(packed));
  FUZZ_CHECK(decoded.has_value() && decoded->get().type == msgpack::type::MAP);
  FUZZ_CHECK(ipc::is_single_msgpack_object(ipc::as_bytes(packed)));

  std::string json;
  FUZZ_CHECK(ipc::msgpack_to_json(ipc::as_bytes(packed), json));
  FUZZ_CHECK(json.find('\n') == std::string::npos);
  std::string repacked;
  const auto again = ipc::json_to_msgpack(json, repacked);
  FUZZ_CHECK(again.has_value());
  if (has_non_finite(decoded->get())) return;
  FUZZ_CHECK(repacked == packed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (!rest.empty()) {
    const ipc::LineScan scan = ipc::scan_json_line(rest, 0, ipc::kDefaultMaxFrame);
    const std::size_t length =
        scan.status == ipc::LineStatus::kComplete ? scan.line_bytes : rest.size();
    const std::string_view line = rest.substr(0, length);
    if (!ipc::is_blank_line(line)) check_line(line);
    rest.remove_prefix(std::min(rest.size(), length + 1));
  }
  return 0;
}

// The msgpack timestamp extension (type -1) and its RFC 3339 form for JSON mode.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ipc/msgpack_reader.hpp"
#include "ipc/msgpack_writer.hpp"

namespace durationd::ipc {

constexpr std::int8_t kTimestampExtType = -1;

struct Timestamp {
  std::int64_t seconds = 0;       // since the Unix epoch, UTC
  std::uint32_t nanoseconds = 0;  // 0..999,999,999
  friend bool operator==(const Timestamp&, const Timestamp&) = default;
};

// A proleptic Gregorian date, from a count of days since 1970-01-01 (exact for any
// int64 day count, independent of the process time zone).
struct CivilDate {
  std::int64_t year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};
CivilDate civil_from_days(std::int64_t days);

// Decodes an ext token of type -1 in any of its three sizes (4, 8 or 12 bytes).
std::optional<Timestamp> decode_timestamp(const MsgToken& ext);

// Packs with the smallest of the three encodings that holds the value exactly.
void pack_timestamp(MsgpackWriter& writer, Timestamp ts);

// RFC 3339 writes four-digit years: it holds the instants from 0000-01-01T00:00:00Z to
// 9999-12-31T23:59:59.999999999Z. A msgpack timestamp reaches some 292 billion years
// either way; JSON mode writes the ones outside this range as null (it has no form).
constexpr std::int64_t kMinRfc3339Seconds = -62'167'219'200;  // 0000-01-01T00:00:00Z
constexpr std::int64_t kMaxRfc3339Seconds = 253'402'300'799;  // 9999-12-31T23:59:59Z
inline bool has_rfc3339_form(Timestamp ts) {
  return ts.seconds >= kMinRfc3339Seconds && ts.seconds <= kMaxRfc3339Seconds;
}

// "2026-12-04T19:00:00.123Z": UTC, with 0, 3, 6 or 9 fractional digits, as many as
// needed to be exact. Only RFC 3339 when has_rfc3339_form(ts); beyond, the year is
// written with as many digits (and the sign) as it takes.
std::string format_rfc3339(Timestamp ts);

// Accepts RFC 3339 date-times: 'T' or 't', 1..9 fractional digits, and 'Z' or a
// numeric offset (+HH:MM / -HH:MM), denoting an instant with has_rfc3339_form (so
// "0000-01-01T00:30:00+01:00" is refused). Returns nullopt for anything else.
std::optional<Timestamp> parse_rfc3339(std::string_view text);

}  // namespace durationd::ipc

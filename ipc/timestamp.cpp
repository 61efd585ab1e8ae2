#include "ipc/timestamp.hpp"

#include <array>
#include <cstdio>

namespace durationd::ipc {
namespace {

// Howard Hinnant's civil-date algorithms: exact for the proleptic Gregorian calendar,
// independent of the process time zone (unlike timegm/gmtime).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

CivilDate civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

namespace {

std::uint64_t load_be(Bytes b, std::size_t from, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | std::to_integer<std::uint64_t>(b[from + i]);
  return v;
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, unsigned& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + static_cast<unsigned>(s[i] - '0');
  }
  return true;
}

constexpr unsigned days_in_month(std::int64_t y, unsigned m) {
  constexpr std::array<unsigned, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

}  // namespace

std::optional<Timestamp> decode_timestamp(const MsgToken& ext) {
  if (ext.kind != MsgKind::kExt || ext.ext_type != kTimestampExtType) return std::nullopt;
  const Bytes p = ext.payload;
  Timestamp ts;
  switch (p.size()) {
    case 4:
      ts.seconds = static_cast<std::int64_t>(load_be(p, 0, 4));
      return ts;
    case 8: {
      const std::uint64_t v = load_be(p, 0, 8);
      ts.nanoseconds = static_cast<std::uint32_t>(v >> 34);
      ts.seconds = static_cast<std::int64_t>(v & ((std::uint64_t{1} << 34) - 1));
      break;
    }
    case 12:
      ts.nanoseconds = static_cast<std::uint32_t>(load_be(p, 0, 4));
      ts.seconds = static_cast<std::int64_t>(load_be(p, 4, 8));
      break;
    default:
      return std::nullopt;
  }
  if (ts.nanoseconds > 999'999'999) return std::nullopt;
  return ts;
}

void pack_timestamp(MsgpackWriter& w, Timestamp ts) {
  std::array<char, 12> buf{};
  auto put_be = [&](std::size_t at, std::uint64_t v, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) buf[at + i] = static_cast<char>(v >> (8 * (n - 1 - i)));
  };
  if (ts.seconds >= 0 && (ts.seconds >> 34) == 0) {
    if (ts.nanoseconds == 0 && (ts.seconds >> 32) == 0) {
      put_be(0, static_cast<std::uint64_t>(ts.seconds), 4);
      w.pack_ext(4, kTimestampExtType);
      w.pack_ext_body(buf.data(), 4);
      return;
    }
    put_be(0, (std::uint64_t{ts.nanoseconds} << 34) | static_cast<std::uint64_t>(ts.seconds), 8);
    w.pack_ext(8, kTimestampExtType);
    w.pack_ext_body(buf.data(), 8);
    return;
  }
  put_be(0, ts.nanoseconds, 4);
  put_be(4, static_cast<std::uint64_t>(ts.seconds), 8);
  w.pack_ext(12, kTimestampExtType);
  w.pack_ext_body(buf.data(), 12);
}

std::string format_rfc3339(Timestamp ts) {
  // Floor division, with no intermediate beyond int64 even for INT64_MIN (negating the
  // seconds, or multiplying the days back, would overflow there).
  const std::int64_t rem = ts.seconds % 86400;
  const std::int64_t days = ts.seconds / 86400 - (rem < 0 ? 1 : 0);
  const std::int64_t secs = rem < 0 ? rem + 86400 : rem;
  const CivilDate c = civil_from_days(days);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld",
                        static_cast<long long>(c.year), c.month, c.day,
                        static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                        static_cast<long long>(secs % 60));
  std::string out(buf, static_cast<std::size_t>(n));
  if (ts.nanoseconds != 0) {
    std::uint32_t ns = ts.nanoseconds;
    int width = 9;
    if (ns % 1'000'000 == 0) {
      ns /= 1'000'000;
      width = 3;
    } else if (ns % 1'000 == 0) {
      ns /= 1'000;
      width = 6;
    }
    n = std::snprintf(buf, sizeof buf, ".%0*u", width, ns);
    out.append(buf, static_cast<std::size_t>(n));
  }
  out.push_back('Z');
  return out;
}

std::optional<Timestamp> parse_rfc3339(std::string_view s) {
  unsigned year, month, day, hour, minute, second;
  if (!digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, month) ||
      s[7] != '-' || !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') ||
      !digits(s, 11, 2, hour) || s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':' ||
      !digits(s, 17, 2, second))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
      minute > 59 || second > 60)
    return std::nullopt;
  if (second == 60) second = 59;  // a leap second is folded into the second before it

  std::size_t pos = 19;
  std::uint32_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (++n > 9) return std::nullopt;
      nanos = nanos * 10 + static_cast<std::uint32_t>(s[pos++] - '0');
    }
    if (n == 0) return std::nullopt;
    for (; n < 9; ++n) nanos *= 10;
  }
  std::int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    unsigned oh, om;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_s = (s[pos] == '+' ? 1 : -1) * static_cast<std::int64_t>(oh * 3600 + om * 60);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;

  Timestamp ts;
  ts.seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset_s;
  ts.nanoseconds = nanos;
  if (!has_rfc3339_form(ts)) return std::nullopt;  // an offset took it past year 0000 or 9999
  return ts;
}

}  // namespace durationd::ipc

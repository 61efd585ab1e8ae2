// durationctl timer start|pause|resume|interrupt|stop|get|list|stats|export|delete.
//
// Human output by default: a table of sessions; for stats a table of groups and a bar
// chart of active time. --json prints the daemon's answer as JSON. Times on the
// command line: RFC 3339, YYYY-MM-DD (midnight, local time or --tz), "now", or
// relative to now: -90m, -12h, -7d. Durations: 25m, 1h30m, 90s, or milliseconds.
#include "daemon/ctl_timer.hpp"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include <boost/json.hpp>

#include "ipc/msgpack_reader.hpp"
#include "ipc/timestamp.hpp"

namespace durationd::ctl {
namespace json = boost::json;
namespace {

constexpr std::uint32_t kPageLimit = 1000;

// ---- arguments -----------------------------------------------------------------

// A request's args map, built one pair at a time.
class ArgMap {
 public:
  ArgMap() : sink_(body_), w_(sink_) {}
  ipc::MsgpackWriter& key(std::string_view k) {
    ++pairs_;
    ipc::pack_str(w_, k);
    return w_;
  }
  void str(std::string_view k, std::string_view v) { ipc::pack_str(key(k), v); }
  void uint(std::string_view k, std::uint64_t v) { key(k).pack_uint64(v); }
  void sint(std::string_view k, std::int64_t v) { key(k).pack_int64(v); }
  void ts(std::string_view k, ipc::Timestamp t) { ipc::pack_timestamp(key(k), t); }
  std::string packed() const {
    std::string out;
    ipc::StringSink sink(out);
    ipc::MsgpackWriter w(sink);
    w.pack_map(pairs_);
    return out + body_;
  }

 private:
  std::string body_;
  ipc::StringSink sink_;
  ipc::MsgpackWriter w_;
  std::uint32_t pairs_ = 0;
};

// Splits words into --options (with one value each, repeatable) and positionals.
struct Parsed {
  std::vector<std::pair<std::string, std::string>> options;
  std::vector<std::string> flags;
  std::vector<std::string> positional;
  std::optional<std::string> error;

  std::optional<std::string> get(std::string_view name) const {
    std::optional<std::string> v;
    for (const auto& [k, value] : options)
      if (k == name) v = value;
    return v;
  }
  std::vector<std::string> all(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [k, value] : options)
      if (k == name) out.push_back(value);
    return out;
  }
  bool flag(std::string_view name) const { return std::find(flags.begin(), flags.end(), name) != flags.end(); }
};

Parsed parse_words(const std::vector<std::string>& words, std::size_t from,
                   std::initializer_list<std::string_view> with_value,
                   std::initializer_list<std::string_view> flags) {
  Parsed p;
  for (std::size_t i = from; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w.size() > 2 && w.starts_with("--")) {
      std::string name = w.substr(2);
      std::optional<std::string> inline_value;
      if (const auto eq = name.find('='); eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name.resize(eq);
      }
      if (std::find(with_value.begin(), with_value.end(), name) != with_value.end()) {
        if (inline_value) {
          p.options.emplace_back(name, *inline_value);
        } else if (i + 1 < words.size()) {
          p.options.emplace_back(name, words[++i]);
        } else {
          p.error = "--" + name + " needs a value";
        }
      } else if (std::find(flags.begin(), flags.end(), name) != flags.end() && !inline_value) {
        p.flags.push_back(name);
      } else {
        p.error = "unknown option --" + name;
      }
    } else {
      p.positional.push_back(w);
    }
  }
  return p;
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::int64_t v = 0;
  bool negative = false;
  std::size_t i = 0;
  if (s[0] == '-' || s[0] == '+') {
    negative = s[0] == '-';
    i = 1;
  }
  if (i == s.size()) return std::nullopt;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9' || v > (INT64_MAX - 9) / 10) return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return negative ? -v : v;
}

// "25m", "1h30m", "90s", "1500" (ms).
std::optional<std::int64_t> parse_duration_ms(std::string_view s) {
  if (auto plain = parse_int(s)) return *plain >= 0 ? plain : std::nullopt;
  std::int64_t total = 0, n = 0;
  bool digits = false, any = false;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      if (n > INT64_MAX / 100) return std::nullopt;
      n = n * 10 + (c - '0');
      digits = true;
      continue;
    }
    if (!digits) return std::nullopt;
    const std::int64_t unit = c == 'h' ? 3'600'000 : c == 'm' ? 60'000 : c == 's' ? 1000 : c == 'd' ? 86'400'000 : 0;
    if (unit == 0) return std::nullopt;
    total += n * unit;
    n = 0;
    digits = false;
    any = true;
  }
  if (digits || !any) return std::nullopt;
  return total;
}

std::int64_t now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

// The local offset from UTC right now, in minutes.
std::int64_t local_offset_min() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  return tm.tm_gmtoff / 60;
}

std::optional<std::int64_t> parse_tz(std::string_view s) {
  if (s == "local") return local_offset_min();
  if (s == "utc" || s == "UTC" || s == "Z") return 0;
  if (s.size() == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':') {
    const auto h = parse_int(s.substr(1, 2)), m = parse_int(s.substr(4, 2));
    if (!h || !m || *h > 23 || *m > 59) return std::nullopt;
    return (s[0] == '-' ? -1 : 1) * (*h * 60 + *m);
  }
  const auto minutes = parse_int(s);
  if (!minutes || *minutes < -1439 || *minutes > 1439) return std::nullopt;
  return minutes;
}

ipc::Timestamp from_ms(std::int64_t ms) {
  std::int64_t s = ms / 1000, rest = ms % 1000;
  if (rest < 0) rest += 1000, --s;
  return {s, static_cast<std::uint32_t>(rest) * 1'000'000};
}

// RFC 3339, YYYY-MM-DD (midnight at `tz_min` from UTC, or local midnight), "now",
// or -90m / -12h / -7d.
std::optional<ipc::Timestamp> parse_when(std::string_view s, std::optional<std::int64_t> tz_min) {
  if (s == "now") return from_ms(now_ms());
  if (s.size() > 1 && s[0] == '-') {
    if (auto d = parse_duration_ms(s.substr(1)); d && s.find_first_not_of("0123456789", 1) != std::string_view::npos)
      return from_ms(now_ms() - *d);
  }
  if (s.size() == 10 && s[4] == '-' && s[7] == '-') {
    const auto y = parse_int(s.substr(0, 4)), m = parse_int(s.substr(5, 2)), d = parse_int(s.substr(8, 2));
    if (!y || !m || !d) return std::nullopt;
    if (tz_min) {
      const auto utc = ipc::parse_rfc3339(std::string(s) + "T00:00:00Z");
      if (!utc) return std::nullopt;
      return ipc::Timestamp{utc->seconds - *tz_min * 60, 0};
    }
    std::tm tm{};
    tm.tm_year = static_cast<int>(*y - 1900);
    tm.tm_mon = static_cast<int>(*m - 1);
    tm.tm_mday = static_cast<int>(*d);
    tm.tm_isdst = -1;
    const std::time_t t = ::mktime(&tm);
    if (t == static_cast<std::time_t>(-1)) return std::nullopt;
    return ipc::Timestamp{static_cast<std::int64_t>(t), 0};
  }
  return ipc::parse_rfc3339(s);
}

// ---- output --------------------------------------------------------------------

// Text from the daemon goes to a terminal: control characters are shown as '?', so
// a task name cannot move the cursor or change colours.
std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) out.push_back(c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c));
  return out;
}

std::size_t display_width(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80;  // code points, roughly columns
  return n;
}

std::string fit(std::string_view s, std::size_t width) {
  std::string p = printable(s);
  if (display_width(p) <= width) return p;
  std::string out;
  std::size_t n = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    if ((c & 0xc0) != 0x80 && ++n == width) break;
    out.push_back(p[i]);
  }
  return out + "\u2026";
}

std::string pad(std::string s, std::size_t width, bool right = false) {
  const std::size_t w = display_width(s);
  if (w >= width) return s;
  return right ? std::string(width - w, ' ') + s : s + std::string(width - w, ' ');
}

std::string hms(std::int64_t ms) {
  const std::int64_t s = std::max<std::int64_t>(0, ms) / 1000;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return buf;
}

std::optional<std::int64_t> ts_ms(const json::value* v) {
  if (!v || !v->is_object()) return std::nullopt;
  const auto* t = v->as_object().if_contains("$ts");
  if (!t || !t->is_string()) return std::nullopt;
  const auto parsed = ipc::parse_rfc3339(std::string(t->as_string()));
  if (!parsed) return std::nullopt;
  return parsed->seconds * 1000 + parsed->nanoseconds / 1'000'000;
}

std::string local_time(std::optional<std::int64_t> ms) {
  if (!ms) return "-";
  const std::time_t t = static_cast<std::time_t>(*ms >= 0 ? *ms / 1000 : (*ms - 999) / 1000);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

std::string rfc3339(std::optional<std::int64_t> ms) { return ms ? ipc::format_rfc3339(from_ms(*ms)) : ""; }

std::int64_t num(const json::object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  return v && v->is_number() ? v->to_number<std::int64_t>() : 0;
}

std::string text(const json::object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::vector<std::string> tags_of(const json::object& s) {
  std::vector<std::string> out;
  if (const auto* t = s.if_contains("tags"); t && t->is_array())
    for (const auto& tag : t->as_array())
      if (tag.is_string()) out.emplace_back(tag.as_string());
  return out;
}

std::string joined(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : std::string(sep)) + i;
  return out;
}

std::size_t interruption_count(const json::object& s) {
  const auto* v = s.if_contains("interruptions");
  return v && v->is_array() ? v->as_array().size() : 0;
}

void print_session_table(const std::vector<json::object>& sessions) {
  std::cout << pad("ID", 8, true) << "  " << pad("STATE", 9) << "  " << pad("STARTED", 16) << "  "
            << pad("ACTIVE", 9, true) << "  " << pad("PAUSED", 9, true) << "  " << pad("INT", 4, true) << "  "
            << "FOCUS  TASK\n";
  for (const auto& s : sessions) {
    const auto* focus = s.if_contains("focus");
    const auto tags = tags_of(s);
    std::string task = fit(text(s, "task"), 40);
    if (!tags.empty()) task += "  [" + fit(joined(tags, ", "), 40) + "]";
    std::cout << pad(std::to_string(num(s, "id")), 8, true) << "  " << pad(text(s, "state"), 9) << "  "
              << pad(local_time(ts_ms(s.if_contains("started_at"))), 16) << "  "
              << pad(hms(num(s, "active_ms")), 9, true) << "  " << pad(hms(num(s, "paused_ms")), 9, true) << "  "
              << pad(std::to_string(interruption_count(s)), 4, true) << "  "
              << pad(focus && focus->is_number() ? std::to_string(focus->to_number<int>()) : "-", 5) << "  " << task
              << "\n";
  }
}

void print_session_details(const json::object& s) {
  print_session_table({s});
  if (const auto planned = s.if_contains("planned_ms"); planned && planned->is_number())
    std::cout << "planned: " << hms(planned->to_number<std::int64_t>()) << "\n";
  if (const auto ended = ts_ms(s.if_contains("ended_at"))) std::cout << "ended:   " << local_time(ended) << "\n";
  if (const auto note = text(s, "note"); !note.empty()) std::cout << "note:    " << fit(note, 200) << "\n";
  if (const auto* list = s.if_contains("interruptions"); list && list->is_array() && !list->as_array().empty()) {
    std::cout << "interruptions:\n";
    for (const auto& i : list->as_array()) {
      if (!i.is_object()) continue;
      const std::string reason = text(i.as_object(), "reason");
      std::cout << "  " << local_time(ts_ms(i.as_object().if_contains("at"))) << "  "
                << (reason.empty() ? "-" : fit(reason, 100)) << "\n";
    }
  }
}

json::object as_session(const ipc::Response& r) {
  const auto v = json::parse(to_json(r.result));
  return v.is_object() ? v.as_object() : json::object();
}

// ---- commands ------------------------------------------------------------------

int answer_session(Invocation& in, const ipc::Response& r) {
  if (!r.ok) return print_error(r);
  if (in.json) {
    std::cout << to_json(r.result) << "\n";
  } else {
    print_session_details(as_session(r));
  }
  return kExitOk;
}

// The caller's session in one of `states` (for pause/resume/interrupt/stop without
// an id): nullopt when there is none, after saying so.
std::optional<std::int64_t> current_session(Invocation& in, std::initializer_list<std::string_view> states) {
  for (auto state : states) {
    ArgMap args;
    args.str("state", state);
    args.uint("limit", 1);
    const auto packed = args.packed();
    const auto r = in.client.call("timer.list", ipc::as_bytes(packed));
    if (!r.ok) {
      print_error(r);
      return std::nullopt;
    }
    const auto v = json::parse(to_json(r.result));
    const auto& sessions = v.as_object().at("sessions").as_array();
    if (!sessions.empty()) return num(sessions.front().as_object(), "id");
  }
  std::cerr << "durationctl: you have no " << joined({states.begin(), states.end()}, " or ")
            << " session; give its id\n";
  return std::nullopt;
}

std::optional<std::int64_t> id_or_current(Invocation& in, const Parsed& p,
                                          std::initializer_list<std::string_view> states, int& exit_code) {
  if (p.positional.size() > 1) {
    exit_code = usage_error("give at most one session id");
    return std::nullopt;
  }
  if (p.positional.size() == 1) {
    const auto id = parse_int(p.positional[0]);
    if (!id || *id < 0) {
      exit_code = usage_error("not a session id: " + p.positional[0]);
      return std::nullopt;
    }
    return id;
  }
  auto id = current_session(in, states);
  if (!id) exit_code = kExitError;
  return id;
}

int start(Invocation& in) {
  const auto p = parse_words(in.words, 1, {"tag", "planned", "note"}, {});
  if (p.error) return usage_error(*p.error);
  if (p.positional.empty()) return usage_error("timer start needs a task");
  ArgMap args;
  args.str("task", joined(p.positional, " "));
  if (const auto tags = p.all("tag"); !tags.empty()) {
    auto& w = args.key("tags");
    w.pack_array(static_cast<std::uint32_t>(tags.size()));
    for (const auto& t : tags) ipc::pack_str(w, t);
  }
  if (const auto planned = p.get("planned")) {
    const auto ms = parse_duration_ms(*planned);
    if (!ms) return usage_error("--planned: not a duration (e.g. 25m, 1h30m): " + *planned);
    args.uint("planned_ms", static_cast<std::uint64_t>(*ms));
  }
  if (const auto note = p.get("note")) args.str("note", *note);
  const auto packed = args.packed();
  return answer_session(in, in.client.call("timer.start", ipc::as_bytes(packed)));
}

int simple_transition(Invocation& in, std::string_view op, std::initializer_list<std::string_view> states) {
  const auto p = parse_words(in.words, 1, {}, {});
  if (p.error) return usage_error(*p.error);
  int code = kExitOk;
  const auto id = id_or_current(in, p, states, code);
  if (!id) return code;
  ArgMap args;
  args.uint("id", static_cast<std::uint64_t>(*id));
  const auto packed = args.packed();
  return answer_session(in, in.client.call(op, ipc::as_bytes(packed)));
}

int interrupt(Invocation& in) {
  const auto p = parse_words(in.words, 1, {"reason"}, {});
  if (p.error) return usage_error(*p.error);
  int code = kExitOk;
  const auto id = id_or_current(in, p, {"running", "paused"}, code);
  if (!id) return code;
  ArgMap args;
  args.uint("id", static_cast<std::uint64_t>(*id));
  if (const auto reason = p.get("reason")) args.str("reason", *reason);
  const auto packed = args.packed();
  return answer_session(in, in.client.call("timer.interrupt", ipc::as_bytes(packed)));
}

int stop(Invocation& in) {
  const auto p = parse_words(in.words, 1, {"focus", "note", "outcome"}, {"abandon"});
  if (p.error) return usage_error(*p.error);
  int code = kExitOk;
  const auto id = id_or_current(in, p, {"running", "paused"}, code);
  if (!id) return code;
  ArgMap args;
  args.uint("id", static_cast<std::uint64_t>(*id));
  if (p.flag("abandon")) {
    args.str("outcome", "abandoned");
  } else if (const auto outcome = p.get("outcome")) {
    args.str("outcome", *outcome);
  }
  if (const auto focus = p.get("focus")) {
    const auto f = parse_int(*focus);
    if (!f || *f < 0) return usage_error("--focus: a number from 1 to 5");
    args.uint("focus", static_cast<std::uint64_t>(*f));
  }
  if (const auto note = p.get("note")) args.str("note", *note);
  const auto packed = args.packed();
  return answer_session(in, in.client.call("timer.stop", ipc::as_bytes(packed)));
}

int get_or_delete(Invocation& in, bool deleting) {
  const auto p = parse_words(in.words, 1, {}, {});
  if (p.error) return usage_error(*p.error);
  if (p.positional.size() != 1) return usage_error(deleting ? "timer delete needs one session id" : "timer get needs one session id");
  const auto id = parse_int(p.positional[0]);
  if (!id || *id < 0) return usage_error("not a session id: " + p.positional[0]);
  ArgMap args;
  args.uint("id", static_cast<std::uint64_t>(*id));
  const auto packed = args.packed();
  if (!deleting) return answer_session(in, in.client.call("timer.get", ipc::as_bytes(packed)));
  const auto r = in.client.call("timer.delete", ipc::as_bytes(packed));
  if (!r.ok) return print_error(r);
  if (in.json) {
    std::cout << to_json(r.result) << "\n";
  } else {
    const auto v = json::parse(to_json(r.result));
    std::cout << (v.as_object().at("deleted").as_bool() ? "deleted session " : "no session ") << *id << "\n";
  }
  return kExitOk;
}

// Adds --from/--to (and list's filters) to `args`; returns a usage message on error.
std::optional<std::string> add_range(ArgMap& args, const Parsed& p, std::optional<std::int64_t> tz) {
  for (const char* name : {"from", "to"}) {
    if (const auto v = p.get(name)) {
      const auto t = parse_when(*v, tz);
      if (!t) return "--" + std::string(name) + ": not a time (RFC 3339, YYYY-MM-DD, now, -7d): " + *v;
      args.ts(name, *t);
    }
  }
  return std::nullopt;
}

// Every page of timer.list for these filters; `page` gets each result's sessions array.
int for_each_page(Invocation& in, const Parsed& p, std::uint32_t limit, bool all_pages,
                  const std::function<void(ipc::Bytes sessions_raw, const json::value& page)>& page) {
  std::optional<std::int64_t> after;
  if (const auto a = p.get("after")) {
    after = parse_int(*a);
    if (!after || *after < 0) return usage_error("--after: not a session id");
  }
  for (;;) {
    ArgMap args;
    if (auto bad = add_range(args, p, std::nullopt)) return usage_error(*bad);
    for (const char* name : {"task", "tag", "state"})
      if (const auto v = p.get(name)) args.str(name, *v);
    args.uint("limit", limit);
    if (after) args.uint("after_id", static_cast<std::uint64_t>(*after));
    const auto packed = args.packed();
    const auto r = in.client.call("timer.list", ipc::as_bytes(packed));
    if (!r.ok) return print_error(r);
    // The sessions array's own bytes, for exact JSON lines.
    ipc::MsgpackReader reader(ipc::as_bytes(r.result));
    ipc::MsgToken map;
    ipc::Bytes sessions_raw;
    reader.next(map);
    for (std::uint32_t i = 0; i < map.count; ++i) {
      ipc::MsgToken key;
      ipc::Bytes value;
      if (!reader.next(key) || !reader.read_raw(value)) break;
      if (ipc::as_chars(key.payload) == "sessions") sessions_raw = value;
    }
    const auto v = json::parse(to_json(r.result));
    page(sessions_raw, v);
    const auto* next = v.as_object().if_contains("next_after_id");
    if (!all_pages || !next || !next->is_number()) return kExitOk;
    after = next->to_number<std::int64_t>();
  }
}

int list(Invocation& in) {
  const auto p = parse_words(in.words, 1, {"from", "to", "task", "tag", "state", "limit", "after"}, {"all"});
  if (p.error) return usage_error(*p.error);
  if (!p.positional.empty()) return usage_error("timer list takes no positional arguments");
  std::uint32_t limit = 100;
  if (const auto l = p.get("limit")) {
    const auto n = parse_int(*l);
    if (!n || *n < 1) return usage_error("--limit: a positive number");
    limit = static_cast<std::uint32_t>(std::min<std::int64_t>(*n, INT32_MAX));
  }
  const bool all = p.flag("all");
  std::vector<json::object> sessions;
  std::optional<std::int64_t> next;
  const int code = for_each_page(in, p, all ? kPageLimit : limit, all, [&](ipc::Bytes, const json::value& page) {
    const auto& o = page.as_object();
    if (in.json && !all) {
      std::cout << json::serialize(page) << "\n";
      return;
    }
    for (const auto& s : o.at("sessions").as_array()) sessions.push_back(s.as_object());
    const auto* n = o.if_contains("next_after_id");
    next = n && n->is_number() ? std::optional<std::int64_t>(n->to_number<std::int64_t>()) : std::nullopt;
  });
  if (code != kExitOk || (in.json && !all)) return code;
  if (in.json) {
    json::array arr;
    for (auto& s : sessions) arr.push_back(std::move(s));
    std::cout << json::serialize(json::object{{"sessions", arr}, {"next_after_id", nullptr}}) << "\n";
    return kExitOk;
  }
  if (sessions.empty()) {
    std::cout << "no sessions\n";
    return kExitOk;
  }
  print_session_table(sessions);
  if (next) std::cout << "more: --after " << *next << " (or --all)\n";
  return kExitOk;
}

// A bar of `fraction` (0..1) of `width` cells, in eighths of a cell.
std::string bar(double fraction, int width) {
  static const char* const kEighths[] = {"", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b", "\u258a", "\u2589"};
  const int eighths = static_cast<int>(std::lround(std::clamp(fraction, 0.0, 1.0) * width * 8));
  std::string out;
  for (int i = 0; i < eighths / 8; ++i) out += "\u2588";
  out += kEighths[eighths % 8];
  return out;
}

int stats(Invocation& in) {
  const auto p = parse_words(in.words, 1, {"by", "from", "to", "tz"}, {});
  if (p.error) return usage_error(*p.error);
  if (!p.positional.empty()) return usage_error("timer stats takes no positional arguments (use --by day|task|tag)");
  std::int64_t tz = local_offset_min();
  if (const auto t = p.get("tz")) {
    const auto parsed = parse_tz(*t);
    if (!parsed) return usage_error("--tz: +HH:MM, -HH:MM, minutes, utc or local");
    tz = *parsed;
  }
  ArgMap args;
  const std::string by = p.get("by").value_or("day");
  args.str("group_by", by);
  args.sint("tz_offset_min", tz);
  if (auto bad = add_range(args, p, tz)) return usage_error(*bad);
  const auto packed = args.packed();
  const auto r = in.client.call("timer.stats", ipc::as_bytes(packed));
  if (!r.ok) return print_error(r);
  if (in.json) {
    std::cout << to_json(r.result) << "\n";
    return kExitOk;
  }
  const auto v = json::parse(to_json(r.result));
  const auto& o = v.as_object();
  const auto& groups = o.at("groups").as_array();
  const std::string title = by == "day" ? "DAY" : by == "task" ? "TASK" : "TAG";
  auto row = [&](const std::string& key, const json::object& g) {
    const auto* f = g.if_contains("focus_avg");
    char focus[16] = "-";
    if (f && f->is_number()) std::snprintf(focus, sizeof focus, "%.1f", f->to_number<double>());
    std::cout << pad(fit(key, 30), 30) << "  " << pad(std::to_string(num(g, "sessions")), 8, true) << "  "
              << pad(std::to_string(num(g, "completed")), 4, true) << "  "
              << pad(std::to_string(num(g, "abandoned")), 9, true) << "  " << pad(hms(num(g, "active_ms")), 9, true)
              << "  " << pad(hms(num(g, "planned_ms")), 9, true) << "  "
              << pad(std::to_string(num(g, "interruptions")), 4, true) << "  " << pad(focus, 5, true) << "\n";
  };
  std::cout << pad(title, 30) << "  " << pad("SESSIONS", 8, true) << "  " << pad("DONE", 4, true) << "  "
            << pad("ABANDONED", 9, true) << "  " << pad("ACTIVE", 9, true) << "  " << pad("PLANNED", 9, true) << "  "
            << pad("INT", 4, true) << "  " << pad("FOCUS", 5, true) << "\n";
  std::int64_t longest = 0;
  for (const auto& g : groups) {
    row(text(g.as_object(), "key"), g.as_object());
    longest = std::max(longest, num(g.as_object(), "active_ms"));
  }
  row("total", o.at("totals").as_object());
  const std::int64_t streak = num(o, "streak_days");
  std::cout << "streak: " << streak << (streak == 1 ? " day" : " days") << "\n";
  if (!groups.empty() && longest > 0) {
    std::cout << "\nactive time per " << (by == "day" ? "day" : by) << "\n";
    for (const auto& g : groups) {
      const auto& go = g.as_object();
      const auto active = num(go, "active_ms");
      std::cout << pad(fit(text(go, "key"), 20), 20) << " " << pad(hms(active), 9, true) << " "
                << bar(static_cast<double>(active) / static_cast<double>(longest), 40) << "\n";
    }
  }
  return kExitOk;
}

std::string csv_field(std::string s, bool is_text) {
  // A cell starting with = + - @ is a formula to a spreadsheet: keep it text.
  if (is_text && !s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@')) s.insert(0, "'");
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

int export_sessions(Invocation& in) {
  const auto p = parse_words(in.words, 1, {"from", "to", "task", "tag", "state", "format", "output"}, {});
  if (p.error) return usage_error(*p.error);
  if (!p.positional.empty()) return usage_error("timer export takes no positional arguments");
  const std::string format = p.get("format").value_or(in.json ? "jsonl" : "csv");
  if (format != "csv" && format != "jsonl") return usage_error("--format: csv or jsonl");
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (const auto path = p.get("output"); path && *path != "-") {
    file.open(*path, std::ios::out | std::ios::trunc);
    if (!file) {
      std::cerr << "durationctl: cannot write " << *path << "\n";
      return kExitError;
    }
    out = &file;
  }
  if (format == "csv")
    *out << "id,task,tags,state,started_at,ended_at,planned_ms,active_ms,paused_ms,interruptions,focus,note\r\n";
  std::size_t count = 0;
  const int code = for_each_page(in, p, kPageLimit, true, [&](ipc::Bytes raw, const json::value& page) {
    if (format == "jsonl") {
      ipc::MsgpackReader reader(raw);
      ipc::MsgToken array;
      if (!reader.next(array)) return;
      for (std::uint32_t i = 0; i < array.count; ++i) {
        ipc::Bytes one;
        if (!reader.read_raw(one)) break;
        *out << to_json(ipc::as_chars(one)) << "\n";
        ++count;
      }
      return;
    }
    for (const auto& sv : page.as_object().at("sessions").as_array()) {
      const auto& s = sv.as_object();
      const auto* planned = s.if_contains("planned_ms");
      const auto* focus = s.if_contains("focus");
      *out << num(s, "id") << "," << csv_field(text(s, "task"), true) << ","
           << csv_field(joined(tags_of(s), ";"), true) << "," << text(s, "state") << ","
           << rfc3339(ts_ms(s.if_contains("started_at"))) << "," << rfc3339(ts_ms(s.if_contains("ended_at"))) << ","
           << (planned && planned->is_number() ? std::to_string(planned->to_number<std::int64_t>()) : "") << ","
           << num(s, "active_ms") << "," << num(s, "paused_ms") << "," << interruption_count(s) << ","
           << (focus && focus->is_number() ? std::to_string(focus->to_number<int>()) : "") << ","
           << csv_field(text(s, "note"), true) << "\r\n";
      ++count;
    }
  });
  out->flush();
  if (code == kExitOk && file.is_open()) std::cerr << "exported " << count << " session(s)\n";
  return code;
}

int timer(Invocation& in) {
  if (in.words.empty()) return usage_error("timer needs a subcommand");
  const std::string& sub = in.words[0];
  if (sub == "start") return start(in);
  if (sub == "pause") return simple_transition(in, "timer.pause", {"running"});
  if (sub == "resume") return simple_transition(in, "timer.resume", {"paused"});
  if (sub == "interrupt") return interrupt(in);
  if (sub == "stop") return stop(in);
  if (sub == "get") return get_or_delete(in, false);
  if (sub == "delete") return get_or_delete(in, true);
  if (sub == "list") return list(in);
  if (sub == "stats") return stats(in);
  if (sub == "export") return export_sessions(in);
  return usage_error("unknown timer subcommand " + sub);
}

}  // namespace

void add_timer_commands(std::vector<Command>& commands) {
  commands.push_back(
      {"timer",
       "timer start TASK [--tag TAG]... [--planned 25m] [--note TEXT]\n"
       "  timer pause|resume [ID]                 (default: your running / paused session)\n"
       "  timer interrupt [ID] [--reason TEXT]\n"
       "  timer stop [ID] [--abandon] [--focus 1-5] [--note TEXT]\n"
       "  timer get ID | timer delete ID\n"
       "  timer list [--from WHEN] [--to WHEN] [--task T] [--tag T] [--state S] [--limit N] [--after ID] [--all]\n"
       "  timer stats [--by day|task|tag] [--from WHEN] [--to WHEN] [--tz +HH:MM|MINUTES|utc|local]\n"
       "  timer export [--from WHEN] [--to WHEN] [--format csv|jsonl] [--output FILE]\n"
       "                          WHEN: RFC 3339, YYYY-MM-DD, now, -90m, -12h, -7d",
       timer});
}

}  // namespace durationd::ctl

// durationctl status, events, backup, rotate-key (admin peers only).
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <boost/json.hpp>
#include <openssl/crypto.h>

#include "daemon/ctl_support.hpp"

namespace durationd::ctl {
namespace json = boost::json;
namespace {

json::value parse_result(const ipc::Response& r) { return json::parse(to_json(r.result)); }

std::string human_bytes(std::uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string human_duration(std::int64_t ms) {
  std::int64_t s = ms / 1000;
  std::ostringstream out;
  if (s >= 86400) out << s / 86400 << "d ";
  if (s >= 3600) out << s / 3600 % 24 << "h ";
  if (s >= 60) out << s / 60 % 60 << "min ";
  out << s % 60 << "s";
  return out.str();
}

std::uint64_t u(const json::value& v, std::string_view key) {
  const auto* p = v.as_object().if_contains(key);
  return p && p->is_number() ? p->to_number<std::uint64_t>() : 0;
}

void print_event_line(const json::object& e) {
  const auto field = [&](std::string_view k) -> std::string {
    const auto* p = e.if_contains(k);
    if (!p || p->is_null()) return "-";
    if (p->is_string()) return std::string(p->as_string());
    if (p->is_object() && p->as_object().contains("$ts")) return std::string(p->as_object().at("$ts").as_string());
    return json::serialize(*p);
  };
  std::cout << "    " << field("at") << "  " << field("kind") << "  uid " << field("uid") << " pid " << field("pid")
            << "  " << field("message") << "\n";
}

int status(Invocation& in) {
  const auto r = in.client.call("admin.status");
  if (!r.ok) return print_error(r);
  if (in.json) {
    std::cout << to_json(r.result) << "\n";
    return kExitOk;
  }
  const json::value s = parse_result(r);
  const auto& o = s.as_object();
  std::cout << "\u25cf durationd " << o.at("version").as_string().c_str() << " - running for "
            << human_duration(o.at("uptime_ms").to_number<std::int64_t>()) << " (pid " << u(s, "pid") << ")\n";
  std::cout << "  Connections: " << u(o.at("connections"), "current") << " current, " << u(o.at("connections"), "total")
            << " total, " << u(o.at("connections"), "rejected") << " rejected\n";
  std::cout << "     Requests: " << u(o.at("requests"), "total") << " total, " << u(o.at("requests"), "errors")
            << " errors\n";
  if (const auto* cache = o.if_contains("cache"); cache && cache->is_object()) {
    const auto hits = u(*cache, "hits"), misses = u(*cache, "misses");
    char ratio[32] = "-";
    if (hits + misses > 0) std::snprintf(ratio, sizeof ratio, "%.1f%%", 100.0 * static_cast<double>(hits) / static_cast<double>(hits + misses));
    std::cout << "        Cache: " << u(*cache, "entries") << " entries, " << human_bytes(u(*cache, "bytes"))
              << ", hit ratio " << ratio << " (evictions " << u(*cache, "evictions") << ", expired "
              << u(*cache, "expired") << ")\n";
  }
  if (const auto* timer = o.if_contains("timer"); timer && timer->is_object())
    std::cout << "        Timer: " << u(*timer, "sessions") << " sessions, " << u(*timer, "running") << " running\n";
  const auto& storage = o.at("storage").as_object();
  std::cout << "    Databases:\n";
  for (const auto& db : storage.at("databases").as_array()) {
    const auto& d = db.as_object();
    std::printf("      %-10s %10s (WAL %s)  %s, %s, %s x %llu\n", d.at("name").as_string().c_str(),
                human_bytes(u(db, "bytes")).c_str(), human_bytes(u(db, "wal_bytes")).c_str(),
                d.at("encrypted").as_bool() ? "encrypted" : "NOT ENCRYPTED", d.at("cipher").as_string().c_str(),
                d.at("kdf").as_string().c_str(), static_cast<unsigned long long>(u(db, "kdf_iter")));
    std::fflush(stdout);
  }
  std::cout << "         Pool: " << u(storage.at("pool"), "in_use") << " of " << u(storage.at("pool"), "size")
            << " connections in use\n";
  std::cout << "     Security: " << u(o.at("security"), "events") << " events since start\n";
  const auto ev = in.client.call("admin.events", as_bytes_of(pack_map(1, [](ipc::MsgpackWriter& w) {
                                   ipc::pack_str(w, "limit");
                                   w.pack_uint64(5);
                                 })));
  if (ev.ok) {
    const auto events = parse_result(ev).as_object().at("events").as_array();
    if (!events.empty()) std::cout << "  Last events:\n";
    for (const auto& e : events) print_event_line(e.as_object());
  }
  return kExitOk;
}

int events(Invocation& in) {
  std::uint64_t limit = 20;
  for (std::size_t i = 0; i < in.words.size(); ++i) {
    if (in.words[i] == "--limit" && i + 1 < in.words.size()) {
      limit = std::stoull(in.words[++i]);
    } else {
      return usage_error("events takes [--limit N]");
    }
  }
  const auto r = in.client.call("admin.events", as_bytes_of(pack_map(1, [&](ipc::MsgpackWriter& w) {
                                  ipc::pack_str(w, "limit");
                                  w.pack_uint64(limit);
                                })));
  if (!r.ok) return print_error(r);
  if (in.json) {
    std::cout << to_json(r.result) << "\n";
    return kExitOk;
  }
  const json::value result = parse_result(r);
  for (const auto& e : result.as_object().at("events").as_array()) print_event_line(e.as_object());
  return kExitOk;
}

int backup(Invocation& in) {
  if (!in.words.empty()) return usage_error("backup takes no arguments");
  const auto r = in.client.call("admin.backup");
  if (!r.ok) return print_error(r);
  if (in.json) {
    std::cout << to_json(r.result) << "\n";
    return kExitOk;
  }
  const auto v = parse_result(r);
  std::cout << "backup: " << v.as_object().at("path").as_string().c_str() << " (" << human_bytes(u(v, "bytes")) << ")\n";
  return kExitOk;
}

// The OpenMetrics text as is (for a textfile collector or a quick look), or the whole
// answer as JSON.
int metrics(Invocation& in) {
  if (!in.words.empty()) return usage_error("metrics takes no arguments");
  const auto r = in.client.call("admin.metrics");
  if (!r.ok) return print_error(r);
  if (in.json) {
    std::cout << to_json(r.result) << "\n";
    return kExitOk;
  }
  std::cout << parse_result(r).as_object().at("text").as_string().c_str();
  return kExitOk;
}

// Reads a passphrase without echo from the terminal; the string is wiped by the caller.
std::string prompt_no_echo(const char* prompt) {
  std::FILE* tty = std::fopen("/dev/tty", "r+");
  if (tty == nullptr) throw std::runtime_error("no terminal to ask for the passphrase: use --passphrase-file");
  termios old{};
  ::tcgetattr(fileno(tty), &old);
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  ::tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
  std::fputs(prompt, tty);
  std::fflush(tty);
  std::string line;
  for (int c; (c = std::fgetc(tty)) != EOF && c != '\n';) line.push_back(static_cast<char>(c));
  ::tcsetattr(fileno(tty), TCSAFLUSH, &old);
  std::fputs("\n", tty);
  std::fclose(tty);
  return line;
}

int rotate_key(Invocation& in) {
  std::string passphrase;
  if (in.words.size() == 2 && in.words[0] == "--passphrase-file") {
    std::ifstream file(in.words[1], std::ios::binary);
    if (!file) return usage_error("cannot read " + in.words[1]);
    std::getline(file, passphrase, '\0');
    if (!passphrase.empty() && passphrase.back() == '\n') passphrase.pop_back();
  } else if (in.words.empty()) {
    passphrase = prompt_no_echo("New passphrase: ");
    std::string again = prompt_no_echo("Repeat it: ");
    const bool same = again == passphrase;
    OPENSSL_cleanse(again.data(), again.size());
    if (!same) {
      OPENSSL_cleanse(passphrase.data(), passphrase.size());
      return usage_error("the two passphrases differ");
    }
  } else {
    return usage_error("rotate-key takes [--passphrase-file FILE]; never a passphrase on the command line");
  }
  std::string args = pack_map(1, [&](ipc::MsgpackWriter& w) {
    ipc::pack_str(w, "passphrase");
    ipc::pack_str(w, passphrase);
  });
  OPENSSL_cleanse(passphrase.data(), passphrase.size());
  const auto r = in.client.call("admin.rotate_key", as_bytes_of(args));
  OPENSSL_cleanse(args.data(), args.size());
  if (!r.ok) return print_error(r);
  if (in.json) {
    std::cout << to_json(r.result) << "\n";
    return kExitOk;
  }
  std::cout << "rotated:";
  const json::value result = parse_result(r);
  for (const auto& name : result.as_object().at("rotated").as_array()) std::cout << " " << name.as_string().c_str();
  std::cout << "\nPut the new passphrase in the daemon's key file or credential before its next start.\n";
  return kExitOk;
}

}  // namespace

void add_admin_commands(std::vector<Command>& commands) {
  commands.push_back({"status", "status                  the daemon at a glance (admin)", status});
  commands.push_back({"events", "events [--limit N]      recent security events, newest first (admin)", events});
  commands.push_back({"metrics", "metrics                 counters in the OpenMetrics text format (admin)", metrics});
  commands.push_back({"backup", "backup                  an online encrypted backup of every database (admin)", backup});
  commands.push_back({"rotate-key", "rotate-key [--passphrase-file FILE]  re-encrypt under a new passphrase (admin)",
                      rotate_key});
}

}  // namespace durationd::ctl

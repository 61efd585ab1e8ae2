// durationctl cache ...: values are given and printed as JSON, with the contract's
// {"$bin": base64} and {"$ts": RFC 3339} forms for bin and timestamps.
#include "daemon/ctl_cache.hpp"

#include <charconv>
#include <iostream>
#include <optional>
#include <string>

#include "ipc/json_codec.hpp"
#include "ipc/msgpack_reader.hpp"

namespace durationd::ctl {
namespace {

struct CacheArgs {
  std::vector<std::string> positional;
  std::optional<std::string> ns;
  std::optional<std::uint64_t> ttl_ms;
  bool durable = false;
};

// Reads [--ns NS] [--ttl-ms N] [--durable] among the words; nullopt (after printing
// why) on a usage error.
std::optional<CacheArgs> parse_words(const std::vector<std::string>& words,
                                     bool allow_put_options) {
  CacheArgs out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "--ns" && i + 1 < words.size()) {
      out.ns = words[++i];
    } else if (allow_put_options && w == "--ttl-ms" && i + 1 < words.size()) {
      const std::string& n = words[++i];
      std::uint64_t v = 0;
      const auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), v);
      if (ec != std::errc() || end != n.data() + n.size()) {
        usage_error("--ttl-ms takes a number of milliseconds");
        return std::nullopt;
      }
      out.ttl_ms = v;
    } else if (allow_put_options && w == "--durable") {
      out.durable = true;
    } else if (w.starts_with("--")) {
      usage_error("cache: unknown option " + w);
      return std::nullopt;
    } else {
      out.positional.push_back(w);
    }
  }
  return out;
}

// The msgpack of one JSON value, read with the daemon's own JSON mapping.
std::optional<std::string> json_value_to_msgpack(const std::string& text) {
  std::string packed;
  if (!ipc::json_to_msgpack("{\"v\":" + text + "}", packed)) return std::nullopt;
  ipc::MsgpackReader r(ipc::as_bytes(packed));
  ipc::MsgToken map, key;
  ipc::Bytes value;
  if (!r.next(map) || map.kind != ipc::MsgKind::kMap || map.count != 1 || !r.next(key) ||
      ipc::as_chars(key.payload) != "v" || !r.read_raw(value) || !r.at_end())
    return std::nullopt;
  return std::string(ipc::as_chars(value));
}

void pack_key_ns(ipc::MsgpackWriter& w, const std::string* key, const CacheArgs& a) {
  if (key) {
    ipc::pack_str(w, "key");
    ipc::pack_str(w, *key);
  }
  if (a.ns) {
    ipc::pack_str(w, "ns");
    ipc::pack_str(w, *a.ns);
  }
}

// Prints a result map's fields as "name: value" lines.
void print_fields(const ipc::Response& r) {
  ipc::MsgpackReader reader(ipc::as_bytes(r.result));
  ipc::MsgToken map;
  if (!reader.next(map) || map.kind != ipc::MsgKind::kMap) return;
  for (std::uint32_t i = 0; i < map.count; ++i) {
    ipc::MsgToken key;
    ipc::Bytes value;
    if (!reader.next(key) || !reader.read_raw(value)) break;
    std::cout << ipc::as_chars(key.payload) << ": " << to_json(ipc::as_chars(value)) << "\n";
  }
}

// The value of a field of the result map, as msgpack.
std::string field_of(const ipc::Response& r, std::string_view name) {
  ipc::MsgpackReader reader(ipc::as_bytes(r.result));
  ipc::MsgToken map;
  if (!reader.next(map) || map.kind != ipc::MsgKind::kMap) return {};
  for (std::uint32_t i = 0; i < map.count; ++i) {
    ipc::MsgToken key;
    ipc::Bytes value;
    if (!reader.next(key) || !reader.read_raw(value)) break;
    if (key.kind == ipc::MsgKind::kStr && ipc::as_chars(key.payload) == name)
      return std::string(ipc::as_chars(value));
  }
  return {};
}

int get(Invocation& in, const CacheArgs& a) {
  if (a.positional.size() != 1) return usage_error("cache get takes KEY [--ns NS]");
  const auto r =
      in.client.call("cache.get", ipc::as_bytes(pack_map(a.ns ? 2 : 1, [&](ipc::MsgpackWriter& w) {
                       pack_key_ns(w, &a.positional[0], a);
                     })));
  if (!r.ok) return print_error(r);
  std::cout << (in.json ? to_json(r.result) : to_json(field_of(r, "value"))) << "\n";
  return kExitOk;
}

int put(Invocation& in, const CacheArgs& a) {
  if (a.positional.size() != 2)
    return usage_error(
        "cache put takes KEY VALUE [--ns NS] [--ttl-ms N] [--durable], VALUE as JSON");
  const auto value = json_value_to_msgpack(a.positional[1]);
  if (!value)
    return usage_error(
        "cache put: VALUE must be one JSON value, e.g. '\"text\"', 42, '[1,2]' or "
        "'{\"$bin\":\"AAE=\"}'");
  const std::uint32_t pairs = 2 + (a.ns ? 1 : 0) + (a.ttl_ms ? 1 : 0) + (a.durable ? 1 : 0);
  const auto r =
      in.client.call("cache.put", ipc::as_bytes(pack_map(pairs, [&](ipc::MsgpackWriter& w) {
                       pack_key_ns(w, &a.positional[0], a);
                       ipc::pack_str(w, "value");
                       ipc::append_raw(w, *value);
                       if (a.ttl_ms) {
                         ipc::pack_str(w, "ttl_ms");
                         w.pack_uint64(*a.ttl_ms);
                       }
                       if (a.durable) {
                         ipc::pack_str(w, "durable");
                         w.pack_true();
                       }
                     })));
  if (!r.ok) return print_error(r);
  std::cout << (in.json ? to_json(r.result) : "stored") << "\n";
  return kExitOk;
}

int del(Invocation& in, const CacheArgs& a) {
  if (a.positional.size() != 1) return usage_error("cache del takes KEY [--ns NS]");
  const auto r =
      in.client.call("cache.del", ipc::as_bytes(pack_map(a.ns ? 2 : 1, [&](ipc::MsgpackWriter& w) {
                       pack_key_ns(w, &a.positional[0], a);
                     })));
  if (!r.ok) return print_error(r);
  if (in.json) {
    std::cout << to_json(r.result) << "\n";
  } else {
    std::cout << (to_json(field_of(r, "deleted")) == "true" ? "deleted" : "not found") << "\n";
  }
  return kExitOk;
}

int clear(Invocation& in, const CacheArgs& a) {
  if (!a.positional.empty()) return usage_error("cache clear takes [--ns NS]");
  const auto r = in.client.call("cache.clear",
                                ipc::as_bytes(pack_map(a.ns ? 1 : 0, [&](ipc::MsgpackWriter& w) {
                                  pack_key_ns(w, nullptr, a);
                                })));
  if (!r.ok) return print_error(r);
  if (in.json) {
    std::cout << to_json(r.result) << "\n";
  } else {
    std::cout << "deleted " << to_json(field_of(r, "deleted")) << " entries\n";
  }
  return kExitOk;
}

int stats(Invocation& in, const CacheArgs& a) {
  if (!a.positional.empty() || a.ns) return usage_error("cache stats takes no arguments");
  const auto r = in.client.call("cache.stats");
  if (!r.ok) return print_error(r);
  if (in.json) {
    std::cout << to_json(r.result) << "\n";
  } else {
    print_fields(r);
  }
  return kExitOk;
}

int cache(Invocation& in) {
  if (in.words.empty()) return usage_error("cache takes get, put, del, clear or stats");
  const std::string sub = in.words.front();
  const std::vector<std::string> rest(in.words.begin() + 1, in.words.end());
  const auto a = parse_words(rest, sub == "put");
  if (!a) return kExitUsage;
  if (sub == "get") return get(in, *a);
  if (sub == "put") return put(in, *a);
  if (sub == "del") return del(in, *a);
  if (sub == "clear") return clear(in, *a);
  if (sub == "stats") return stats(in, *a);
  return usage_error("cache: unknown subcommand " + sub);
}

}  // namespace

void add_cache_commands(std::vector<Command>& commands) {
  commands.push_back(
      {"cache",
       "cache get KEY [--ns NS]                 print a value (as JSON)\n"
       "  cache put KEY VALUE [--ns NS] [--ttl-ms N] [--durable]\n"
       "                                          store a value given as JSON ({\"$bin\": base64}, "
       "{\"$ts\": RFC 3339})\n"
       "  cache del KEY [--ns NS]                 delete a key\n"
       "  cache clear [--ns NS]                   delete every key of a namespace\n"
       "  cache stats                             your entries, bytes, hits, misses, evictions, "
       "expired",
       cache});
}

}  // namespace durationd::ctl

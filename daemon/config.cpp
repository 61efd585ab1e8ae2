#include "daemon/config.hpp"

#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <spdlog/common.h>

#include "crypto/algorithm_policy.hpp"

namespace durationd::app {
namespace json = boost::json;
namespace {

using Setter = std::function<void(const json::value&, Config&)>;

std::uint64_t as_uint(const json::value& v, std::uint64_t min, std::uint64_t max) {
  if (!v.is_int64() && !v.is_uint64()) throw std::invalid_argument("must be an integer");
  if (v.is_int64() && v.get_int64() < 0) throw std::invalid_argument("must not be negative");
  const std::uint64_t n = v.is_uint64() ? v.get_uint64() : static_cast<std::uint64_t>(v.get_int64());
  if (n < min || n > max)
    throw std::invalid_argument("must be in " + std::to_string(min) + ".." + std::to_string(max));
  return n;
}

std::vector<uid_t> as_uid_list(const json::value& v) {
  if (!v.is_array()) throw std::invalid_argument("must be an array of uids");
  std::vector<uid_t> out;
  for (const auto& e : v.as_array()) out.push_back(static_cast<uid_t>(as_uint(e, 0, 0xfffffffe)));
  return out;
}

std::vector<std::string> as_group_list(const json::value& v) {
  if (!v.is_array()) throw std::invalid_argument("must be an array of group names or gids");
  std::vector<std::string> out;
  for (const auto& e : v.as_array()) {
    if (e.is_string()) {
      out.emplace_back(e.get_string());
    } else {
      out.push_back(std::to_string(as_uint(e, 0, 0xfffffffe)));
    }
  }
  return out;
}

// An algorithm name must pass the policy and be the one durationd implements.
Setter algorithm_setter(std::string Config::*member, std::string_view implemented) {
  return [member, implemented](const json::value& v, Config& c) {
    if (!v.is_string()) throw std::invalid_argument("must be a string");
    const std::string name(v.get_string());
    if (auto allowed = crypto::check_algorithm_allowed(name); !allowed)
      throw std::invalid_argument(allowed.error().message);
    if (name != implemented) throw std::invalid_argument("only \"" + std::string(implemented) + "\" is supported");
    c.*member = name;
  };
}

const std::map<std::string, Setter, std::less<>>& setters() {
  static const std::map<std::string, Setter, std::less<>> table{
      {"max_frame",
       [](const json::value& v, Config& c) { c.max_frame = static_cast<std::uint32_t>(as_uint(v, 64, 16'777'215)); }},
      {"idle_timeout_ms",
       [](const json::value& v, Config& c) {
         c.idle_timeout = std::chrono::milliseconds(as_uint(v, 100, 86'400'000));
       }},
      {"log_level",
       [](const json::value& v, Config& c) {
         if (!v.is_string()) throw std::invalid_argument("must be a string");
         const std::string level(v.get_string());
         if (spdlog::level::from_str(level) == spdlog::level::off && level != "off")
           throw std::invalid_argument("must be one of trace, debug, info, warn, error, critical, off");
         c.log_level = level;
       }},
      {"kdf_iterations",
       [](const json::value& v, Config& c) {
         auto checked = crypto::check_kdf_iterations(as_uint(v, 0, UINT64_MAX));
         if (!checked) throw std::invalid_argument(checked.error().message);
         c.kdf_iterations = *checked;
       }},
      {"pool_size", [](const json::value& v, Config& c) { c.pool_size = as_uint(v, 1, 64); }},
      {"backup_dir",
       [](const json::value& v, Config& c) {
         if (!v.is_string() || v.get_string().empty() || v.get_string()[0] != '/')
           throw std::invalid_argument("must be an absolute path");
         c.backup_dir = std::string(v.get_string());
       }},
      {"allowed_uids", [](const json::value& v, Config& c) { c.access.allowed_uids = as_uid_list(v); }},
      {"allowed_groups", [](const json::value& v, Config& c) { c.access.allowed_groups = as_group_list(v); }},
      {"admin_uids", [](const json::value& v, Config& c) { c.access.admin_uids = as_uid_list(v); }},
      {"admin_groups", [](const json::value& v, Config& c) { c.access.admin_groups = as_group_list(v); }},
      {"socket_group",
       [](const json::value& v, Config& c) {
         if (!v.is_string()) throw std::invalid_argument("must be a group name");
         c.socket_group = std::string(v.get_string());
       }},
      {"max_connections", [](const json::value& v, Config& c) { c.max_connections = as_uint(v, 1, 1'000'000); }},
      {"max_connections_per_uid",
       [](const json::value& v, Config& c) { c.max_connections_per_uid = as_uint(v, 1, 1'000'000); }},
      {"event_log_burst", [](const json::value& v, Config& c) { c.event_log_burst = as_uint(v, 1, 1'000'000); }},
      {"event_log_interval_ms",
       [](const json::value& v, Config& c) { c.event_log_interval = std::chrono::milliseconds(as_uint(v, 100, 86'400'000)); }},
      {"kdf_algorithm", algorithm_setter(&Config::kdf_algorithm, "pbkdf2-hmac-sha512")},
      {"mac_algorithm", algorithm_setter(&Config::mac_algorithm, "hmac-sha256")},
      {"cache_memory_budget_bytes",
       [](const json::value& v, Config& c) { c.cache_memory_budget_bytes = as_uint(v, 0, 1ull << 46); }},
      {"cache_disk_budget_bytes",
       [](const json::value& v, Config& c) { c.cache_disk_budget_bytes = as_uint(v, 4096, 1ull << 50); }},
      {"cache_flush_interval_ms",
       [](const json::value& v, Config& c) { c.cache_flush_interval = std::chrono::milliseconds(as_uint(v, 1, 3'600'000)); }},
      {"cache_sweep_interval_ms",
       [](const json::value& v, Config& c) { c.cache_sweep_interval = std::chrono::milliseconds(as_uint(v, 10, 86'400'000)); }},
  };
  return table;
}

}  // namespace

Config parse_config(std::string_view json_text, const std::string& origin) {
  boost::system::error_code ec;
  const json::value root = json::parse(json_text, ec);
  if (ec) throw std::runtime_error(origin + ": not valid JSON (" + ec.message() + ")");
  if (!root.is_object()) throw std::runtime_error(origin + ": must hold a JSON object");
  Config config;
  for (const auto& [key, value] : root.get_object()) {
    const auto it = setters().find(std::string_view(key));
    if (it == setters().end()) throw std::runtime_error(origin + ": unknown key \"" + std::string(key) + "\"");
    try {
      it->second(value, config);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(origin + ": \"" + std::string(key) + "\" " + e.what());
    }
  }
  return config;
}

Config load_config(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("config " + file.string() + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), "config " + file.string());
}

}  // namespace durationd::app

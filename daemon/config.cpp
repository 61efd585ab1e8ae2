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
      {"kdf_algorithm", algorithm_setter(&Config::kdf_algorithm, "pbkdf2-hmac-sha512")},
      {"mac_algorithm", algorithm_setter(&Config::mac_algorithm, "hmac-sha256")},
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

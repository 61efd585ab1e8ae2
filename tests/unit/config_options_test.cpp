#include <catch2/catch.hpp>

#include "daemon/config.hpp"
#include "daemon/options.hpp"

using namespace durationd::app;

TEST_CASE("config: defaults, valid keys, and clear errors") {
  const Config defaults = parse_config("{}", "test");
  CHECK(defaults.max_frame == 16'777'215u);
  CHECK(defaults.idle_timeout == std::chrono::milliseconds(60'000));

  const Config c = parse_config(R"({"max_frame": 1024, "idle_timeout_ms": 500, "log_level": "debug"})", "test");
  CHECK(c.max_frame == 1024u);
  CHECK(c.idle_timeout == std::chrono::milliseconds(500));
  CHECK(c.log_level == "debug");

  auto error_of = [](std::string_view text) {
    try {
      parse_config(text, "cfg");
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(error_of(R"({"nope": 1})") == "cfg: unknown key \"nope\"");
  CHECK(error_of(R"({"max_frame": 16777216})").find("max_frame") != std::string::npos);
  CHECK(error_of(R"({"max_frame": "big"})").find("must be an integer") != std::string::npos);
  CHECK(error_of(R"({"log_level": "loud"})").find("log_level") != std::string::npos);
  CHECK(error_of("[]").find("JSON object") != std::string::npos);
  CHECK(error_of("{").find("not valid JSON") != std::string::npos);
}

TEST_CASE("config: a weak algorithm or fewer KDF iterations are refused with the policy's reason") {
  using Catch::Contains;
  CHECK_THROWS_WITH(parse_config(R"({"kdf_algorithm": "pbkdf2-hmac-sha1"})", "cfg"), Contains("SHA-1 is broken"));
  CHECK_THROWS_WITH(parse_config(R"({"mac_algorithm": "HMAC-MD5"})", "cfg"), Contains("MD5 is broken"));
  CHECK_THROWS_WITH(parse_config(R"({"mac_algorithm": "rc4"})", "cfg"), Contains("RC4"));
  CHECK_THROWS_WITH(parse_config(R"({"kdf_iterations": 255999})", "cfg"), Contains("below the minimum of 256000"));
  CHECK(parse_config(R"({"kdf_iterations": 500000})", "cfg").kdf_iterations == 500'000u);
}

TEST_CASE("options: serve, keygen, migrate, inspect") {
  auto parse = [](std::vector<std::string> words) {
    words.insert(words.begin(), "durationd");
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    return parse_options(static_cast<int>(argv.size()), argv.data());
  };
  const Options serve = parse({"--socket", "/tmp/s", "--state-dir", "/tmp/d", "--key-file", "/k", "--foreground"});
  CHECK(serve.command == Command::kServe);
  CHECK(serve.socket == "/tmp/s");
  CHECK(serve.state_dir == "/tmp/d");
  CHECK(serve.key_file == std::filesystem::path("/k"));
  CHECK(serve.foreground);

  CHECK(parse({"keygen", "/tmp/key"}).files.at(0) == "/tmp/key");
  const Options migrate = parse({"migrate", "--key-file", "/k", "a.db", "b.db"});
  CHECK(migrate.command == Command::kMigrate);
  CHECK(migrate.files.size() == 2u);
  CHECK(parse({"inspect", "x.db"}).command == Command::kInspect);
  CHECK(parse({"--version"}).command == Command::kVersion);

  CHECK_THROWS_AS(parse({"--socket"}), std::invalid_argument);
  CHECK_THROWS_AS(parse({"keygen"}), std::invalid_argument);
  CHECK_THROWS_AS(parse({"inspect", "a", "b"}), std::invalid_argument);
  CHECK_THROWS_AS(parse({"--bogus"}), std::invalid_argument);
}

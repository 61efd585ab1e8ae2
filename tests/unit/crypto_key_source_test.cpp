// crypto/key_source.hpp against real files in a temporary directory and the real
// process environment.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/error.hpp"
#include "crypto/key_source.hpp"
#include "tests/support/catch_result.hpp"
#include "tests/support/temp_dir.hpp"

namespace crypto = durationd::crypto;
namespace fs = std::filesystem;
using durationd::test::TempDir;

namespace {

constexpr std::string_view kPassphrase = "correct horse battery staple";

// Writes `content` to `path` with exactly `mode`, whatever the umask.
void write_file(const fs::path& path, std::string_view content, mode_t mode = 0600) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
  REQUIRE(::fchmod(fd, mode) == 0);
  REQUIRE(::close(fd) == 0);
}

// Sets (or unsets, with nullopt) an environment variable for one test, restoring the
// previous value afterwards.
class EnvVar {
 public:
  EnvVar(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name)) saved_ = old;
    set(value);
  }
  EnvVar(const EnvVar&) = delete;
  EnvVar& operator=(const EnvVar&) = delete;
  ~EnvVar() { set(saved_); }

 private:
  void set(const std::optional<std::string>& value) {
    if (value) {
      ::setenv(name_, value->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  const char* name_;
  std::optional<std::string> saved_;
};

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("read_key_file accepts a 0600 file and strips one newline", "[crypto][key_source]") {
  TempDir dir;
  const auto path = dir / "durationd.key";

  SECTION("no newline") {
    write_file(path, kPassphrase);
    const auto key = crypto::read_key_file(path);
    REQUIRE(key);
    CHECK(key->view() == kPassphrase);
  }
  SECTION("one newline is stripped") {
    write_file(path, std::string(kPassphrase) + "\n");
    const auto key = crypto::read_key_file(path);
    REQUIRE(key);
    CHECK(key->view() == kPassphrase);
  }
  SECTION("only one newline is stripped") {
    write_file(path, std::string(kPassphrase) + "\n\n");
    const auto key = crypto::read_key_file(path);
    REQUIRE(key);
    CHECK(key->view() == std::string(kPassphrase) + "\n");
  }
  SECTION("a carriage return is part of the passphrase") {
    write_file(path, std::string(kPassphrase) + "\r\n");
    const auto key = crypto::read_key_file(path);
    REQUIRE(key);
    CHECK(key->view() == std::string(kPassphrase) + "\r");
  }
  SECTION("owner-only modes other than 0600 are fine") {
    const mode_t mode = GENERATE(mode_t{0400}, mode_t{0700});
    write_file(path, kPassphrase, mode);
    CHECK(crypto::read_key_file(path));
  }
}

TEST_CASE("read_key_file refuses a file group or others may read or write",
          "[crypto][key_source]") {
  TempDir dir;
  const auto path = dir / "durationd.key";
  const auto [mode, shown] = GENERATE(table<mode_t, std::string>({
      {0644, "0644"},
      {0640, "0640"},
      {0660, "0660"},
      {0604, "0604"},
      {0620, "0620"},
      {0602, "0602"},
      {0666, "0666"},
  }));
  write_file(path, kPassphrase, mode);
  const auto key = crypto::read_key_file(path);
  REQUIRE_FALSE(key);
  CHECK(key.error().code == crypto::Errc::key_file_permissions);
  CHECK(key.error().message == "key file " + path.string() + " has mode " + shown +
                                   "; it must not be readable or writable by group or others "
                                   "(chmod 600)");
  CHECK_FALSE(contains(key.error().message, kPassphrase));
}

TEST_CASE("read_key_file refuses what is not a plain key file", "[crypto][key_source]") {
  TempDir dir;
  const auto target = dir / "real.key";
  write_file(target, kPassphrase);

  SECTION("a symbolic link, even to a good file") {
    const auto link = dir / "link.key";
    fs::create_symlink(target, link);
    const auto key = crypto::read_key_file(link);
    REQUIRE_FALSE(key);
    CHECK(key.error().code == crypto::Errc::key_file_symlink);
    CHECK(contains(key.error().message, link.string()));
    CHECK(contains(key.error().message, "symbolic link"));
  }
  SECTION("a directory") {
    const auto directory = dir / "key.d";
    fs::create_directory(directory);
    fs::permissions(directory, fs::perms::owner_all);
    const auto key = crypto::read_key_file(directory);
    REQUIRE_FALSE(key);
    CHECK(key.error().code == crypto::Errc::key_file_not_regular);
    CHECK(key.error().message == "key file " + directory.string() + " is not a regular file");
  }
  SECTION("a FIFO, without blocking on it") {
    const auto fifo = dir / "key.fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const auto key = crypto::read_key_file(fifo);
    REQUIRE_FALSE(key);
    CHECK(key.error().code == crypto::Errc::key_file_not_regular);
  }
  SECTION("a missing file") {
    const auto missing = dir / "missing.key";
    const auto key = crypto::read_key_file(missing);
    REQUIRE_FALSE(key);
    CHECK(key.error().code == crypto::Errc::key_file_missing);
    CHECK(key.error().message == "key file " + missing.string() + " does not exist");
  }
  SECTION("a file over 4096 bytes") {
    const auto big = dir / "big.key";
    write_file(big, std::string(crypto::kMaxKeyFileBytes + 1, 'k'));
    const auto key = crypto::read_key_file(big);
    REQUIRE_FALSE(key);
    CHECK(key.error().code == crypto::Errc::key_file_too_large);
    write_file(big, std::string(crypto::kMaxKeyFileBytes, 'k'));
    CHECK(crypto::read_key_file(big));
  }
}

TEST_CASE("read_key_file refuses a passphrase under 16 bytes", "[crypto][key_source]") {
  TempDir dir;
  const auto path = dir / "durationd.key";
  write_file(path, "fifteen-bytes!!\n");  // 15 bytes once the newline is stripped
  const auto key = crypto::read_key_file(path);
  REQUIRE_FALSE(key);
  CHECK(key.error().code == crypto::Errc::passphrase_too_short);
  CHECK(key.error().message ==
        "passphrase from key file " + path.string() + " is 15 bytes; at least 16 are required");
  CHECK_FALSE(contains(key.error().message, "fifteen"));

  write_file(path, "sixteen-bytes!!!\n");
  CHECK(crypto::read_key_file(path));
}

TEST_CASE("load_passphrase follows the documented order of sources", "[crypto][key_source]") {
  TempDir dir;
  const auto key_file = dir / "option.key";
  write_file(key_file, "from the --key-file option\n");
  const auto credentials = dir / "credentials";
  fs::create_directory(credentials);
  EnvVar no_credentials("CREDENTIALS_DIRECTORY", std::nullopt);
  EnvVar no_env_key("DURATIOND_KEY", std::nullopt);

  SECTION("the environment variable is read, then removed") {
    EnvVar env_key("DURATIOND_KEY", "from the environment variable");
    const auto key = crypto::load_passphrase({});
    REQUIRE(key);
    CHECK(key->passphrase.view() == "from the environment variable");
    CHECK(key->origin == "environment DURATIOND_KEY");
    CHECK(std::getenv("DURATIOND_KEY") == nullptr);
  }
  SECTION("the environment's own copy of the value is overwritten") {
    EnvVar env_key("DURATIOND_KEY", "from the environment variable");
    // glibc never frees the strings setenv makes, so this pointer stays readable.
    const char* stored = std::getenv("DURATIOND_KEY");
    REQUIRE(stored != nullptr);
    REQUIRE(crypto::load_passphrase({}));
    CHECK(std::string_view(stored).empty());
  }
  SECTION("a short environment passphrase is refused and still removed") {
    EnvVar env_key("DURATIOND_KEY", "too short");
    const auto key = crypto::load_passphrase({});
    REQUIRE_FALSE(key);
    CHECK(key.error().code == crypto::Errc::passphrase_too_short);
    CHECK(key.error().message ==
          "passphrase from environment DURATIOND_KEY is 9 bytes; at least 16 are required");
    CHECK(std::getenv("DURATIOND_KEY") == nullptr);
  }
  SECTION("--key-file wins over the environment, which is removed all the same") {
    EnvVar env_key("DURATIOND_KEY", "from the environment variable");
    const auto key = crypto::load_passphrase({.key_file = key_file});
    REQUIRE(key);
    CHECK(key->passphrase.view() == "from the --key-file option");
    CHECK(key->origin == "key file " + key_file.string());
    CHECK(std::getenv("DURATIOND_KEY") == nullptr);
  }
  SECTION("a missing --key-file is an error, not a fall-through") {
    EnvVar env_key("DURATIOND_KEY", "from the environment variable");
    const auto missing = dir / "missing.key";
    const auto key = crypto::load_passphrase({.key_file = missing});
    REQUIRE_FALSE(key);
    CHECK(key.error().code == crypto::Errc::key_file_missing);
    CHECK(contains(key.error().message, missing.string()));
  }
  SECTION("the credential wins over --key-file and the environment") {
    write_file(credentials / "durationd.key", "from the systemd credential\n", 0400);
    EnvVar credentials_dir("CREDENTIALS_DIRECTORY", credentials.string());
    EnvVar env_key("DURATIOND_KEY", "from the environment variable");
    const auto key = crypto::load_passphrase({.key_file = key_file});
    REQUIRE(key);
    CHECK(key->passphrase.view() == "from the systemd credential");
    CHECK(key->origin == "credential " + (credentials / "durationd.key").string());
    CHECK(std::getenv("DURATIOND_KEY") == nullptr);
  }
  SECTION("a credentials directory without the file falls through to --key-file") {
    EnvVar credentials_dir("CREDENTIALS_DIRECTORY", credentials.string());
    const auto key = crypto::load_passphrase({.key_file = key_file});
    REQUIRE(key);
    CHECK(key->passphrase.view() == "from the --key-file option");
  }
  SECTION("a credential that fails a check is an error, not a fall-through") {
    write_file(credentials / "durationd.key", "from the systemd credential\n", 0644);
    EnvVar credentials_dir("CREDENTIALS_DIRECTORY", credentials.string());
    const auto key = crypto::load_passphrase({.key_file = key_file});
    REQUIRE_FALSE(key);
    CHECK(key.error().code == crypto::Errc::key_file_permissions);
    CHECK(contains(key.error().message, "mode 0644"));
  }
  SECTION("no source at all") {
    const auto key = crypto::load_passphrase({});
    REQUIRE_FALSE(key);
    CHECK(key.error().code == crypto::Errc::no_key);
    CHECK(key.error().message ==
          "no key: set $CREDENTIALS_DIRECTORY/durationd.key, --key-file or DURATIOND_KEY");
  }
}

TEST_CASE("check_passphrase_length names the origin and the length only", "[crypto][key_source]") {
  const auto short_one = crypto::SecretBytes::copy_of(std::string_view("abc"));
  const auto refused = crypto::check_passphrase_length(short_one, "request");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message == "passphrase from request is 3 bytes; at least 16 are required");
  const auto long_one = crypto::SecretBytes::zeroed(crypto::kMaxKeyFileBytes + 1);
  CHECK(crypto::check_passphrase_length(long_one, "request").error().code ==
        crypto::Errc::passphrase_too_long);
  CHECK(crypto::check_passphrase_length(crypto::SecretBytes::zeroed(16), "request"));
}

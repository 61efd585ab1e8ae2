#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "crypto/error.hpp"
#include "crypto/key_source.hpp"
#include "crypto/keygen.hpp"
#include "tests/support/catch_result.hpp"
#include "tests/support/temp_dir.hpp"

namespace crypto = durationd::crypto;
namespace fs = std::filesystem;
using durationd::test::TempDir;

namespace {

class Umask {
 public:
  explicit Umask(mode_t mask) : saved_(::umask(mask)) {}
  Umask(const Umask&) = delete;
  Umask& operator=(const Umask&) = delete;
  ~Umask() { ::umask(saved_); }

 private:
  mode_t saved_;
};

// Test files hold throw-away passphrases, so reading them into std::string is fine here.
std::string contents(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

}  // namespace

TEST_CASE("keygen writes a 0600 file whatever the umask", "[crypto][keygen]") {
  const mode_t mask = GENERATE(mode_t{022}, mode_t{0}, mode_t{077});
  const Umask umask_guard(mask);
  TempDir dir;
  const auto path = dir / "durationd.key";
  REQUIRE(crypto::write_new_key_file(path));

  struct stat status {};
  REQUIRE(::lstat(path.c_str(), &status) == 0);
  CHECK(S_ISREG(status.st_mode));
  CHECK((status.st_mode & 07777) == 0600);

  const std::string text = contents(path);
  REQUIRE(text.size() == crypto::kGeneratedPassphraseChars + 1);
  CHECK(text.back() == '\n');
  CHECK(text.size() - 1 >= 32);
  for (std::size_t i = 0; i + 1 < text.size(); ++i) CHECK(is_base64_char(text[i]));

  // The daemon accepts what keygen writes.
  const auto key = crypto::read_key_file(path);
  REQUIRE(key);
  CHECK(key->view() == std::string_view(text).substr(0, text.size() - 1));
}

TEST_CASE("keygen never overwrites", "[crypto][keygen]") {
  TempDir dir;
  const auto path = dir / "durationd.key";

  SECTION("an existing file") {
    REQUIRE(crypto::write_new_key_file(path));
    const std::string before = contents(path);
    const auto again = crypto::write_new_key_file(path);
    REQUIRE_FALSE(again);
    CHECK(again.error().code == crypto::Errc::key_file_exists);
    CHECK(again.error().message ==
          "key file " + path.string() + " already exists; refusing to overwrite it");
    CHECK(contents(path) == before);
  }
  SECTION("a symbolic link, not even a dangling one") {
    const auto target = dir / "target";
    fs::create_symlink(target, path);
    const auto written = crypto::write_new_key_file(path);
    REQUIRE_FALSE(written);
    CHECK(written.error().code == crypto::Errc::key_file_exists);
    CHECK_FALSE(fs::exists(target));
  }
}

TEST_CASE("keygen gives a different passphrase each time", "[crypto][keygen]") {
  TempDir dir;
  REQUIRE(crypto::write_new_key_file(dir / "one.key"));
  REQUIRE(crypto::write_new_key_file(dir / "two.key"));
  CHECK(contents(dir / "one.key") != contents(dir / "two.key"));
}

TEST_CASE("keygen reports a directory that does not exist", "[crypto][keygen]") {
  TempDir dir;
  const auto path = dir / "no-such-dir" / "durationd.key";
  const auto written = crypto::write_new_key_file(path);
  REQUIRE_FALSE(written);
  CHECK(written.error().code == crypto::Errc::key_file_write_failed);
  CHECK(written.error().message.find(path.string()) != std::string::npos);
}

#include <catch2/catch.hpp>

#include "ipc/base64.hpp"
#include "ipc/utf8.hpp"

using namespace durationd::ipc;

TEST_CASE("base64: RFC 4648 vectors both ways") {
  const std::vector<std::pair<std::string, std::string>> vectors{
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    std::string out;
    append_base64(as_bytes(plain), out);
    CHECK(out == encoded);
    CHECK(decode_base64(encoded) == plain);
  }
  CHECK(decode_base64("Zm8") == "fo");  // unpadded is accepted
  CHECK_FALSE(decode_base64("Zm9v!"));
  CHECK_FALSE(decode_base64("Z"));
  CHECK_FALSE(decode_base64("Zh=="));  // non-zero leftover bits
  CHECK_FALSE(decode_base64("Zm 9v"));
}

TEST_CASE("UTF-8: valid, overlong, surrogate, out of range, truncated") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain"));
  CHECK(is_valid_utf8("\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  CHECK_FALSE(is_valid_utf8("\xc0\xaf"));
  CHECK_FALSE(is_valid_utf8("\xe0\x80\xaf"));
  CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));
  CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));
  CHECK_FALSE(is_valid_utf8("\xe2\x82"));
  CHECK_FALSE(is_valid_utf8("\xff"));
}

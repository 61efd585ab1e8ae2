#include <array>
#include <catch2/catch.hpp>
#include <string>

#include "crypto/constant_time.hpp"
#include "crypto/error.hpp"
#include "crypto/random.hpp"
#include "tests/support/catch_result.hpp"

namespace crypto = durationd::crypto;

TEST_CASE("random_bytes fills the buffer with fresh bytes", "[crypto][random]") {
  std::array<std::byte, 32> first{};
  std::array<std::byte, 32> second{};
  REQUIRE(crypto::random_bytes(first));
  REQUIRE(crypto::random_bytes(second));
  // 2^-256 odds of a false failure.
  CHECK_FALSE(crypto::equal_constant_time(first, second));
  CHECK_FALSE(crypto::equal_constant_time(first, std::array<std::byte, 32>{}));
  CHECK(crypto::random_bytes({}));
}

TEST_CASE("random_secret returns distinct secrets of the asked size", "[crypto][random]") {
  const auto first = crypto::random_secret(32);
  const auto second = crypto::random_secret(32);
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->size() == 32);
  CHECK_FALSE(crypto::equal_constant_time(first->span(), second->span()));
  const auto none = crypto::random_secret(0);
  REQUIRE(none);
  CHECK(none->empty());
}

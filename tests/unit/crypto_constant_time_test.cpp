#include <array>
#include <catch2/catch.hpp>

#include "crypto/constant_time.hpp"

namespace crypto = durationd::crypto;

TEST_CASE("equal_constant_time compares contents and lengths", "[crypto][constant_time]") {
  const std::array a{std::byte{1}, std::byte{2}, std::byte{3}};
  const std::array same{std::byte{1}, std::byte{2}, std::byte{3}};
  const std::array last_differs{std::byte{1}, std::byte{2}, std::byte{4}};
  const std::array first_differs{std::byte{9}, std::byte{2}, std::byte{3}};
  const std::array shorter{std::byte{1}, std::byte{2}};

  CHECK(crypto::equal_constant_time(a, same));
  CHECK_FALSE(crypto::equal_constant_time(a, last_differs));
  CHECK_FALSE(crypto::equal_constant_time(a, first_differs));
  CHECK_FALSE(crypto::equal_constant_time(a, shorter));
  CHECK_FALSE(crypto::equal_constant_time(shorter, a));
  CHECK(crypto::equal_constant_time({}, {}));
  CHECK_FALSE(crypto::equal_constant_time(a, {}));
}

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>

#include "crypto/secret_bytes.hpp"

namespace crypto = durationd::crypto;

static_assert(!std::is_copy_constructible_v<crypto::SecretBytes>);
static_assert(!std::is_copy_assignable_v<crypto::SecretBytes>);
static_assert(std::is_nothrow_move_constructible_v<crypto::SecretBytes>);
static_assert(std::is_nothrow_move_assignable_v<crypto::SecretBytes>);

namespace {

bool all_zero(const std::byte* data, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] != std::byte{0}) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("a default SecretBytes is empty", "[crypto][secret_bytes]") {
  const crypto::SecretBytes empty;
  CHECK(empty.empty());
  CHECK(empty.size() == 0);
  CHECK(empty.data() == nullptr);
  CHECK(empty.view().empty());
  CHECK(crypto::SecretBytes::zeroed(0).empty());
}

TEST_CASE("zeroed gives page-aligned zero bytes of the asked size", "[crypto][secret_bytes]") {
  const auto secret = crypto::SecretBytes::zeroed(100);
  REQUIRE(secret.size() == 100);
  CHECK_FALSE(secret.empty());
  CHECK(all_zero(secret.data(), secret.size()));
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  CHECK(reinterpret_cast<std::uintptr_t>(secret.data()) % page == 0);
  // Locking may legitimately fail under a small RLIMIT_MEMLOCK; it must not throw.
  INFO("locked: " << secret.locked());
}

TEST_CASE("copy_of copies bytes and text", "[crypto][secret_bytes]") {
  const auto text = crypto::SecretBytes::copy_of(std::string_view("open sesame"));
  CHECK(text.size() == 11);
  CHECK(text.view() == "open sesame");

  const std::byte raw[] = {std::byte{1}, std::byte{0}, std::byte{255}};
  const auto bytes = crypto::SecretBytes::copy_of(std::span<const std::byte>(raw));
  REQUIRE(bytes.size() == 3);
  CHECK(bytes.span()[0] == std::byte{1});
  CHECK(bytes.span()[1] == std::byte{0});
  CHECK(bytes.span()[2] == std::byte{255});
}

TEST_CASE("moving leaves the source empty", "[crypto][secret_bytes]") {
  auto source = crypto::SecretBytes::copy_of(std::string_view("0123456789abcdef"));
  const std::byte* pages = source.data();

  crypto::SecretBytes moved(std::move(source));
  CHECK(source.empty());  // NOLINT(bugprone-use-after-move): the state is the contract
  CHECK(source.data() == nullptr);
  CHECK_FALSE(source.locked());
  CHECK(moved.data() == pages);
  CHECK(moved.view() == "0123456789abcdef");

  auto target = crypto::SecretBytes::copy_of(std::string_view("old contents"));
  target = std::move(moved);
  CHECK(moved.empty());  // NOLINT(bugprone-use-after-move)
  CHECK(target.view() == "0123456789abcdef");

  auto& alias = target;
  target = std::move(alias);  // self-move keeps the contents
  CHECK(target.view() == "0123456789abcdef");
}

TEST_CASE("truncate shortens and wipes the cut-off bytes", "[crypto][secret_bytes]") {
  auto secret = crypto::SecretBytes::copy_of(std::string_view("keepWIPE"));
  secret.truncate(4);
  CHECK(secret.view() == "keep");
  // Still inside our own mapping, so reading past size() is defined here.
  CHECK(all_zero(secret.data() + 4, 4));
  secret.truncate(10);  // never grows
  CHECK(secret.size() == 4);
  secret.truncate(0);
  CHECK(secret.empty());
}

TEST_CASE("span and view cover exactly the bytes", "[crypto][secret_bytes]") {
  auto secret = crypto::SecretBytes::zeroed(3);
  secret.span()[0] = std::byte{'a'};
  secret.span()[1] = std::byte{'b'};
  secret.span()[2] = std::byte{'c'};
  CHECK(secret.span().size() == 3);
  CHECK(std::as_const(secret).span().data() == secret.data());
  CHECK(secret.view() == "abc");
}

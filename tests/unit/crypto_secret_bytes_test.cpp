#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
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

// The VmFlags line of the /proc/self/smaps entry of the mapping that starts at `start`
// ("" when there is none), e.g. "rd wr mr mw me lo dd ac sd".
std::string vm_flags_of_mapping_at(const void* start) {
  std::ostringstream wanted;
  wanted << std::hex << reinterpret_cast<std::uintptr_t>(start) << '-';
  std::ifstream smaps("/proc/self/smaps");
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    // An entry's first line is "start-end perms offset dev inode [path]"; the fields
    // that follow are "Name: value" lines, VmFlags last.
    if (line.rfind(wanted.str(), 0) == 0) inside = true;
    if (inside && line.rfind("VmFlags:", 0) == 0) return " " + line.substr(8) + " ";
  }
  return "";
}

// Whether this process may lock a page at all (CAP_IPC_LOCK, or room under RLIMIT_MEMLOCK).
bool can_lock_a_page() {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  void* probe = ::mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(probe != MAP_FAILED);
  const bool locked = ::mlock(probe, page) == 0;
  ::munmap(probe, page);
  return locked;
}

}  // namespace

TEST_CASE("secret pages are left out of core dumps, and locked in RAM whenever the process may lock",
          "[crypto][secret_bytes]") {
  const auto secret = crypto::SecretBytes::copy_of(std::string_view("a key that must not leak"));
  const std::string flags = vm_flags_of_mapping_at(secret.data());
  INFO("VmFlags:" << flags);
  REQUIRE_FALSE(flags.empty());
  // dd: MADV_DONTDUMP, so a core dump leaves these pages out.
  CHECK(flags.find(" dd ") != std::string::npos);
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  // The sanitizers' runtimes intercept mlock() and do nothing (reporting success): what
  // the kernel says about locking cannot be checked in those builds.
  WARN("sanitizer build: mlock() is a no-op here, locking is not checked");
  return;
#endif
  // lo: VM_LOCKED, so the pages never reach swap. locked() must say what the kernel says.
  CHECK((flags.find(" lo ") != std::string::npos) == secret.locked());
  if (can_lock_a_page()) {
    CHECK(secret.locked());
  } else {
    WARN("this process may not lock memory (RLIMIT_MEMLOCK): locking is not checked here");
  }
}

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

// SecretBytes: the only container for key material and passphrases in durationd.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace durationd::crypto {

// Owns a buffer of secret bytes in pages of its own, so that:
//  - the pages can be mlock()ed (kept out of swap) without locking unrelated heap data;
//    this is best effort, because RLIMIT_MEMLOCK may be small: locked() says whether it
//    worked;
//  - the pages are madvise(MADV_DONTDUMP)ed, so a core dump leaves them out even if
//    disable_core_dumps() was not called;
//  - the bytes are wiped with OPENSSL_cleanse (which the compiler cannot elide) before
//    the pages are returned.
// Move-only: a copy of a secret is made explicitly, with copy_of(). A moved-from object
// is empty; the pages it owned now belong to the target. Each object costs at least one
// page of memory: hold few, long-lived secrets in it, not many small values.
// Not thread-safe: one thread at a time, like a std::vector.
class SecretBytes {
 public:
  // Empty: no pages, size() == 0, data() == nullptr.
  SecretBytes() noexcept = default;

  // `size` zero bytes. Throws std::bad_alloc if the pages cannot be mapped.
  static SecretBytes zeroed(std::size_t size);
  // A copy of `bytes` (or of the characters of `text`). The caller still owns, and must
  // wipe, its original. Throws std::bad_alloc like zeroed().
  static SecretBytes copy_of(std::span<const std::byte> bytes);
  static SecretBytes copy_of(std::string_view text);

  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& other) noexcept;
  // Wipes and releases this object's bytes before taking over other's.
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  ~SecretBytes();

  std::byte* data() noexcept { return data_; }
  const std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::span<std::byte> span() noexcept { return {data_, size_}; }
  std::span<const std::byte> span() const noexcept { return {data_, size_}; }
  // The bytes as characters, for passphrases. Valid until this object changes; do not
  // copy it into a std::string (that copy would never be wiped).
  std::string_view view() const noexcept;

  // True when the pages are locked in RAM (mlock succeeded).
  bool locked() const noexcept { return locked_; }

  // Shortens to `new_size` bytes (no-op if not shorter), wiping the bytes cut off.
  // Lets a reader fill a buffer of the maximum size and keep only what it read.
  void truncate(std::size_t new_size) noexcept;

 private:
  SecretBytes(std::byte* pages, std::size_t mapped, std::size_t size, bool locked) noexcept;
  void release() noexcept;

  std::byte* data_ = nullptr;  // start of our mapping, or nullptr when empty
  std::size_t size_ = 0;       // bytes in use
  std::size_t mapped_ = 0;     // bytes mapped (a whole number of pages)
  bool locked_ = false;
};

}  // namespace durationd::crypto

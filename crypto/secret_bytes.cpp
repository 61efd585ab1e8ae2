#include "crypto/secret_bytes.hpp"

#include <openssl/crypto.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <new>
#include <utility>

namespace durationd::crypto {
namespace {

std::size_t page_size() noexcept {
  static const auto size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

}  // namespace

SecretBytes::SecretBytes(std::byte* pages, std::size_t mapped, std::size_t size,
                         bool locked) noexcept
    : data_(pages), size_(size), mapped_(mapped), locked_(locked) {}

SecretBytes SecretBytes::zeroed(std::size_t size) {
  if (size == 0) return {};
  const std::size_t page = page_size();
  if (size > SIZE_MAX - page) throw std::bad_alloc();
  const std::size_t mapped = (size + page - 1) / page * page;
  // An anonymous private mapping: zero-filled, page-aligned and shared with nothing else,
  // so locking and dump exclusion apply to exactly this secret.
  void* pages = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (pages == MAP_FAILED) throw std::bad_alloc();
  // Best effort: without CAP_IPC_LOCK the RLIMIT_MEMLOCK budget may be used up. A failure
  // is reported through locked(), not treated as fatal.
  const bool locked = ::mlock(pages, mapped) == 0;
  // Best effort as well (EINVAL only on kernels before 3.4); disable_core_dumps() is the
  // primary defence, this one covers a process that forgot to call it.
  static_cast<void>(::madvise(pages, mapped, MADV_DONTDUMP));
  return SecretBytes(static_cast<std::byte*>(pages), mapped, size, locked);
}

SecretBytes SecretBytes::copy_of(std::span<const std::byte> bytes) {
  SecretBytes copy = zeroed(bytes.size());
  if (!bytes.empty()) std::memcpy(copy.data_, bytes.data(), bytes.size());
  return copy;
}

SecretBytes SecretBytes::copy_of(std::string_view text) {
  return copy_of(std::as_bytes(std::span<const char>(text.data(), text.size())));
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)),
      locked_(std::exchange(other.locked_, false)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
    locked_ = std::exchange(other.locked_, false);
  }
  return *this;
}

SecretBytes::~SecretBytes() {
  release();
}

std::string_view SecretBytes::view() const noexcept {
  return {reinterpret_cast<const char*>(data_), size_};
}

void SecretBytes::truncate(std::size_t new_size) noexcept {
  if (new_size >= size_) return;
  OPENSSL_cleanse(data_ + new_size, size_ - new_size);
  size_ = new_size;
}

void SecretBytes::release() noexcept {
  if (data_ == nullptr) return;
  // The whole mapping, not just size_: truncate() may have left wiped bytes past size_,
  // and wiping them again is cheaper than reasoning about it.
  OPENSSL_cleanse(data_, mapped_);
  if (locked_) static_cast<void>(::munlock(data_, mapped_));
  // munmap can only fail for arguments we did not get from mmap; nothing to recover.
  static_cast<void>(::munmap(data_, mapped_));
  data_ = nullptr;
  size_ = 0;
  mapped_ = 0;
  locked_ = false;
}

}  // namespace durationd::crypto

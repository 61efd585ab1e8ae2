#include "crypto/error.hpp"

#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>
#include <ostream>

namespace durationd::crypto {
namespace {

// Boost gives error_category a protected non-virtual destructor on purpose: a category
// is a static object, never deleted through a base pointer. -Wnon-virtual-dtor cannot
// tell, so it is silenced for this one class.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class Category final : public boost::system::error_category {  // NOLINT(*-virtual-class-destructor)
 public:
  const char* name() const noexcept override { return "durationd.crypto"; }

  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::openssl_failure:
        return "an OpenSSL operation failed";
      case Errc::random_unavailable:
        return "the random generator failed";
      case Errc::invalid_argument:
        return "invalid argument to a crypto function";
      case Errc::algorithm_forbidden:
        return "algorithm forbidden by policy";
      case Errc::algorithm_unknown:
        return "algorithm not allowed by policy";
      case Errc::iterations_out_of_range:
        return "KDF iteration count out of range";
      case Errc::no_key:
        return "no key source applies";
      case Errc::key_file_missing:
        return "key file does not exist";
      case Errc::key_file_unreadable:
        return "key file cannot be read";
      case Errc::key_file_symlink:
        return "key file is a symbolic link";
      case Errc::key_file_not_regular:
        return "key file is not a regular file";
      case Errc::key_file_permissions:
        return "key file is accessible by group or others";
      case Errc::key_file_too_large:
        return "key file is too large";
      case Errc::passphrase_too_short:
        return "passphrase is too short";
      case Errc::passphrase_too_long:
        return "passphrase is too long";
      case Errc::key_file_exists:
        return "key file already exists";
      case Errc::key_file_write_failed:
        return "key file could not be written";
      case Errc::hardening_failed:
        return "a process hardening step failed";
    }
    return "unknown durationd.crypto error";
  }
};
#pragma GCC diagnostic pop

}  // namespace

boost::system::error_code make_error_code(Errc e) noexcept {
  // A function-local static: initialised once, thread-safe, never destroyed early.
  static const Category category;
  return {static_cast<int>(e), category};
}

std::ostream& operator<<(std::ostream& out, const Error& error) {
  return out << error.message;
}

void throw_exception_from_error(const Error& e, const boost::source_location& loc) {
  boost::throw_with_location(boost::system::system_error(e.code, e.message), loc);
}

}  // namespace durationd::crypto

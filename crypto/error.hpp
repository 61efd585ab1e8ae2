// Errors of the crypto module, shaped like Beast's error.hpp: one enum, one category.
//
// A fallible function here returns Result<T>: either its value or an Error, which pairs
// the machine-checkable code with the one line a user reads. The line may name a file, a
// mode or a length; it never holds key, passphrase or other secret material.
#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <iosfwd>
#include <string>
#include <type_traits>

namespace durationd::crypto {

enum class Errc {
  // Zero means success for error_code, so the first value is 1.
  openssl_failure = 1,      // an OpenSSL call failed (its reason is in the message)
  random_unavailable,       // the random generator could not produce bytes
  invalid_argument,         // a caller passed a value the function refuses (bad length...)
  algorithm_forbidden,      // a known-weak algorithm (MD5, SHA-1, DES, 3DES, RC4)
  algorithm_unknown,        // an algorithm the policy does not list
  iterations_out_of_range,  // KDF iterations below the floor or above the sanity cap
  no_key,                   // no key source applies
  key_file_missing,         // the named key file does not exist
  key_file_unreadable,      // the key file could not be opened or read
  key_file_symlink,         // the key file is a symbolic link
  key_file_not_regular,     // the key file is a directory, device, FIFO...
  key_file_permissions,     // group or others may read or write the key file
  key_file_too_large,       // the key file is over the size cap
  passphrase_too_short,     // fewer bytes than the minimum
  passphrase_too_long,      // more bytes than the cap
  key_file_exists,          // keygen refuses to overwrite
  key_file_write_failed,    // keygen could not create, write or sync the file
  hardening_failed,         // a process hardening step failed (dumpable flag, environment)
};

// The category's name is "durationd.crypto"; its messages are generic one-liners.
boost::system::error_code make_error_code(Errc e) noexcept;

// What a failed Result holds. Copyable, owns its message.
struct Error {
  boost::system::error_code code;
  std::string message;  // one line for a human; never secret material
};

// Writes the message, so errors can be logged directly.
std::ostream& operator<<(std::ostream& out, const Error& error);

template <class T>
using Result = boost::system::result<T, Error>;

// Called (found by ADL) by Result<T>::value() on an error: throws
// boost::system::system_error carrying the code and the message.
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

}  // namespace durationd::crypto

namespace boost::system {
template <>
struct is_error_code_enum<durationd::crypto::Errc> : std::true_type {};
}  // namespace boost::system

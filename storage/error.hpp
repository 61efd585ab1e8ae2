// Errors of the storage module, shaped like crypto/error.hpp (Beast's error.hpp): one
// enum, one category, and an Error that pairs the code with one line for a human. The
// line may name a database file; it never holds key material or stored values.
#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <string>
#include <type_traits>

namespace durationd::storage {

enum class Errc {
  wrong_key = 1,    // the file is encrypted under another key (or is not a database)
  plaintext,        // the file is a plaintext SQLite database
  io,               // the operating system failed a read, write, open or sync
  full,             // the disk (or a quota or RLIMIT_FSIZE) is full
  read_only,        // the file or its directory cannot be written
  busy,             // another connection holds a lock past the busy timeout
  corrupt,          // SQLite reports corruption (or a page failed its HMAC)
  schema,           // the database's schema is newer than this daemon knows
  constraint,       // a constraint failed (a bug in our SQL or a race we lost)
  crypto,           // key derivation failed
  internal,         // any other SQLite error
};

boost::system::error_code make_error_code(Errc e) noexcept;

struct Error {
  boost::system::error_code code;
  std::string message;
};

template <class T>
using Result = boost::system::result<T, Error>;

[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

// Maps an SQLite result code to ours.
Errc errc_from_sqlite(int sqlite_code) noexcept;

}  // namespace durationd::storage

namespace boost::system {
template <>
struct is_error_code_enum<durationd::storage::Errc> : std::true_type {};
}  // namespace boost::system

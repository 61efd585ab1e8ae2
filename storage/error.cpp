#include "storage/error.hpp"

#include <boost/system/system_error.hpp>

#include "storage/sqlite.hpp"

namespace durationd::storage {
namespace {

#pragma GCC diagnostic push
// boost::system::error_category has a protected non-virtual destructor by design.
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "durationd.storage"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::wrong_key: return "wrong key";
      case Errc::plaintext: return "plaintext database";
      case Errc::io: return "I/O error";
      case Errc::full: return "disk full";
      case Errc::read_only: return "read-only";
      case Errc::busy: return "database busy";
      case Errc::corrupt: return "database corrupt";
      case Errc::schema: return "unknown schema version";
      case Errc::constraint: return "constraint failed";
      case Errc::crypto: return "key derivation failed";
      case Errc::internal: return "internal database error";
    }
    return "unknown storage error";
  }
};
#pragma GCC diagnostic pop

const Category kCategory;

}  // namespace

boost::system::error_code make_error_code(Errc e) noexcept { return {static_cast<int>(e), kCategory}; }

void throw_exception_from_error(const Error& e, const boost::source_location& loc) {
  boost::throw_exception(boost::system::system_error(e.code, e.message), loc);
}

Errc errc_from_sqlite(int sqlite_code) noexcept {
  switch (sqlite_code & 0xff) {
    case SQLITE_NOTADB: return Errc::wrong_key;
    case SQLITE_FULL: return Errc::full;
    case SQLITE_READONLY: return Errc::read_only;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_PERM: return Errc::io;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Errc::busy;
    case SQLITE_CORRUPT: return Errc::corrupt;
    case SQLITE_CONSTRAINT: return Errc::constraint;
    default: return Errc::internal;
  }
}

}  // namespace durationd::storage

#include "crypto/detail/openssl_error.hpp"

#include <openssl/err.h>

#include <string>
#include <utility>

namespace durationd::crypto::detail {

Error openssl_error(std::string_view what, Errc code) {
  // The newest entry comes from the call that just failed, if it raised any; older ones
  // may have been left behind by other code sharing the queue (SQLCipher).
  const unsigned long newest = ERR_peek_last_error();
  const char* reason = newest != 0 ? ERR_reason_error_string(newest) : nullptr;
  std::string message(what);
  message += ": ";
  message += reason != nullptr ? reason : "OpenSSL reported no reason";
  ERR_clear_error();
  return Error{code, std::move(message)};
}

}  // namespace durationd::crypto::detail

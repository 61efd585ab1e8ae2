// Internal to crypto/: turns the state of OpenSSL's error queue into an Error.
#pragma once

#include <string_view>

#include "crypto/error.hpp"

namespace durationd::crypto::detail {

// Returns `code` with the message "<what>: <OpenSSL reason>" and empties this thread's
// OpenSSL error queue, so the entry cannot be blamed on a later, unrelated call. Only OpenSSL's
// static reason strings are read, never the free-form data an entry may carry. `what` must not hold
// secret material.
Error openssl_error(std::string_view what, Errc code = Errc::openssl_failure);

}  // namespace durationd::crypto::detail

#include "crypto/core_dumps.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <string>
#include <system_error>

namespace durationd::crypto {

Result<void> disable_core_dumps() {
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    const int error = errno;
    return Error{Errc::hardening_failed,
                 "cannot make the process non-dumpable: " + std::system_category().message(error)};
  }
  const rlimit none{0, 0};
  if (::setrlimit(RLIMIT_CORE, &none) != 0) {
    const int error = errno;
    return Error{Errc::hardening_failed,
                 "cannot set RLIMIT_CORE to 0: " + std::system_category().message(error)};
  }
  return {};
}

}  // namespace durationd::crypto

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "crypto/core_dumps.hpp"

namespace crypto = durationd::crypto;

TEST_CASE("disable_core_dumps makes the process non-dumpable", "[crypto][core_dumps]") {
  // In a child: the change is irreversible and the test runner should stay dumpable.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const bool disabled = static_cast<bool>(crypto::disable_core_dumps());
    rlimit core{};
    const bool limited =
        ::getrlimit(RLIMIT_CORE, &core) == 0 && core.rlim_cur == 0 && core.rlim_max == 0;
    const bool non_dumpable = ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0;
    ::_exit(disabled && limited && non_dumpable ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

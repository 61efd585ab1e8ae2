// Keeping the daemon's memory, and so its keys, out of core dumps and ptrace.
#pragma once

#include "crypto/error.hpp"

namespace durationd::crypto {

// Marks the process non-dumpable (prctl PR_SET_DUMPABLE 0: no core file, and other
// processes of the same uid can no longer ptrace it or read /proc/PID/mem or environ)
// and sets RLIMIT_CORE to 0, so a later execve'd helper cannot dump either. The daemon
// calls it first thing in main, before it reads any key. Irreversible by design.
Result<void> disable_core_dumps();

}  // namespace durationd::crypto

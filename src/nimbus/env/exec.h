#pragma once

// execve(2) for a freshly written program. ETXTBSY means a child another
// thread is starting at this moment still holds a copy of the descriptor
// that wrote the file (it closes it at its own exec); that passes within
// moments, so it is waited out (1 ms at a time, up to a second) rather
// than failing the start. Only system calls: safe between clone and exec,
// and header-only so the static nimbus-init can use it too.

#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace nimbus::env {

// Returns only when the exec failed, with errno saying why.
inline void exec_waiting_out_busy_text(const char* program, char* const argv[],
                                       char* const envp[]) {
  execve(program, argv, envp);
  for (int tries = 0; errno == ETXTBSY && tries < 1000; ++tries) {
    const timespec pause{0, 1'000'000};
    nanosleep(&pause, nullptr);
    execve(program, argv, envp);
  }
}

}  // namespace nimbus::env

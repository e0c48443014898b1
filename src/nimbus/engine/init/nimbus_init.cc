// nimbus-init: pid 1 of a function instance's PID namespace.
//
//   nimbus-init PROGRAM [ARGS...]     (fd 3: where the program's exit is reported)
//
// Why it exists: in its own PID namespace a process is pid 1, and the kernel
// drops every signal pid 1 has no handler for — a runtime would ignore
// SIGTERM and even abort(). So pid 1 is this: it starts the runtime as pid 2,
// forwards the stop signals to it, reaps every orphan, and when the runtime
// ends writes its raw wait status (4 bytes) to fd 3 and exits, which ends the
// namespace and everything left in it. If the program cannot be executed at
// all, -errno (4 bytes) comes first.
// Only system calls; no allocation after
// start-up, no dependencies, linked statically where the build allows.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace {

void ignore(int) {}

constexpr int kForwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    static const char usage[] = "usage: nimbus-init PROGRAM [ARGS...]\n";
    (void)!write(2, usage, sizeof usage - 1);
    return 2;
  }
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, nullptr);
  // A handler, even a no-op one, is what lets these signals reach pid 1.
  struct sigaction action {};
  action.sa_handler = ignore;
  for (int sig : kForwarded) sigaction(sig, &action, nullptr);
  sigaction(SIGCHLD, &action, nullptr);

  pid_t runtime = fork();
  if (runtime < 0) return 127;
  if (runtime == 0) {
    struct sigaction reset {};
    reset.sa_handler = SIG_DFL;
    for (int sig : kForwarded) sigaction(sig, &reset, nullptr);
    sigaction(SIGCHLD, &reset, nullptr);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // fd 3 closes itself if the exec works; if not, it carries -errno.
    fcntl(3, F_SETFD, FD_CLOEXEC);
    execv(argv[1], argv + 1);
    int failure = -errno;
    (void)!write(3, &failure, sizeof failure);
    const char* reason = std::strerror(-failure);
    (void)!write(2, "nimbus-init: exec ", 18);
    (void)!write(2, argv[1], std::strlen(argv[1]));
    (void)!write(2, ": ", 2);
    (void)!write(2, reason, std::strlen(reason));
    (void)!write(2, "\n", 1);
    _exit(127);
  }

  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      kill(runtime, sig);
      continue;
    }
    int status = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid != runtime) continue;  // an orphan, reaped
      (void)!write(3, &status, sizeof status);
      if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
      _exit(128 + WTERMSIG(status));
    }
  }
}

// nimbus-init: pid 1 of a function instance's PID namespace.
//
//   nimbus-init PROGRAM [ARGS...]     (fd 3: where the program's exit is reported)
//   nimbus-init --plan                (fd 3 as above; fd 4: the plan socket)
//
// Why it exists: in its own PID namespace a process is pid 1, and the kernel
// drops every signal pid 1 has no handler for — a runtime would ignore
// SIGTERM and even abort(). So pid 1 is this: it starts the runtime as pid 2,
// forwards the stop signals to it, reaps every orphan, and when the runtime
// ends writes its raw wait status (4 bytes) to fd 3 and exits, which ends the
// namespace and everything left in it. If the program cannot be executed at
// all, -errno (4 bytes) comes first.
//
// With --plan it is a prepared sandbox: started by the engine ahead of need,
// already in its namespaces and mounts, still privileged, it waits for one
// message on fd 4 (internal/sandbox_plan.h) saying what to run. It mounts
// the function's code, applies the limits, working directory and user, and
// then carries on as above. A closed socket (the engine discarding it) ends
// it quietly. So a cold start pays for none of the namespace set-up.
// Only system calls; no allocation after
// start-up, no dependencies, linked statically where the build allows.

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "nimbus/engine/internal/sandbox_plan.h"
#include "nimbus/env/exec.h"

namespace {

namespace plan_format = nimbus::engine::internal;

void ignore(int) {}

constexpr int kForwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

void say(const char* text) { (void)!write(2, text, std::strlen(text)); }

// Reports a failed set-up step the way a failed exec is reported: -errno on
// fd 3, a line on stderr (the function's log).
[[noreturn]] void fail(const char* step) {
  int failure = -(errno != 0 ? errno : EINVAL);
  (void)!write(3, &failure, sizeof failure);
  say("nimbus-init: ");
  say(step);
  say(": ");
  say(std::strerror(-failure));
  say("\n");
  _exit(127);
}

// move_mount(2) (Linux 5.2); glibc 2.36 has no wrapper.
constexpr long kSysMoveMount = 429;
constexpr unsigned kMoveMountFromEmptyPath = 0x4;

// Makes every missing directory of `path` (they can only be missing inside
// the empty tmpfs that hides the data directory, or in the private /tmp).
void make_dirs(char* path) {
  for (char* at = path + 1; *at != '\0'; ++at) {
    if (*at != '/') continue;
    *at = '\0';
    if (mkdir(path, 0755) != 0 && errno != EEXIST) fail("mkdir");
    *at = '/';
  }
  if (mkdir(path, 0755) != 0 && errno != EEXIST) fail("mkdir");
}

alignas(plan_format::PlanHeader) char plan_buffer[plan_format::kMaxPlanBytes];
char* plan_strings[plan_format::kMaxPlanStrings + 1];

// Waits for the plan, applies it, and returns the argv to run (the
// environment through `envp`). Returns null when the engine closed the
// socket without a plan.
char** receive_plan(char*** envp) {
  char control[CMSG_SPACE(sizeof(int))] = {};
  iovec io{plan_buffer, sizeof plan_buffer};
  msghdr message{};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = recvmsg(4, &message, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n == 0) return nullptr;
  if (n < 0) fail("plan");
  close(4);
  int code_tree = -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      std::memcpy(&code_tree, CMSG_DATA(c), sizeof code_tree);
    }
  }
  errno = EBADMSG;
  if ((message.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) fail("plan");
  plan_format::PlanHeader header;
  if (static_cast<std::size_t>(n) < sizeof header) fail("plan");
  std::memcpy(&header, plan_buffer, sizeof header);
  std::size_t limits_end =
      sizeof header + std::size_t{header.limit_count} * sizeof(plan_format::PlanLimit);
  std::size_t string_count = 2 + std::size_t{header.argc} + header.env_count;
  if (header.magic != plan_format::kPlanMagic || header.limit_count > plan_format::kMaxPlanLimits ||
      header.argc == 0 || string_count > plan_format::kMaxPlanStrings ||
      limits_end > static_cast<std::size_t>(n)) {
    fail("plan");
  }
  // Split the strings in place; the last must end the message.
  char* at = plan_buffer + limits_end;
  char* end = plan_buffer + n;
  for (std::size_t i = 0; i < string_count; ++i) {
    char* nul = static_cast<char*>(std::memchr(at, '\0', static_cast<std::size_t>(end - at)));
    if (nul == nullptr) fail("plan");
    plan_strings[i] = at;
    at = nul + 1;
  }
  char* working_dir = plan_strings[0];
  char* code_target = plan_strings[1];
  char** argv = plan_strings + 2;
  char** env = argv + header.argc;
  // The strings after argv are the environment; both lists end in null.
  static char* run_argv[plan_format::kMaxPlanStrings + 1];
  static char* run_env[plan_format::kMaxPlanStrings + 1];
  for (std::uint32_t i = 0; i < header.argc; ++i) run_argv[i] = argv[i];
  run_argv[header.argc] = nullptr;
  for (std::uint32_t i = 0; i < header.env_count; ++i) run_env[i] = env[i];
  run_env[header.env_count] = nullptr;

  if (code_target[0] != '\0') {
    errno = EBADMSG;
    if (code_tree < 0 || code_target[0] != '/') fail("plan");
    make_dirs(code_target);
    if (syscall(kSysMoveMount, code_tree, "", AT_FDCWD, code_target, kMoveMountFromEmptyPath) !=
        0) {
      fail("mount code");
    }
  }
  if (code_tree >= 0) close(code_tree);
  for (std::uint32_t i = 0; i < header.limit_count; ++i) {
    plan_format::PlanLimit limit;
    std::memcpy(&limit, plan_buffer + sizeof header + i * sizeof limit, sizeof limit);
    rlimit value{limit.soft, limit.hard};
    if (setrlimit(static_cast<__rlimit_resource_t>(limit.resource), &value) != 0) fail("setrlimit");
  }
  // Prepared at the lowest priority; the runtime runs at the server's.
  if (setpriority(PRIO_PROCESS, 0, header.nice) != 0) fail("setpriority");
  if (working_dir[0] != '\0' && chdir(working_dir) != 0) fail("chdir");
  if (setgroups(0, nullptr) != 0 || setgid(header.gid) != 0) fail("setgid");
  if (setuid(header.uid) != 0) fail("setuid");
  *envp = run_env;
  return run_argv;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    static const char usage[] = "usage: nimbus-init PROGRAM [ARGS...] | --plan\n";
    (void)!write(2, usage, sizeof usage - 1);
    return 2;
  }
  char** run_argv = argv + 1;
  char** run_env = environ;
  if (std::strcmp(argv[1], "--plan") == 0) {
    run_argv = receive_plan(&run_env);
    if (run_argv == nullptr) return 0;
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
    nimbus::env::exec_waiting_out_busy_text(run_argv[0], run_argv, run_env);
    int failure = -errno;
    (void)!write(3, &failure, sizeof failure);
    say("nimbus-init: exec ");
    say(run_argv[0]);
    say(": ");
    say(std::strerror(-failure));
    say("\n");
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

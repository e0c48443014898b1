#include "nimbus/env/process.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>
#include <utility>

#include <fmt/format.h>

#include "nimbus/env/exec.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

namespace nimbus::env {

namespace {

constexpr std::size_t kChildStackBytes = 64 * 1024;
// open_tree(2) and mount_setattr(2) (Linux 5.2, 5.12); glibc 2.36 has no
// wrappers.
constexpr long kSysOpenTree = 428;
constexpr long kSysMountSetattr = 442;
constexpr unsigned kOpenTreeClone = 1;
constexpr unsigned kAtRecursive = 0x8000;
constexpr unsigned kAtEmptyPath = 0x1000;
constexpr std::uint64_t kMountAttrReadOnly = 0x1, kMountAttrNoSuid = 0x2, kMountAttrNoDev = 0x4;

// Everything the child needs, prepared by the parent: between clone and exec
// the child shares the parent's memory and may only make system calls.
struct ChildPlan {
  const char* program = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* working_dir = nullptr;
  int stdout_fd = -1;
  int stderr_fd = -1;
  const int* inherited_fds = nullptr;
  std::size_t inherited_count = 0;
  bool new_process_group = true;
  const ResourceLimit* limits = nullptr;
  std::size_t limit_count = 0;
  const int* cgroup_fds = nullptr;
  std::size_t cgroup_fd_count = 0;
  const char* const* mount_sources = nullptr;
  const char* const* mount_targets = nullptr;
  const MountStep::Kind* mount_kinds = nullptr;
  std::size_t mount_count = 0;
  bool private_mounts = false;
  bool remount_proc = false;
  bool set_uid = false;
  uid_t uid = 0;
  bool set_gid = false;
  gid_t gid = 0;
  // Written by the child when a step fails; read by the parent after the
  // vfork-style suspension ends.
  int failed_errno = 0;
  const char* failed_step = nullptr;
};

[[noreturn]] void child_fail(ChildPlan& plan, const char* step) {
  plan.failed_errno = errno;
  plan.failed_step = step;
  _exit(127);
}

int child_main(void* arg) {
  auto& plan = *static_cast<ChildPlan*>(arg);
  // Handlers the server installed must not run here; ignored signals (SIGPIPE)
  // would stay ignored across exec, so every disposition goes back to default.
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    struct sigaction action {};
    action.sa_handler = SIG_DFL;
    sigaction(sig, &action, nullptr);
  }
  if (plan.new_process_group && setpgid(0, 0) != 0) child_fail(plan, "setpgid");
  for (std::size_t i = 0; i < plan.cgroup_fd_count; ++i) {
    if (write(plan.cgroup_fds[i], "0", 1) != 1) child_fail(plan, "join cgroup");
  }
  for (std::size_t i = 0; i < plan.limit_count; ++i) {
    struct rlimit limit {};
    limit.rlim_cur = plan.limits[i].soft;
    limit.rlim_max = plan.limits[i].hard;
    if (setrlimit(plan.limits[i].resource, &limit) != 0) child_fail(plan, "setrlimit");
  }
  if (plan.private_mounts && mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    child_fail(plan, "make mounts private");
  }
  constexpr int kMaxHeld = 8;
  int held[kMaxHeld];
  int held_count = 0;
  int bound_count = 0;
  for (std::size_t i = 0; i < plan.mount_count; ++i) {
    const char* source = plan.mount_sources[i];
    const char* target = plan.mount_targets[i];
    switch (plan.mount_kinds[i]) {
      case MountStep::Kind::kReadOnlyTree: {
        struct {
          std::uint64_t attr_set, attr_clr, propagation, userns_fd;
        } attributes{kMountAttrReadOnly, 0, 0, 0};
        if (syscall(kSysMountSetattr, AT_FDCWD, target, kAtRecursive, &attributes,
                    sizeof attributes) != 0) {
          child_fail(plan, "read-only tree");
        }
        break;
      }
      case MountStep::Kind::kBind:
      case MountStep::Kind::kBindReadOnly:
        if (mount(source, target, nullptr, MS_BIND | MS_REC, nullptr) != 0) {
          child_fail(plan, "bind mount");
        }
        // A bind keeps the flags of the mount it came from (read-only after
        // kReadOnlyTree): set what this step asks for explicitly.
        if (mount(nullptr, target, nullptr,
                  MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV |
                      (plan.mount_kinds[i] == MountStep::Kind::kBindReadOnly ? MS_RDONLY : 0),
                  nullptr) != 0) {
          child_fail(plan, "remount");
        }
        break;
      case MountStep::Kind::kEmptyTmpfs:
        if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755") != 0) {
          child_fail(plan, "tmpfs");
        }
        break;
      case MountStep::Kind::kMakeDir:
        if (mkdir(target, 0755) != 0 && errno != EEXIST) child_fail(plan, "mkdir");
        break;
      case MountStep::Kind::kHold:
        // Opened here, in the new namespace: a bind's source must be a mount
        // of the caller's own namespace.
        if (held_count == kMaxHeld) {
          errno = E2BIG;
          child_fail(plan, "hold");
        }
        held[held_count] = open(target, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (held[held_count++] < 0) child_fail(plan, "hold");
        break;
      case MountStep::Kind::kBindHeldReadOnly: {
        if (bound_count == held_count) {
          errno = EINVAL;
          child_fail(plan, "bind held");
        }
        int fd = held[bound_count++];
        char path[32] = "/proc/self/fd/";
        char digits[12];
        int n = 0;
        for (int value = fd; n == 0 || value > 0; value /= 10) {
          digits[n++] = static_cast<char>('0' + value % 10);
        }
        std::size_t at = 14;
        while (n > 0) path[at++] = digits[--n];
        path[at] = '\0';
        if (mount(path, target, nullptr, MS_BIND | MS_REC, nullptr) != 0 ||
            mount(nullptr, target, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
                  nullptr) != 0) {
          child_fail(plan, "bind held");
        }
        break;
      }
    }
  }
  if (plan.remount_proc &&
      mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    child_fail(plan, "mount /proc");
  }
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) child_fail(plan, "open /dev/null");
  int out = plan.stdout_fd >= 0 ? plan.stdout_fd : null_fd;
  int err = plan.stderr_fd >= 0 ? plan.stderr_fd : null_fd;
  if (dup2(null_fd, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) child_fail(plan, "dup2");
  // Each inherited fd first moves above every target number, so placing one
  // cannot close another that is still to be placed.
  constexpr std::size_t kMaxInherited = 8;
  if (plan.inherited_count > kMaxInherited) {
    errno = E2BIG;
    child_fail(plan, "inherited fds");
  }
  int lifted[kMaxInherited];
  int first_free = 3 + static_cast<int>(plan.inherited_count);
  for (std::size_t i = 0; i < plan.inherited_count; ++i) {
    lifted[i] = fcntl(plan.inherited_fds[i], F_DUPFD_CLOEXEC, first_free);
    if (lifted[i] < 0) child_fail(plan, "inherited fds");
  }
  for (std::size_t i = 0; i < plan.inherited_count; ++i) {
    // dup2 clears close-on-exec on the copy: it is kept across exec.
    if (dup2(lifted[i], 3 + static_cast<int>(i)) < 0) child_fail(plan, "dup2");
  }
  if (plan.working_dir != nullptr && chdir(plan.working_dir) != 0) child_fail(plan, "chdir");
  if (plan.set_gid) {
    if (setgroups(0, nullptr) != 0 || setgid(plan.gid) != 0) child_fail(plan, "setgid");
  }
  if (plan.set_uid && setuid(plan.uid) != 0) child_fail(plan, "setuid");
  // Nothing of the server's leaks into the function: no sockets, no store files.
  auto first_closed = static_cast<unsigned>(3 + plan.inherited_count);
  if (syscall(SYS_close_range, first_closed, ~0U, 0U) != 0) child_fail(plan, "close_range");
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  exec_waiting_out_busy_text(plan.program, plan.argv, plan.envp);
  child_fail(plan, "execve");
}

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (const auto& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

ExitStatus status_from(const siginfo_t& info) {
  ExitStatus status;
  if (info.si_code == CLD_EXITED) {
    status.kind = ExitStatus::Kind::kExited;
    status.code = info.si_status;
  } else {
    status.kind = ExitStatus::Kind::kSignaled;
    status.code = info.si_status;
  }
  return status;
}

}  // namespace

std::string ExitStatus::describe() const {
  if (kind == Kind::kExited) return fmt::format("exit status {}", code);
  // Go's os.ProcessState wording, which is what Lambda prints.
  switch (code) {
    case SIGKILL:
      return "signal: killed";
    case SIGTERM:
      return "signal: terminated";
    case SIGSEGV:
      return "signal: segmentation fault";
    case SIGABRT:
      return "signal: aborted";
    case SIGBUS:
      return "signal: bus error";
    case SIGILL:
      return "signal: illegal instruction";
    case SIGFPE:
      return "signal: floating point exception";
    case SIGINT:
      return "signal: interrupt";
    default:
      return fmt::format("signal: {}", code);
  }
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::exchange(other.pidfd_, -1)),
      status_(std::exchange(other.status_, std::nullopt)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    reset();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::exchange(other.pidfd_, -1);
    status_ = std::exchange(other.status_, std::nullopt);
  }
  return *this;
}

ChildProcess::~ChildProcess() { reset(); }

void ChildProcess::reset() {
  if (pid_ > 0 && !status_) {
    signal_group(SIGKILL);
    wait();
  }
  if (pidfd_ >= 0) close(pidfd_);
  pid_ = -1;
  pidfd_ = -1;
  status_.reset();
}

void ChildProcess::signal_group(int signal) const {
  if (pid_ <= 0 || status_) return;
  // The group may outlive its leader's exit; signalling it is still right.
  if (kill(-pid_, signal) != 0) kill(pid_, signal);
}

std::optional<ExitStatus> ChildProcess::try_wait() {
  if (status_) return status_;
  if (pidfd_ < 0) return std::nullopt;
  siginfo_t info{};
  if (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_), &info, WEXITED | WNOHANG) !=
      0) {
    return std::nullopt;
  }
  if (info.si_pid == 0) return std::nullopt;
  status_ = status_from(info);
  return status_;
}

ExitStatus ChildProcess::wait() {
  if (status_) return *status_;
  siginfo_t info{};
  while (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_), &info, WEXITED) != 0) {
    if (errno != EINTR) {
      status_ = ExitStatus{ExitStatus::Kind::kSignaled, SIGKILL};
      return *status_;
    }
  }
  status_ = status_from(info);
  return *status_;
}

Result<ChildProcess> spawn_process(const SpawnOptions& options) {
  if (options.argv.empty() || options.argv.front().empty()) {
    return AwsError::internal("spawn_process: no program");
  }
  auto argv = c_strings(options.argv);
  auto envp = c_strings(options.env);
  std::string working_dir = options.working_dir.string();

  ChildPlan plan;
  plan.program = options.argv.front().c_str();
  plan.argv = argv.data();
  plan.envp = envp.data();
  plan.working_dir = working_dir.empty() ? nullptr : working_dir.c_str();
  plan.stdout_fd = options.stdout_fd;
  plan.stderr_fd = options.stderr_fd;
  plan.inherited_fds = options.inherited_fds.data();
  plan.inherited_count = options.inherited_fds.size();
  plan.new_process_group = options.new_process_group;
  plan.limits = options.limits.data();
  plan.limit_count = options.limits.size();
  plan.cgroup_fds = options.cgroup_procs_fds.data();
  plan.cgroup_fd_count = options.cgroup_procs_fds.size();
  if (options.uid) {
    plan.set_uid = true;
    plan.uid = *options.uid;
  }
  if (options.gid) {
    plan.set_gid = true;
    plan.gid = *options.gid;
  }

  std::vector<const char*> mount_sources, mount_targets;
  std::vector<MountStep::Kind> mount_kinds;
  for (const auto& step : options.mounts) {
    mount_sources.push_back(step.source.c_str());
    mount_targets.push_back(step.target.c_str());
    mount_kinds.push_back(step.kind);
  }
  plan.mount_sources = mount_sources.data();
  plan.mount_targets = mount_targets.data();
  plan.mount_kinds = mount_kinds.data();
  plan.mount_count = options.mounts.size();
  plan.private_mounts = (options.namespace_flags & CLONE_NEWNS) != 0;
  plan.remount_proc = plan.private_mounts && (options.namespace_flags & CLONE_NEWPID) != 0;

  void* stack = mmap(nullptr, kChildStackBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    return AwsError::internal(fmt::format("spawn: mmap: {}", std::strerror(errno)));
  }
  // No signal handler may run in the child while it shares our memory.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  int pidfd = -1;
  int flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD | options.namespace_flags;
  pid_t pid = clone(child_main, static_cast<char*>(stack) + kChildStackBytes, flags, &plan, &pidfd,
                    nullptr, nullptr);
  int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  munmap(stack, kChildStackBytes);

  if (pid < 0) {
    return AwsError::internal(
        fmt::format("spawn {}: clone: {}", options.argv.front(), std::strerror(clone_errno)));
  }
  ChildProcess child(pid, pidfd);
  if (plan.failed_step != nullptr) {
    child.wait();
    return AwsError::internal(fmt::format("spawn {}: {}: {}", options.argv.front(),
                                          plan.failed_step, std::strerror(plan.failed_errno)));
  }
  return child;
}

Result<int> detached_read_only_tree(const std::filesystem::path& path) {
  int tree = static_cast<int>(
      syscall(kSysOpenTree, AT_FDCWD, path.c_str(), kOpenTreeClone | O_CLOEXEC | kAtRecursive));
  if (tree < 0) {
    return AwsError::internal(fmt::format("open_tree {}: {}", path.string(), std::strerror(errno)));
  }
  struct {
    std::uint64_t attr_set, attr_clr, propagation, userns_fd;
  } attributes{kMountAttrReadOnly | kMountAttrNoSuid | kMountAttrNoDev, 0, 0, 0};
  if (syscall(kSysMountSetattr, tree, "", kAtEmptyPath | kAtRecursive, &attributes,
              sizeof attributes) != 0) {
    std::string error = std::strerror(errno);
    close(tree);
    return AwsError::internal(fmt::format("read-only {}: {}", path.string(), error));
  }
  return tree;
}

}  // namespace nimbus::env

#pragma once

// Starting and stopping child processes. Children are started with clone()
// sharing the parent's memory until they exec (CLONE_VM | CLONE_VFORK), the
// way posix_spawn does it, never with a plain fork(): copying the page tables
// of a server with a large heap costs tens of milliseconds per start. Every
// set-up step a sandbox needs (process group, working directory, standard
// streams, rlimits, cgroups, namespaces, user) runs in the child between
// clone and exec, using only system calls, and a failing step is reported to
// the parent as an error rather than as a child that exits.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "nimbus/core/result.h"

namespace nimbus::env {

struct ResourceLimit {
  int resource;  // RLIMIT_*
  std::uint64_t soft;
  std::uint64_t hard;
};

// One step of the child's view of the filesystem, made in its own mount
// namespace (needs CLONE_NEWNS), in order.
struct MountStep {
  enum class Kind {
    kReadOnlyTree,      // target and every mount below it become read-only
    kBind,              // source bound (recursively) at target, writable
    kBindReadOnly,      // source bound at target, read-only
    kEmptyTmpfs,        // an empty, root-owned tmpfs over target: hides what is there
    kMakeDir,           // mkdir target (inside a tmpfs made by an earlier step)
    kHold,              // keep a handle on target, so a later step can bind it
                        // back after another step has hidden it (at most 8)
    kBindHeldReadOnly,  // the next held directory, in kHold order, bound
                        // at target, read-only
  };
  Kind kind;
  std::string target;
  std::string source = {};  // for kBind and kBindReadOnly
};

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is the program: an absolute path
  std::vector<std::string> env;   // "NAME=value"; nothing is inherited
  std::filesystem::path working_dir;
  int stdout_fd = -1;  // -1: /dev/null
  int stderr_fd = -1;  // -1: /dev/null; may equal stdout_fd
  // Passed as the child's fds 3, 4, ... in this order (a status pipe, say).
  std::vector<int> inherited_fds;
  // The child leads a new process group, so a signal to -pid reaches
  // everything it starts.
  bool new_process_group = true;
  std::vector<ResourceLimit> limits;
  // Open "cgroup.procs" files the child writes itself into before exec.
  std::vector<int> cgroup_procs_fds;
  // Extra clone(2) flags, e.g. CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC.
  int namespace_flags = 0;
  // With CLONE_NEWNS: mount propagation is made private first, then these
  // are made in order; with CLONE_NEWPID as well, /proc is remounted so the
  // child sees only its own processes.
  std::vector<MountStep> mounts;
  // Drop to this user and group before exec (needs privilege).
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
};

struct ExitStatus {
  enum class Kind { kExited, kSignaled };
  Kind kind = Kind::kExited;
  int code = 0;  // exit code or signal number

  // Lambda's wording: "exit status 1", "signal: killed".
  std::string describe() const;
};

// A started child. The pidfd is how it is watched: it becomes readable when
// the child exits, so it can be awaited on an event loop.
class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(pid_t pid, int pidfd) : pid_(pid), pidfd_(pidfd) {}
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Kills and reaps a child still running: a child never outlives its handle.
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_; }
  bool running() const { return pid_ > 0 && !status_; }

  // Signals the child's whole process group (or the child alone without one).
  void signal_group(int signal) const;
  // Non-blocking: the exit status once the child has exited (and reaps it).
  std::optional<ExitStatus> try_wait();
  // Blocking wait; for tests and shutdown paths off the I/O threads.
  ExitStatus wait();

 private:
  void reset();
  pid_t pid_ = -1;
  int pidfd_ = -1;
  std::optional<ExitStatus> status_;
};

Result<ChildProcess> spawn_process(const SpawnOptions& options);

// A detached, read-only (nosuid, nodev) copy of the mounts at `path`, as a
// descriptor (open_tree(2); needs privilege). A process in another mount
// namespace can move it into place with move_mount(2), which a bind mount
// cannot do.
Result<int> detached_read_only_tree(const std::filesystem::path& path);

}  // namespace nimbus::env

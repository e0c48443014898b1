#pragma once

// Sandboxes for function instances (namespaces isolation): the view of the
// filesystem each instance gets, and sandboxes prepared ahead of need.
//
// Creating the namespaces (the IPC namespace alone costs ~3 ms here), making
// the mounts and starting nimbus-init is most of what Nimbus adds to a cold
// start. A SandboxPool does that work in advance on a thread of its own: a
// prepared sandbox is nimbus-init, already pid 1 of its namespaces with the
// read-only tree, a private /tmp and the data directory hidden, waiting for
// a plan. launch() sends it one (internal/sandbox_plan.h): the function's
// code tree, limits, user, argv and environment. Only the runtime's own exec
// is left on the cold start's path.

#include <sys/types.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "nimbus/core/result.h"
#include "nimbus/engine/internal/cgroups.h"
#include "nimbus/env/process.h"

namespace nimbus::engine::internal {

// The mount steps of an instance's view: everything read-only, `private_tmp`
// at /tmp, the hidden paths (the data directory) covered by empty tmpfs,
// and `visible` (code, runtime clients, nimbus-init) bound back read-only
// at their own paths where a cover would hide them.
std::vector<env::MountStep> sandbox_mounts(std::vector<std::filesystem::path> visible,
                                           const std::string& private_tmp,
                                           const std::vector<std::filesystem::path>& hidden_paths);

// Makes `scratch`/tmp, an instance's private /tmp: owned by `uid` with mode
// 0700 when the instance has a user of its own. Returns what went wrong, or "".
std::string make_private_tmp(const std::filesystem::path& scratch, std::optional<uid_t> uid);

// Without a mount namespace an instance's user walks the host's own
// directories to its code: the first directory on the way to `path`
// (itself included) that user (`uid`, group `uid`, no other groups) may
// not pass through, said as "<dir> (mode 0700, owner 0)"; "" if none.
std::string unreachable_by(const std::filesystem::path& path, uid_t uid);

// What every prepared sandbox shares.
struct SandboxLayout {
  std::filesystem::path init_path;     // nimbus-init
  std::filesystem::path runtimes_dir;  // visible to every instance
  std::vector<std::filesystem::path> hidden_paths;
  std::filesystem::path instances_dir;  // scratch directories are made here
};

// What a prepared sandbox is told to run.
struct SandboxPlan {
  uid_t uid = 0;
  gid_t gid = 0;
  int nice = 0;  // prepared sandboxes start at the lowest priority
  std::vector<env::ResourceLimit> limits;
  std::filesystem::path working_dir;
  std::filesystem::path code_dir;  // mounted read-only at its own path
  std::vector<std::string> argv;   // argv[0]: an absolute path
  std::vector<std::string> env;
};

// nimbus-init waiting for its plan, and the handles an instance adopts.
// Whatever is still here when it is destroyed is closed, killed or removed.
struct PreparedSandbox {
  PreparedSandbox() = default;
  PreparedSandbox(const PreparedSandbox&) = delete;
  PreparedSandbox& operator=(const PreparedSandbox&) = delete;
  ~PreparedSandbox();

  std::filesystem::path scratch;  // its tmp/ is the sandbox's /tmp
  std::optional<uid_t> uid;       // the user the runtime will run as
  // nimbus-init is already in it (limits for kPreparedMemoryMb until the
  // instance sets its own): moving a process between groups costs time a
  // cold start should not wait for. Null without cgroups.
  std::unique_ptr<InstanceCgroup> cgroup;
  env::ChildProcess init;
  int plan_socket = -1;  // ours; nimbus-init's fd 4
  int status_read = -1;  // nimbus-init's fd 3: the runtime's exit
  int log_read = -1;     // nimbus-init's (and so the runtime's) stdout and stderr
};

inline constexpr std::uint32_t kPreparedMemoryMb = 128;  // Lambda's default memory size

// Sends the plan. On success the runtime is starting, in the sandbox's
// cgroup (the caller has set its limits).
Result<void> launch(PreparedSandbox& sandbox, const SandboxPlan& plan);

// Keeps `size` sandboxes prepared, on a thread of its own at the lowest CPU
// priority: preparing one never slows a cold start under way.
class SandboxPool {
 public:
  using AcquireUid = std::function<std::optional<uid_t>()>;
  using ReleaseUid = std::function<void(uid_t)>;

  SandboxPool(SandboxLayout layout, std::size_t size, CgroupPool& cgroups, AcquireUid acquire_uid,
              ReleaseUid release_uid);
  ~SandboxPool();
  SandboxPool(const SandboxPool&) = delete;
  SandboxPool& operator=(const SandboxPool&) = delete;

  // A prepared sandbox, or null when none is ready (the caller starts one
  // itself). The caller owns the sandbox's uid from here on.
  std::unique_ptr<PreparedSandbox> take();
  // Prepares replacements for what was taken. Called once the cold start
  // that took a sandbox is over, so the two do not compete for the CPU.
  void refill();
  std::size_t ready() const;
  // Stops the thread and discards what is prepared. Idempotent.
  void stop();

 private:
  void run();
  Result<std::unique_ptr<PreparedSandbox>> prepare();
  void discard(std::unique_ptr<PreparedSandbox> sandbox);

  SandboxLayout layout_;
  std::size_t size_;
  CgroupPool& cgroups_;
  AcquireUid acquire_uid_;
  ReleaseUid release_uid_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::unique_ptr<PreparedSandbox>> ready_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace nimbus::engine::internal

#pragma once

// Per-instance resource groups: memory limit (the function's memory size),
// a pids limit (a fork bomb stays inside its instance) and CPU shares in
// proportion to memory. Groups are created once and reused, because creating
// a cgroup costs milliseconds at the tail and a cold start must not.
//
// Only the cgroup v1 hierarchy is driven today; on a v2-only machine the
// engine runs without cgroups and says so (EngineStats::cgroups == "none").

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "nimbus/core/result.h"

namespace nimbus::engine::internal {

class InstanceCgroup {
 public:
  InstanceCgroup(std::filesystem::path memory, std::filesystem::path pids,
                 std::filesystem::path cpu, std::vector<int> procs_fds);
  ~InstanceCgroup();
  InstanceCgroup(const InstanceCgroup&) = delete;
  InstanceCgroup& operator=(const InstanceCgroup&) = delete;

  // Open cgroup.procs files for spawn_process to join.
  const std::vector<int>& procs_fds() const { return procs_fds_; }
  std::uint64_t max_memory_used_bytes() const;
  std::uint64_t oom_kills() const;  // kernel OOM kills inside the group so far
  // Sets the limits for `memory_mb`; writes nothing when they are set already.
  Result<void> configure(std::uint32_t memory_mb);
  // Makes an emptied group ready for its next tenant: the last one's charged
  // memory released and its peak forgotten. Done at release, so a cold start
  // does not wait for it.
  void reset();
  // Kills whatever is left inside (a daemonised grandchild) so the group can be reused.
  void kill_all() const;
  bool empty() const;

  const std::filesystem::path& memory_dir() const { return memory_; }

 private:
  std::filesystem::path memory_;
  std::filesystem::path pids_;
  std::filesystem::path cpu_;
  std::vector<int> procs_fds_;
  int max_usage_fd_ = -1;        // kept open: read after every invocation
  std::uint32_t memory_mb_ = 0;  // what the limits are set for; 0: not yet
};

class CgroupPool {
 public:
  // Finds a writable v1 hierarchy below this process's own groups; returns a
  // pool in "none" mode (acquire() gives null) when there is none.
  static std::unique_ptr<CgroupPool> detect(const std::string& name);
  ~CgroupPool();  // removes the groups it made

  std::string mode() const { return root_memory_.empty() ? "none" : "v1"; }

  // A group configured for `memory_mb`, or null without cgroups.
  Result<std::unique_ptr<InstanceCgroup>> acquire(std::uint32_t memory_mb);
  void release(std::unique_ptr<InstanceCgroup> group);

 private:
  CgroupPool() = default;
  std::filesystem::path root_memory_;
  std::filesystem::path root_pids_;
  std::filesystem::path root_cpu_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<InstanceCgroup>> free_;
  std::uint64_t next_slot_ = 0;
};

}  // namespace nimbus::engine::internal

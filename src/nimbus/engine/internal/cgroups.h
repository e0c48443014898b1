#pragma once

// Per-instance resource groups: memory limit (the function's memory size),
// a pids limit (a fork bomb stays inside its instance) and CPU shares in
// proportion to memory. Groups are created once and reused, because creating
// a cgroup costs milliseconds at the tail and a cold start must not.
//
// Both hierarchies are driven: v1 (a directory per controller) where its
// memory controller is mounted, otherwise v2 (one unified directory per
// group, the default on Debian 12). With neither writable the engine runs
// without cgroups and says so (EngineStats::cgroups == "none").

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "nimbus/core/result.h"

namespace nimbus::engine::internal {

class InstanceCgroup {
 public:
  // v1: a directory in each controller's hierarchy (pids and cpu may be empty).
  InstanceCgroup(std::filesystem::path memory, std::filesystem::path pids,
                 std::filesystem::path cpu, std::vector<int> procs_fds);
  // v2: the group's one directory.
  InstanceCgroup(std::filesystem::path unified, int procs_fd);
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
  // does not wait for it. False when the group could not be made ready.
  bool reset();
  // Kills whatever is left inside (a daemonised grandchild) so the group can be reused.
  void kill_all() const;
  bool empty() const;

  const std::filesystem::path& memory_dir() const { return memory_; }

 private:
  Result<void> configure_unified(std::uint32_t memory_mb, std::uint64_t bytes);

  std::filesystem::path memory_;
  std::filesystem::path pids_;
  std::filesystem::path cpu_;
  bool unified_ = false;  // v2: memory_ is the group's only directory
  std::vector<int> procs_fds_;
  int max_usage_fd_ = -1;        // kept open: read after every invocation
  std::uint32_t memory_mb_ = 0;  // what the limits are set for; 0: not yet
};

class CgroupPool {
 public:
  // `mode` "auto": a writable v1 hierarchy below this process's own groups,
  // else a v2 one with the memory controller; "v1" or "v2": that one only
  // (v2 even without the memory controller); "none": none. Returns a pool
  // in "none" mode (acquire() gives null) when there is no such hierarchy.
  static std::unique_ptr<CgroupPool> detect(const std::string& name,
                                            std::string_view mode = "auto");
  // The v2 part of detect(). `require_memory` false accepts a hierarchy
  // without the memory controller, whose groups then have no limits: for
  // tests on machines whose memory controller is bound to v1.
  static std::unique_ptr<CgroupPool> detect_v2(const std::string& name, bool require_memory);
  ~CgroupPool();  // removes the groups it made

  std::string mode() const { return root_memory_.empty() ? "none" : unified_ ? "v2" : "v1"; }
  // Whether its groups limit memory (v2 pools may be made without that controller).
  bool limits_memory() const { return limits_memory_; }
  // The directory this pool makes its groups in (v1: the memory hierarchy's).
  const std::filesystem::path& root() const { return root_memory_; }

  // A group configured for `memory_mb`, or null without cgroups.
  Result<std::unique_ptr<InstanceCgroup>> acquire(std::uint32_t memory_mb);
  void release(std::unique_ptr<InstanceCgroup> group);

 private:
  CgroupPool() = default;
  Result<std::unique_ptr<InstanceCgroup>> make_group();
  std::filesystem::path root_memory_;
  std::filesystem::path root_pids_;
  std::filesystem::path root_cpu_;
  bool unified_ = false;
  bool limits_memory_ = false;
  std::mutex mutex_;
  std::vector<std::unique_ptr<InstanceCgroup>> free_;
  std::uint64_t next_slot_ = 0;
};

}  // namespace nimbus::engine::internal

#include "nimbus/engine/internal/cgroups.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nimbus/core/strings.h"

namespace nimbus::engine::internal {

namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kPidsMax = 1024;  // Lambda's limit on processes and threads

bool write_file(const fs::path& path, const std::string& value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size());
  ::close(fd);
  return ok;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// "/sys/fs/cgroup/<controller>" + this process's path in it, if that is a
// mounted v1 hierarchy we can make groups in.
fs::path own_v1_group(const std::string& controller) {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    auto parts = split(line, ':');
    if (parts.size() < 3) continue;
    for (auto name : split(parts[1], ',')) {
      if (name == controller) {
        std::string own(line.substr(parts[0].size() + parts[1].size() + 2));
        fs::path dir = fs::path("/sys/fs/cgroup") / controller / own.substr(own.empty() ? 0 : 1);
        std::error_code ec;
        if (fs::exists(dir / "cgroup.procs", ec)) return dir;
      }
    }
  }
  return {};
}

// Where the v2 (unified) hierarchy is mounted and this process's group in
// it ("0::/path" in /proc/self/cgroup), as a directory; empty without one.
fs::path own_v2_group() {
  fs::path mount;
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mountinfo, line)) {
    // "id parent major:minor root mount-point options ... - fstype source options"
    const auto dash = line.find(" - ");
    if (dash == std::string::npos || !line.substr(dash + 3).starts_with("cgroup2 ")) continue;
    auto fields = split(std::string_view(line).substr(0, dash), ' ');
    if (fields.size() >= 5) mount = std::string(fields[4]);
    break;
  }
  if (mount.empty()) return {};
  std::ifstream groups("/proc/self/cgroup");
  while (std::getline(groups, line)) {
    if (!line.starts_with("0::")) continue;
    std::string own = line.substr(3);
    fs::path dir = mount / std::string_view(own).substr(own.starts_with('/') ? 1 : 0);
    std::error_code ec;
    if (fs::exists(dir / "cgroup.procs", ec)) return dir.lexically_normal();
  }
  return {};
}

// The controllers a v2 list file names ("cpu io memory pids").
bool lists(const fs::path& file, std::string_view controller) {
  for (auto name : split(trim(read_file(file)), ' ')) {
    if (name == controller) return true;
  }
  return false;
}

// Makes `controllers` (those the group has) available to its children;
// true when `required` is among them afterwards.
bool enable_for_children(const fs::path& group, std::string_view required) {
  for (std::string_view controller : {"memory", "pids", "cpu"}) {
    if (!lists(group / "cgroup.controllers", controller)) continue;
    if (lists(group / "cgroup.subtree_control", controller)) continue;
    write_file(group / "cgroup.subtree_control", fmt::format("+{}", controller));
  }
  return required.empty() || lists(group / "cgroup.subtree_control", required);
}

// SIGKILL to every process in a group (listed in its cgroup.procs).
void kill_members(const fs::path& group) {
  std::string procs = read_file(group / "cgroup.procs");
  for (auto line : split(procs, '\n')) {
    if (auto pid = parse_uint(trim(line))) ::kill(static_cast<pid_t>(*pid), SIGKILL);
  }
}

// Groups left by a Nimbus that died without cleaning up ("nimbus-<pid>"
// whose process is gone): empty them and remove them.
void remove_stale_groups(const fs::path& parent) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    std::string name = entry.path().filename().string();
    if (!name.starts_with("nimbus-")) continue;
    auto pid = parse_uint(std::string_view(name).substr(7));
    if (!pid || fs::exists(fmt::format("/proc/{}", *pid), ec)) continue;
    for (const auto& child : fs::directory_iterator(entry.path(), ec)) {
      if (!child.is_directory(ec)) continue;
      kill_members(child.path());
      fs::remove(child.path(), ec);
    }
    fs::remove(entry.path(), ec);
  }
}

}  // namespace

InstanceCgroup::InstanceCgroup(fs::path memory, fs::path pids, fs::path cpu,
                               std::vector<int> procs_fds)
    : memory_(std::move(memory)),
      pids_(std::move(pids)),
      cpu_(std::move(cpu)),
      procs_fds_(std::move(procs_fds)),
      max_usage_fd_(::open((memory_ / "memory.max_usage_in_bytes").c_str(), O_RDONLY | O_CLOEXEC)) {
}

InstanceCgroup::InstanceCgroup(fs::path unified, int procs_fd)
    : memory_(std::move(unified)),
      unified_(true),
      procs_fds_{procs_fd},
      max_usage_fd_(::open((memory_ / "memory.peak").c_str(), O_RDONLY | O_CLOEXEC)) {}

InstanceCgroup::~InstanceCgroup() {
  for (int fd : procs_fds_) ::close(fd);
  if (max_usage_fd_ >= 0) ::close(max_usage_fd_);
  // A group can only be removed once the kernel has finished killing what
  // was in it; that takes a moment after SIGKILL.
  for (int attempt = 0; attempt < 100; ++attempt) {
    kill_all();
    if (empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  std::error_code ec;
  for (const auto& dir : {memory_, pids_, cpu_}) {
    if (!dir.empty()) fs::remove(dir, ec);
  }
}

bool InstanceCgroup::reset() {
  if (!unified_) {
    // Lowering the limit below what an earlier tenant left charged fails;
    // force_empty releases it first.
    write_file(memory_ / "memory.force_empty", "0");
    write_file(memory_ / "memory.max_usage_in_bytes", "0");
    return true;
  }
  // v2's memory.peak cannot be reset before Linux 6.12, and what the last
  // tenant left charged stays with the group: an emptied group is made
  // again (its limits then set afresh by configure).
  for (int fd : procs_fds_) ::close(fd);
  procs_fds_.clear();
  if (max_usage_fd_ >= 0) ::close(max_usage_fd_);
  max_usage_fd_ = -1;
  memory_mb_ = 0;
  std::error_code ec;
  fs::remove(memory_, ec);
  if (ec || !fs::create_directory(memory_, ec) || ec) return false;
  const int procs_fd = ::open((memory_ / "cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
  if (procs_fd < 0) return false;
  procs_fds_.push_back(procs_fd);
  max_usage_fd_ = ::open((memory_ / "memory.peak").c_str(), O_RDONLY | O_CLOEXEC);
  return true;
}

Result<void> InstanceCgroup::configure(std::uint32_t memory_mb) {
  if (memory_mb == memory_mb_) return ok();
  std::uint64_t bytes = std::uint64_t{memory_mb} * 1024 * 1024;
  if (unified_) return configure_unified(memory_mb, bytes);
  // memsw (memory plus swap) may never be below the plain limit: when
  // growing it goes first, otherwise (a new group starts unlimited) the
  // plain limit does. Without swap accounting memsw is absent; the plain
  // limit still holds.
  const std::string limit = std::to_string(bytes);
  const bool growing = memory_mb_ != 0 && memory_mb > memory_mb_;
  if (growing) write_file(memory_ / "memory.memsw.limit_in_bytes", limit);
  if (!write_file(memory_ / "memory.limit_in_bytes", limit)) {
    memory_mb_ = 0;
    return AwsError::internal(fmt::format("cgroup: cannot set {}", memory_.string()));
  }
  if (!growing) write_file(memory_ / "memory.memsw.limit_in_bytes", limit);
  if (memory_mb_ == 0 && !pids_.empty()) write_file(pids_ / "pids.max", std::to_string(kPidsMax));
  memory_mb_ = memory_mb;
  // 1,769 MB is one vCPU on Lambda; shares keep that proportion between instances.
  if (!cpu_.empty()) {
    write_file(cpu_ / "cpu.shares",
               std::to_string(std::max<std::uint64_t>(2, memory_mb * 1024 / 1769)));
  }
  return ok();
}

Result<void> InstanceCgroup::configure_unified(std::uint32_t memory_mb, std::uint64_t bytes) {
  std::error_code ec;
  // A pool made without the memory controller (tests; detect() never
  // makes one) has no limits to set.
  if (fs::exists(memory_ / "memory.max", ec)) {
    if (!write_file(memory_ / "memory.max", std::to_string(bytes))) {
      memory_mb_ = 0;
      return AwsError::internal(fmt::format("cgroup: cannot set {}", memory_.string()));
    }
    // Lambda has no swap; absent without swap accounting.
    write_file(memory_ / "memory.swap.max", "0");
    // Out of memory ends the whole instance, as on Lambda, not one process of it.
    write_file(memory_ / "memory.oom.group", "1");
  }
  if (memory_mb_ == 0) write_file(memory_ / "pids.max", std::to_string(kPidsMax));
  memory_mb_ = memory_mb;
  // As cpu.shares for v1: one vCPU's share (weight 100, the default) at 1,769 MB.
  write_file(memory_ / "cpu.weight",
             std::to_string(std::clamp<std::uint64_t>(memory_mb * 100 / 1769, 1, 10'000)));
  return ok();
}

std::uint64_t InstanceCgroup::max_memory_used_bytes() const {
  char buffer[32];
  ssize_t n = max_usage_fd_ < 0 ? -1 : ::pread(max_usage_fd_, buffer, sizeof buffer, 0);
  if (n <= 0) return 0;
  return parse_uint(trim(std::string_view(buffer, static_cast<std::size_t>(n)))).value_or(0);
}

std::uint64_t InstanceCgroup::oom_kills() const {
  // v1 counts them in memory.oom_control, v2 in memory.events: the same line.
  std::string control = read_file(memory_ / (unified_ ? "memory.events" : "memory.oom_control"));
  for (auto line : split(control, '\n')) {
    if (starts_with_icase(line, "oom_kill ")) return parse_uint(trim(line.substr(9))).value_or(0);
  }
  return 0;
}

void InstanceCgroup::kill_all() const {
  // v2's cgroup.kill (Linux 5.14) also catches what forks while it runs.
  if (unified_ && write_file(memory_ / "cgroup.kill", "1")) return;
  kill_members(memory_);
}

bool InstanceCgroup::empty() const { return trim(read_file(memory_ / "cgroup.procs")).empty(); }

std::unique_ptr<CgroupPool> CgroupPool::detect(const std::string& name, std::string_view mode) {
  std::unique_ptr<CgroupPool> pool(new CgroupPool());
  if (mode == "none") return pool;
  if (mode == "v2") return detect_v2(name, false);
  const bool fall_back = mode != "v1";
  fs::path memory = own_v1_group("memory");
  if (memory.empty()) return fall_back ? detect_v2(name, true) : std::move(pool);
  std::error_code ec;
  remove_stale_groups(memory);
  fs::path root = memory / name;
  fs::create_directory(root, ec);
  if (ec || !fs::exists(root / "memory.limit_in_bytes", ec)) {
    return fall_back ? detect_v2(name, true) : std::move(pool);
  }
  pool->root_memory_ = root;
  pool->limits_memory_ = true;
  if (fs::path pids = own_v1_group("pids"); !pids.empty()) {
    remove_stale_groups(pids);
    fs::create_directory(pids / name, ec);
    if (!ec) pool->root_pids_ = pids / name;
  }
  if (fs::path cpu = own_v1_group("cpu"); !cpu.empty()) {
    remove_stale_groups(cpu);
    fs::create_directory(cpu / name, ec);
    if (!ec) pool->root_cpu_ = cpu / name;
  }
  return pool;
}

std::unique_ptr<CgroupPool> CgroupPool::detect_v2(const std::string& name, bool require_memory) {
  std::unique_ptr<CgroupPool> pool(new CgroupPool());
  const fs::path own = own_v2_group();
  if (own.empty()) return pool;
  const std::string_view required = require_memory ? "memory" : "";
  // A v2 group with processes cannot pass controllers to children (the
  // root is exempt), and this process is in its own group: the pool goes
  // in the root when that is where this process is, else beside its group.
  std::error_code ec;
  const bool at_root = !fs::exists(own / "cgroup.type", ec);  // the root has none
  const fs::path base = at_root ? own : own.parent_path();
  if (!enable_for_children(base, required)) return pool;
  remove_stale_groups(base);
  const fs::path root = base / name;
  fs::create_directory(root, ec);
  if (ec) return pool;
  if (!enable_for_children(root, required)) {
    fs::remove(root, ec);
    return pool;
  }
  pool->root_memory_ = root;
  pool->unified_ = true;
  pool->limits_memory_ = lists(root / "cgroup.subtree_control", "memory");
  return pool;
}

CgroupPool::~CgroupPool() {
  free_.clear();
  std::error_code ec;
  for (const auto& dir : {root_memory_, root_pids_, root_cpu_}) {
    if (!dir.empty()) fs::remove(dir, ec);
  }
}

Result<std::unique_ptr<InstanceCgroup>> CgroupPool::make_group() {
  std::uint64_t slot;
  {
    std::lock_guard lock(mutex_);
    slot = next_slot_++;
  }
  const std::string leaf = fmt::format("i{}", slot);
  // v2: one directory; v1: one in each controller's hierarchy.
  std::vector<fs::path> dirs = {root_memory_ / leaf};
  if (!root_pids_.empty()) dirs.push_back(root_pids_ / leaf);
  if (!root_cpu_.empty()) dirs.push_back(root_cpu_ / leaf);
  std::vector<int> fds;
  for (const auto& dir : dirs) {
    std::error_code ec;
    fs::create_directory(dir, ec);
    int fd = ::open((dir / "cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    if (ec || fd < 0) {
      if (fd >= 0) ::close(fd);
      for (int open_fd : fds) ::close(open_fd);
      return AwsError::internal(fmt::format("cgroup: cannot create {}", dir.string()));
    }
    fds.push_back(fd);
  }
  if (unified_) return std::make_unique<InstanceCgroup>(root_memory_ / leaf, fds.front());
  return std::make_unique<InstanceCgroup>(
      root_memory_ / leaf, root_pids_.empty() ? fs::path() : root_pids_ / leaf,
      root_cpu_.empty() ? fs::path() : root_cpu_ / leaf, std::move(fds));
}

Result<std::unique_ptr<InstanceCgroup>> CgroupPool::acquire(std::uint32_t memory_mb) {
  if (root_memory_.empty()) return std::unique_ptr<InstanceCgroup>();
  std::unique_ptr<InstanceCgroup> group;
  {
    std::lock_guard lock(mutex_);
    if (!free_.empty()) {
      group = std::move(free_.back());
      free_.pop_back();
    }
  }
  if (!group) {
    auto made = make_group();
    if (!made) return made.error();
    group = std::move(*made);
  }
  if (auto configured = group->configure(memory_mb); !configured) {
    release(std::move(group));
    return configured.error();
  }
  return group;
}

void CgroupPool::release(std::unique_ptr<InstanceCgroup> group) {
  if (!group) return;
  group->kill_all();
  if (!group->empty()) return;  // still dying: let the destructor try to remove it
  if (!group->reset()) return;  // could not be made again: the destructor removes it
  std::lock_guard lock(mutex_);
  free_.push_back(std::move(group));
}

}  // namespace nimbus::engine::internal

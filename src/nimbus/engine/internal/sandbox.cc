#include "nimbus/engine/internal/sandbox.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nimbus/core/request_id.h"
#include "nimbus/engine/internal/sandbox_plan.h"

namespace nimbus::engine::internal {

namespace fs = std::filesystem;

namespace {

std::string errno_text() { return std::strerror(errno); }

Result<std::string> encode_plan(const SandboxPlan& plan) {
  PlanHeader header{};
  header.magic = kPlanMagic;
  header.uid = plan.uid;
  header.gid = plan.gid;
  header.limit_count = static_cast<std::uint32_t>(plan.limits.size());
  header.argc = static_cast<std::uint32_t>(plan.argv.size());
  header.env_count = static_cast<std::uint32_t>(plan.env.size());
  header.nice = plan.nice;
  if (plan.argv.empty() || plan.limits.size() > kMaxPlanLimits ||
      2 + plan.argv.size() + plan.env.size() > kMaxPlanStrings) {
    return AwsError::internal("sandbox plan: too many limits, arguments or variables");
  }
  std::string message(reinterpret_cast<const char*>(&header), sizeof header);
  for (const auto& limit : plan.limits) {
    PlanLimit encoded{limit.resource, 0, limit.soft, limit.hard};
    message.append(reinterpret_cast<const char*>(&encoded), sizeof encoded);
  }
  auto add = [&message](const std::string& text) {
    message.append(text);
    message.push_back('\0');
  };
  add(plan.working_dir.string());
  add(plan.code_dir.string());
  for (const auto& arg : plan.argv) add(arg);
  for (const auto& variable : plan.env) add(variable);
  if (message.size() > kMaxPlanBytes) {
    return AwsError::internal(
        fmt::format("sandbox plan: {} bytes, over {}", message.size(), kMaxPlanBytes));
  }
  return message;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

std::vector<env::MountStep> sandbox_mounts(std::vector<fs::path> visible,
                                           const std::string& private_tmp,
                                           const std::vector<fs::path>& hidden_paths) {
  using Kind = env::MountStep::Kind;
  auto under = [](const fs::path& path, const fs::path& root) {
    auto relative = path.lexically_relative(root);
    return !relative.empty() && *relative.begin() != ".." && relative != ".";
  };
  std::vector<fs::path> covers = {"/tmp"};
  for (const auto& hidden : hidden_paths) {
    fs::path normal = hidden.lexically_normal();
    // Under /tmp, the private /tmp hides it already.
    if (!under(normal, "/tmp") && normal != "/tmp") covers.push_back(normal);
  }
  // What would be hidden and must come back; a path inside another comes
  // with it.
  std::vector<std::pair<fs::path, fs::path>> restore;  // path, the cover hiding it
  for (auto& path : visible) path = path.lexically_normal();
  std::sort(visible.begin(), visible.end());
  for (const auto& path : visible) {
    if (!restore.empty() && (path == restore.back().first || under(path, restore.back().first))) {
      continue;
    }
    for (const auto& cover : covers) {
      if (under(path, cover)) {
        restore.emplace_back(path, cover);
        break;
      }
    }
  }
  std::vector<env::MountStep> steps;
  for (const auto& [path, cover] : restore) steps.push_back({Kind::kHold, path.string()});
  steps.push_back({Kind::kReadOnlyTree, "/"});
  steps.push_back({Kind::kBind, "/tmp", private_tmp});
  for (std::size_t i = 1; i < covers.size(); ++i) {
    steps.push_back({Kind::kEmptyTmpfs, covers[i].string()});
  }
  for (const auto& [path, cover] : restore) {
    fs::path dir = cover;
    for (const auto& part : path.lexically_relative(cover)) {
      dir /= part;
      steps.push_back({Kind::kMakeDir, dir.string()});
    }
    steps.push_back({Kind::kBindHeldReadOnly, path.string()});
  }
  return steps;
}

std::string make_private_tmp(const fs::path& scratch, std::optional<uid_t> uid) {
  const fs::path tmp = scratch / "tmp";
  std::error_code fs_error;
  fs::create_directories(tmp, fs_error);
  if (!fs_error && uid && (chown(tmp.c_str(), *uid, *uid) != 0 || chmod(tmp.c_str(), 0700) != 0)) {
    fs_error.assign(errno, std::generic_category());
  }
  return fs_error ? fmt::format("instance /tmp: {}", fs_error.message()) : std::string();
}

std::string unreachable_by(const fs::path& path, uid_t uid) {
  std::error_code absolute_error;
  const fs::path absolute = fs::absolute(path, absolute_error).lexically_normal();
  fs::path walked;
  for (const auto& part : absolute) {
    walked /= part;
    struct stat info {};
    if (::stat(walked.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) continue;
    const bool passes = info.st_uid == uid   ? (info.st_mode & S_IXUSR) != 0
                        : info.st_gid == uid ? (info.st_mode & S_IXGRP) != 0
                                             : (info.st_mode & S_IXOTH) != 0;
    if (!passes) {
      return fmt::format("{} (mode {:04o}, owner {})", walked.string(), info.st_mode & 07777,
                         info.st_uid);
    }
  }
  return {};
}

PreparedSandbox::~PreparedSandbox() {
  close_fd(plan_socket);
  close_fd(status_read);
  close_fd(log_read);
  init = env::ChildProcess();  // kills and reaps a nimbus-init still waiting
  std::error_code ignored;
  if (!scratch.empty()) fs::remove_all(scratch, ignored);
}

Result<void> launch(PreparedSandbox& sandbox, const SandboxPlan& plan) {
  auto message = encode_plan(plan);
  if (!message) return message.error();
  int tree = -1;
  if (!plan.code_dir.empty()) {
    // A bind mount cannot cross namespaces; a detached tree can.
    auto opened = env::detached_read_only_tree(plan.code_dir);
    if (!opened) return opened.error();
    tree = *opened;
  }
  iovec io{message->data(), message->size()};
  msghdr header{};
  header.msg_iov = &io;
  header.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (tree >= 0) {
    header.msg_control = control;
    header.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&header);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &tree, sizeof tree);
  }
  ssize_t sent = ::sendmsg(sandbox.plan_socket, &header, MSG_NOSIGNAL);
  int send_errno = errno;
  close_fd(tree);
  close_fd(sandbox.plan_socket);
  if (sent != static_cast<ssize_t>(message->size())) {
    return AwsError::internal(fmt::format("sandbox plan: {}", std::strerror(send_errno)));
  }
  return ok();
}

SandboxPool::SandboxPool(SandboxLayout layout, std::size_t size, CgroupPool& cgroups,
                         AcquireUid acquire_uid, ReleaseUid release_uid)
    : layout_(std::move(layout)),
      size_(size),
      cgroups_(cgroups),
      acquire_uid_(std::move(acquire_uid)),
      release_uid_(std::move(release_uid)) {
  if (size_ > 0) thread_ = std::thread([this] { run(); });
}

SandboxPool::~SandboxPool() { stop(); }

std::unique_ptr<PreparedSandbox> SandboxPool::take() {
  std::unique_ptr<PreparedSandbox> sandbox;
  {
    std::lock_guard lock(mutex_);
    if (ready_.empty()) return nullptr;
    sandbox = std::move(ready_.front());
    ready_.pop_front();
  }
  return sandbox;
}

void SandboxPool::refill() { changed_.notify_one(); }

std::size_t SandboxPool::ready() const {
  std::lock_guard lock(mutex_);
  return ready_.size();
}

void SandboxPool::stop() {
  std::deque<std::unique_ptr<PreparedSandbox>> left;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    left.swap(ready_);
  }
  changed_.notify_one();
  if (thread_.joinable()) thread_.join();
  for (auto& sandbox : left) discard(std::move(sandbox));
}

void SandboxPool::discard(std::unique_ptr<PreparedSandbox> sandbox) {
  if (sandbox->uid) release_uid_(*sandbox->uid);
  sandbox->init = env::ChildProcess();  // kills and reaps it, emptying its group
  cgroups_.release(std::move(sandbox->cgroup));
  sandbox.reset();
}

void SandboxPool::run() {
  // This thread only (Linux: a thread id names one thread), and so the
  // nimbus-init processes it starts, until their plan resets it.
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);
  bool failing = false;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      // After a failure, wait a while before the next try: the cause (no
      // free user ids, say) rarely clears at once.
      auto ready = [this] { return stopping_ || ready_.size() < size_; };
      if (failing) {
        changed_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
      }
      changed_.wait(lock, ready);
      if (stopping_) return;
    }
    auto sandbox = prepare();
    if (!sandbox) {
      if (!failing) {
        spdlog::warn("engine: cannot prepare a sandbox ahead of need: {}",
                     sandbox.error().message());
      }
      failing = true;
      continue;
    }
    failing = false;
    std::unique_lock lock(mutex_);
    if (stopping_) {
      lock.unlock();
      discard(std::move(*sandbox));
      return;
    }
    ready_.push_back(std::move(*sandbox));
  }
}

Result<std::unique_ptr<PreparedSandbox>> SandboxPool::prepare() {
  auto sandbox = std::make_unique<PreparedSandbox>();
  sandbox->uid = acquire_uid_();
  if (!sandbox->uid) return AwsError::internal("no free sandbox user id");
  // From here the sandbox owns the uid: a failure gives it back.
  auto fail = [this, &sandbox](std::string message) -> Result<std::unique_ptr<PreparedSandbox>> {
    discard(std::move(sandbox));
    return AwsError::internal(std::move(message));
  };
  std::string id = new_request_id();
  std::erase(id, '-');
  sandbox->scratch = layout_.instances_dir / id;
  if (auto error = make_private_tmp(sandbox->scratch, sandbox->uid); !error.empty()) {
    return fail(std::move(error));
  }
  const fs::path tmp = sandbox->scratch / "tmp";

  int status[2] = {-1, -1}, logs[2] = {-1, -1}, plan[2] = {-1, -1};
  auto close_child_ends = [&] {
    close_fd(status[1]);
    close_fd(logs[1]);
    close_fd(plan[1]);
  };
  if (pipe2(status, O_CLOEXEC | O_NONBLOCK) != 0 || pipe2(logs, O_CLOEXEC) != 0 ||
      socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, plan) != 0) {
    std::string error = errno_text();
    for (int* fd : {&status[0], &logs[0], &plan[0]}) close_fd(*fd);
    close_child_ends();
    return fail(fmt::format("sandbox pipes: {}", error));
  }
  sandbox->status_read = status[0];
  sandbox->log_read = logs[0];
  sandbox->plan_socket = plan[0];
  auto cgroup = cgroups_.acquire(kPreparedMemoryMb);
  if (!cgroup) {
    close_child_ends();
    return fail(cgroup.error().message());
  }
  sandbox->cgroup = std::move(*cgroup);

  env::SpawnOptions spawn;
  spawn.argv = {layout_.init_path.string(), "--plan"};
  spawn.stdout_fd = logs[1];
  spawn.stderr_fd = logs[1];
  spawn.inherited_fds = {status[1], plan[1]};
  if (sandbox->cgroup) spawn.cgroup_procs_fds = sandbox->cgroup->procs_fds();
  spawn.namespace_flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID;
  spawn.mounts = sandbox_mounts({layout_.runtimes_dir, layout_.init_path.parent_path()},
                                tmp.string(), layout_.hidden_paths);
  auto child = env::spawn_process(spawn);
  close_child_ends();
  if (!child) return fail(child.error().message());
  sandbox->init = std::move(*child);
  return sandbox;
}

}  // namespace nimbus::engine::internal

// The engine: a scheduler (which instance gets which invocation, when to
// start and stop instances) and instances (a process, its Runtime API
// endpoint, its log pipe). Threading (docs/threading.md):
//   - Scheduler state lives under one mutex, `mutex_`; critical sections are
//     short and never do I/O.
//   - Each instance lives on one event loop: its Runtime API connections,
//     log pipe, timers and exit watcher all run there, so an instance's own
//     fields need no lock. With shared loops (the server's I/O threads) it is
//     the loop of the invocation that started it, and the blocking part of
//     its life runs on the engine's own thread; otherwise an engine loop.
//   - invoke() runs on the caller's executor; the result comes back through a
//     thread-safe one-shot channel that resumes the caller there.

#include "nimbus/engine/engine.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "nimbus/core/request_id.h"
#include "nimbus/core/strings.h"
#include "nimbus/engine/internal/cgroups.h"
#include "nimbus/engine/internal/runtimes.h"
#include "nimbus/engine/internal/sandbox.h"
#include "nimbus/engine/usage_record.h"
#include "nimbus/env/process.h"
#include "nimbus/ledger/journal.h"
#include "nimbus/net/buffered_body.h"
#include "nimbus/net/response_head.h"

namespace nimbus::engine {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using Signal = asio::experimental::concurrent_channel<void(boost::system::error_code)>;
using SteadyClock = std::chrono::steady_clock;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kLogTailBytes = 4096;
constexpr std::size_t kMaxLogLineBytes = 256 * 1024;
constexpr std::string_view kRuntimePrefix = "/2018-06-01/runtime/";

double ms_between(SteadyClock::time_point from, SteadyClock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string error_document(std::string_view type, std::string_view message) {
  json::object body{{"errorType", type}, {"errorMessage", message}};
  return json::serialize(body);
}

// A UUID's 32 hex digits, without the dashes.
std::string uuid_hex(std::string_view uuid) {
  std::string hex;
  for (char c : uuid) {
    if (c != '-') hex.push_back(c);
  }
  return hex;
}

// X-Ray's trace header form, which runtimes copy into _X_AMZN_TRACE_ID;
// the random part is the request id's (already random) digits.
std::string trace_id_for(const std::string& id) {
  std::string hex = uuid_hex(id);
  return fmt::format("Root=1-{:08x}-{};Parent={};Sampled=0",
                     static_cast<std::uint32_t>(now_ms() / 1000), hex.substr(0, 24),
                     hex.substr(16, 16));
}

std::string instance_id() { return uuid_hex(new_request_id()); }

std::string log_stream_name(const std::string& version, const std::string& id) {
  auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  return fmt::format("{:04}/{:02}/{:02}/[{}]{}", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                     version, id);
}

AwsError throttled(std::string_view reason) {
  AwsError error("TooManyRequestsException", "Rate Exceeded.", 429);
  error.with_field("Reason", std::string(reason));
  return error;
}

// Completion for the engine's own coroutines: an exception is a bug; say so.
auto log_if_thrown(const char* task) {
  return [task](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      spdlog::error("engine: {} failed: {}", task, e.what());
    } catch (...) {
      spdlog::error("engine: {} failed", task);
    }
  };
}

// A waiting caller's completion handler, type-erased and move-only.
struct Waiter {
  virtual ~Waiter() = default;
  virtual void resume() = 0;  // called once, on the caller's executor
};

template <class Handler>
struct WaiterFor final : Waiter {
  explicit WaiterFor(Handler h) : handler(std::move(h)) {}
  void resume() override { std::move(handler)(); }
  Handler handler;
};

struct Invocation {
  std::string request_id;
  std::string payload;
  InvokeOptions options;
  SteadyClock::time_point enqueued;
  // In flight when admitted, this one included (set under the engine's mutex).
  std::uint32_t concurrency = 0;
  std::uint32_t account_concurrency = 0;
  // ...of functions without reserved concurrency.
  std::uint32_t unreserved_concurrency = 0;
  // ...of the function as invoked (its qualifier) and, for an alias, of the
  // alias running this version; the counters are let go at completion.
  std::uint32_t resource_concurrency = 0;
  std::uint32_t executed_version_concurrency = 0;
  std::shared_ptr<std::atomic<std::uint32_t>> resource_in_flight;
  std::shared_ptr<std::atomic<std::uint32_t>> executed_version_in_flight;

  // The result hand-off, under `mutex`. The waiting caller's handler and a
  // work-tracking executor of the caller's are held only until completion,
  // so an invocation the engine still references afterwards (a cancelled
  // timer's handler, say) keeps nothing of the caller's event loop alive or
  // dangling.
  std::mutex mutex;
  std::atomic<bool> completed{false};
  Result<InvokeResult> result;
  std::unique_ptr<Waiter> waiter;
  asio::any_io_executor waiter_executor;
};

// The pieces joined, sized once.
std::string concat(std::initializer_list<std::string_view> pieces) {
  std::size_t size = 0;
  for (const auto piece : pieces) size += piece.size();
  std::string out;
  out.reserve(size);
  for (const auto piece : pieces) out += piece;
  return out;
}

// A duration as Lambda's REPORT line writes it: fixed, two decimals.
void append_fixed2(std::string& out, double value) {
  char digits[64];
  const auto written =
      std::to_chars(digits, digits + sizeof digits, value, std::chars_format::fixed, 2);
  out.append(digits, written.ptr);
}

// Resumes the caller once the invocation is complete (at once if it is).
template <class Token>
auto async_wait_completion(std::shared_ptr<Invocation> invocation, Token&& token) {
  return asio::async_initiate<Token, void()>(
      [invocation](auto handler) {
        asio::any_io_executor executor = asio::prefer(asio::get_associated_executor(handler),
                                                      asio::execution::outstanding_work.tracked);
        std::unique_lock lock(invocation->mutex);
        if (invocation->completed.load()) {
          lock.unlock();
          asio::post(executor, std::move(handler));
          return;
        }
        invocation->waiter = std::make_unique<WaiterFor<decltype(handler)>>(std::move(handler));
        invocation->waiter_executor = std::move(executor);
      },
      token);
}

enum class InstanceState { kStarting, kIdle, kBusy, kFinishing, kStopping, kDead };

class Instance;
class EngineImpl;

// One function configuration and its scheduling state (under EngineImpl::mutex_).
struct FunctionState {
  FunctionConfig config;
  internal::RuntimeLaunch launch;
  std::vector<std::string> environment;  // everything but the per-instance variables
  bool retired = false;                  // replaced or removed: its instances are not reused

  std::deque<std::shared_ptr<Invocation>> pending;
  std::vector<std::shared_ptr<Instance>> idle;  // most recently used at the back
  std::uint32_t starting = 0;
  std::uint32_t busy = 0;
  std::uint32_t finishing = 0;  // answered, not yet back at /next

  std::uint32_t live() const {
    return starting + static_cast<std::uint32_t>(idle.size()) + busy + finishing;
  }
  std::chrono::milliseconds idle_timeout(std::chrono::milliseconds fallback) const {
    return config.idle_timeout.value_or(fallback);
  }
};

// Everything an instance needs from the scheduler.
class InstanceHost {
 public:
  virtual ~InstanceHost() = default;
  // The instance asked for work: an invocation at once, or null to wait on
  // its work signal (or stop, when `stop` is set).
  virtual std::shared_ptr<Invocation> instance_ready(Instance& instance, bool& stop) = 0;
  // After the work signal: the invocation handed over, or null to stop.
  virtual std::shared_ptr<Invocation> take_assigned(Instance& instance) = 0;
  // The invocation ended (response, error, timeout); false if it had
  // already ended. `keep` says whether the instance may be reused.
  virtual bool finish(Instance& instance, const std::shared_ptr<Invocation>& invocation,
                      bool keep) = 0;
  virtual void instance_failed_init(Instance& instance, std::string error_payload) = 0;
  virtual void instance_exited(Instance& instance) = 0;
  virtual ledger::Journal& journal() = 0;
  virtual const EngineOptions& options() const = 0;
  virtual internal::CgroupPool& cgroups() = 0;
  virtual bool namespaces() const = 0;
  virtual void count_cold_start() = 0;
  virtual void count_prepared_start() = 0;
  // A sandbox prepared ahead of need (namespaces isolation only), or null.
  virtual std::unique_ptr<internal::PreparedSandbox> take_prepared_sandbox() = 0;
  virtual void refill_sandboxes() = 0;
  virtual int nice() const = 0;  // the server's scheduling priority
  // The engine's own thread: blocking work of instances living on shared loops.
  virtual asio::any_io_executor blocking_executor() = 0;
  // A user id no other live instance runs as (root only); nullopt when all
  // are taken.
  virtual std::optional<uid_t> acquire_uid() = 0;
  virtual void release_uid(uid_t uid) = 0;
};

// /proc/net/tcp's form of an IPv4 endpoint: the address as a little-endian
// 32-bit hex word, then the port.
std::string proc_net_form(const tcp::endpoint& endpoint) {
  auto bytes = endpoint.address().to_v4().to_bytes();
  return fmt::format("{:02X}{:02X}{:02X}{:02X}:{:04X}", bytes[3], bytes[2], bytes[1], bytes[0],
                     endpoint.port());
}

// The uid that owns the connecting end of an established TCP connection
// (`peer` → `local`), from /proc/net/tcp: how an instance's endpoint tells
// its own runtime from any other local process. Both ends and the state are
// matched: a TIME_WAIT row from an earlier connection can share the port.
std::optional<uid_t> tcp_peer_uid(const tcp::endpoint& peer, const tcp::endpoint& local) {
  if (!peer.address().is_v4() || !local.address().is_v4()) return std::nullopt;
  std::string near = proc_net_form(peer);
  std::string far = proc_net_form(local);
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);  // header
  while (std::getline(table, line)) {
    auto fields = split(trim(line), ' ');
    std::erase_if(fields, [](std::string_view f) { return f.empty(); });
    constexpr std::string_view kEstablished = "01";
    if (fields.size() < 8 || fields[1] != near || fields[2] != far || fields[3] != kEstablished) {
      continue;
    }
    if (auto uid = parse_uint(fields[7])) return static_cast<uid_t>(*uid);
  }
  return std::nullopt;
}

void complete(const std::shared_ptr<Invocation>& invocation, Result<InvokeResult> result) {
  std::unique_ptr<Waiter> waiter;
  asio::any_io_executor executor;
  {
    std::lock_guard lock(invocation->mutex);
    if (invocation->completed.load()) return;
    invocation->result = std::move(result);
    invocation->completed.store(true);
    // No longer in flight as invoked (CloudWatch's ConcurrentExecutions by Resource).
    if (invocation->resource_in_flight) invocation->resource_in_flight->fetch_sub(1);
    if (invocation->executed_version_in_flight) {
      invocation->executed_version_in_flight->fetch_sub(1);
    }
    waiter = std::move(invocation->waiter);
    executor = std::move(invocation->waiter_executor);
  }
  if (waiter) asio::post(executor, [waiter = std::move(waiter)] { waiter->resume(); });
}

class Instance : public std::enable_shared_from_this<Instance> {
 public:
  // `shared_loop`: `context` is not the engine's own (the HTTP server's), so
  // blocking work is done on the engine's thread instead.
  Instance(InstanceHost& host, std::shared_ptr<FunctionState> function, asio::io_context& context,
           bool shared_loop)
      : host_(host),
        function_(std::move(function)),
        loop_(&context),
        shared_loop_(shared_loop),
        executor_(context.get_executor()),
        acceptor_(context),
        work_(context.get_executor(), 1),
        invoke_timer_(context),
        init_timer_(context),
        log_pipe_(context),
        exit_watch_(context),
        id_(instance_id()),
        group_("/aws/lambda/" + function_->config.name),
        stream_(log_stream_name(function_->config.version, id_)) {}

  // Scheduler-owned fields (under EngineImpl::mutex_).
  InstanceState state = InstanceState::kStarting;
  std::shared_ptr<Invocation> assigned;  // handed over, not yet taken by /next
  SteadyClock::time_point idle_since;
  std::uint32_t memory_mb = 0;

  const std::shared_ptr<FunctionState>& function() const { return function_; }
  const std::string& id() const { return id_; }
  asio::any_io_executor executor() const { return executor_; }
  // Whether this instance's loop is the calling thread's.
  bool on_this_thread() const { return loop_->get_executor().running_in_this_thread(); }

  // Wakes a /next waiting for work (an assignment or a stop).
  void wake() { work_.try_send(boost::system::error_code{}); }
  // wake() for callers under the scheduler's mutex: a receiver on this
  // thread could otherwise run inline and call back into the scheduler.
  void wake_later() {
    asio::post(executor_, [self = shared_from_this()] { self->wake(); });
  }

  // Called under the scheduler's mutex, possibly on this instance's own
  // event loop: always posted, never run inline, since start() calls back
  // into the scheduler.
  void launch() {
    asio::post(executor_, [self = shared_from_this()] {
      asio::co_spawn(self->executor_, run(self), log_if_thrown("start"));
    });
  }

  // Stop from the scheduler's side (idle expiry, replacement, engine stop).
  void stop(std::chrono::milliseconds grace) {
    asio::post(executor_, [self = shared_from_this(), grace] { self->terminate(grace); });
  }

 private:
  static asio::awaitable<void> run(std::shared_ptr<Instance> self) { co_await self->start(); }

  asio::awaitable<void> start() {
    const auto& options = host_.options();
    spawned_at_ = SteadyClock::now();
    if (stopping_) {
      host_.instance_exited(*this);
      co_return;
    }
    boost::system::error_code ec;
    acceptor_.open(tcp::v4(), ec);
    if (!ec) acceptor_.bind(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0), ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      fail_start("Runtime.Unknown", fmt::format("Runtime API endpoint: {}", ec.message()));
      co_return;
    }
    std::uint16_t port = acceptor_.local_endpoint().port();

    // Spawning, cgroup files and the scratch directory block: on a shared
    // loop they run on the engine's thread. Until this returns, terminate()
    // only records the stop (nothing else here touches what it sets up).
    std::optional<StartFailure> failure;
    if (shared_loop_) {
      starting_elsewhere_ = true;
      failure = co_await asio::co_spawn(
          host_.blocking_executor(),
          [this, port]() -> asio::awaitable<std::optional<StartFailure>> {
            co_return start_process(port);
          },
          asio::use_awaitable);
      starting_elsewhere_ = false;
    } else {
      failure = start_process(port);
    }
    if (failure) {
      fail_start(failure->type, std::move(failure->message));
      co_return;
    }
    if (cgroup_) oom_kills_at_start_ = cgroup_->oom_kills();
    exit_watch_.assign(::dup(child_.pidfd()));
    boost::system::error_code nb_error;
    log_pipe_.non_blocking(true, nb_error);
    host_.journal().create_stream(group(), stream_, now_ms());

    asio::co_spawn(executor_, watch_exit(shared_from_this()), log_if_thrown("exit watcher"));
    asio::co_spawn(executor_, pump_logs(shared_from_this()), log_if_thrown("log pump"));
    asio::co_spawn(executor_, accept_loop(shared_from_this()), log_if_thrown("Runtime API"));
    init_timer_.expires_after(options.init_timeout);
    init_timer_.async_wait([weak = weak_from_this()](boost::system::error_code error) {
      auto self = weak.lock();
      if (error || !self || self->init_done_) return;
      self->log_line(
          fmt::format("INIT_REPORT Init Duration: {:.2f} ms\tPhase: init\tStatus: timeout",
                      ms_between(self->spawned_at_, SteadyClock::now())));
      self->init_error_ = error_document(
          "Sandbox.Timedout",
          fmt::format("Init timed out after {:.2f} seconds",
                      std::chrono::duration<double>(self->host_.options().init_timeout).count()));
      self->kill();
    });
    // Stopped while the process was being started elsewhere.
    if (stopping_) kill();
  }

  struct StartFailure {
    std::string type;
    std::string message;
  };

  // The sandbox, cgroup and process of start(); what went wrong, if anything.
  std::optional<StartFailure> start_process(std::uint16_t port) {
    const auto& options = host_.options();
    const auto& config = function_->config;
    std::unique_ptr<internal::PreparedSandbox> prepared;
    if (host_.namespaces() && !options.init_path.empty()) prepared = host_.take_prepared_sandbox();
    if (prepared) {
      // The instance owns the sandbox's user and scratch from here on.
      from_prepared_ = true;
      uid_ = std::exchange(prepared->uid, std::nullopt);
      scratch_ = std::exchange(prepared->scratch, {});
    } else if (auto prepared_error = prepare_scratch(); !prepared_error.empty()) {
      return StartFailure{"Runtime.Unknown", std::move(prepared_error)};
    }
    if (uid_ && !host_.namespaces()) {
      // Without mounts of its own the instance's user must reach the code
      // through the host's directories; had it not, the runtime would die
      // at once with nothing in its log but an exit status.
      for (const auto& needed : {config.code_dir, scratch_}) {
        if (needed.empty()) continue;
        if (auto blocked = internal::unreachable_by(needed, *uid_); !blocked.empty()) {
          return StartFailure{
              "Runtime.Unknown",
              fmt::format("the function's user (uid {}) cannot reach {}: {} is closed to it. "
                          "Put the data directory where every user may pass, or run as root "
                          "with namespace isolation",
                          *uid_, needed.string(), blocked)};
        }
      }
    }

    // A prepared sandbox comes in a cgroup of its own already.
    std::unique_ptr<internal::InstanceCgroup> own_group;
    if (prepared && prepared->cgroup) {
      own_group = std::move(prepared->cgroup);
    } else {
      auto acquired = host_.cgroups().acquire(config.memory_mb);
      if (!acquired) {
        return StartFailure{"Runtime.Unknown", acquired.error().message()};
      }
      own_group = std::move(*acquired);
    }
    if (own_group) {
      if (auto configured = own_group->configure(config.memory_mb); !configured) {
        host_.cgroups().release(std::move(own_group));
        return StartFailure{"Runtime.Unknown", configured.error().message()};
      }
    }
    cgroup_ = std::move(own_group);

    std::vector<std::string> environment = function_->environment;
    environment.push_back(fmt::format("AWS_LAMBDA_RUNTIME_API=127.0.0.1:{}", port));
    environment.push_back("AWS_LAMBDA_LOG_STREAM_NAME=" + stream_);
    // Lambda's own limits: 1,024 open files, no core dumps.
    std::vector<env::ResourceLimit> limits = {env::ResourceLimit{RLIMIT_NOFILE, 1024, 1024},
                                              env::ResourceLimit{RLIMIT_CORE, 0, 0}};
    // Each instance has a user of its own, so the per-user process limit is
    // per instance: a fork bomb stops there even without a pids cgroup.
    if (uid_) limits.push_back(env::ResourceLimit{RLIMIT_NPROC, 1024, 1024});

    if (prepared) {
      log_pipe_.assign(std::exchange(prepared->log_read, -1));
      status_pipe_ = std::exchange(prepared->status_read, -1);
      internal::SandboxPlan plan;
      plan.uid = *uid_;
      plan.gid = *uid_;
      plan.nice = host_.nice();
      plan.limits = std::move(limits);
      plan.working_dir = config.code_dir;
      plan.code_dir = config.code_dir;
      plan.argv = function_->launch.argv;
      plan.env = std::move(environment);
      auto launched = internal::launch(*prepared, plan);
      if (!launched) {
        return StartFailure{"Runtime.Unknown", launched.error().message()};
      }
      child_ = std::move(prepared->init);
      host_.count_prepared_start();
    } else {
      auto child = spawn(std::move(environment), std::move(limits));
      if (!child) {
        return StartFailure{"Runtime.InvalidEntrypoint", child.error().message()};
      }
      child_ = std::move(*child);
    }
    return std::nullopt;
  }

  // Without a prepared sandbox: the instance's user and its private /tmp.
  // Returns what went wrong, or "".
  std::string prepare_scratch() {
    scratch_ = host_.options().work_dir / "instances" / id_;
    if (geteuid() == 0) {
      uid_ = host_.acquire_uid();
      if (!uid_) return "no free sandbox user id";
    }
    return internal::make_private_tmp(scratch_, uid_);
  }

  // Without a prepared sandbox: namespaces, mounts and nimbus-init made now.
  Result<env::ChildProcess> spawn(std::vector<std::string> environment,
                                  std::vector<env::ResourceLimit> limits) {
    const auto& options = host_.options();
    const auto& config = function_->config;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return AwsError::internal("log pipe");
    log_pipe_.assign(fds[0]);

    env::SpawnOptions spawn;
    spawn.argv = function_->launch.argv;
    spawn.env = std::move(environment);
    spawn.working_dir = config.code_dir;
    spawn.stdout_fd = fds[1];
    spawn.stderr_fd = fds[1];
    spawn.limits = std::move(limits);
    if (cgroup_) spawn.cgroup_procs_fds = cgroup_->procs_fds();
    std::string private_tmp = (scratch_ / "tmp").string();
    int status_write_end = -1;
    if (host_.namespaces()) {
      spawn.namespace_flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
      if (!options.init_path.empty()) {
        // The runtime must not be pid 1 (pid 1 drops signals it has no
        // handler for, abort()'s included): nimbus-init is, and reports the
        // runtime's exit status through a pipe on its fd 3.
        int status_fds[2];
        if (pipe2(status_fds, O_CLOEXEC | O_NONBLOCK) == 0) {
          status_pipe_ = status_fds[0];
          status_write_end = status_fds[1];
          spawn.namespace_flags |= CLONE_NEWPID;
          spawn.inherited_fds = {status_write_end};
          spawn.argv.insert(spawn.argv.begin(), options.init_path.string());
        }
      }
      std::vector<fs::path> visible = {config.code_dir, options.runtimes_dir};
      if (!options.init_path.empty()) visible.push_back(options.init_path.parent_path());
      spawn.mounts =
          internal::sandbox_mounts(std::move(visible), private_tmp, options.hidden_paths);
    } else {
      spawn.env.push_back("TMPDIR=" + private_tmp);
    }
    if (uid_) {
      spawn.uid = *uid_;
      spawn.gid = *uid_;
    }
    auto child = env::spawn_process(spawn);
    ::close(fds[1]);
    if (status_write_end >= 0) ::close(status_write_end);
    return child;
  }

  // The pool prepares a replacement only once this cold start (init and the
  // first invocation) is over, so that work does not compete with it:
  // preparing moves a process between cgroups, which holds up every fork on
  // the machine for a moment, and a bash runtime forks for each request.
  void cold_start_over() {
    if (std::exchange(from_prepared_, false)) host_.refill_sandboxes();
  }

  void fail_start(std::string_view type, std::string message) {
    cold_start_over();
    spdlog::warn("engine: {} instance {} failed to start: {}", function_->config.name, id_,
                 message);
    init_error_ = error_document(type, message);
    host_.instance_failed_init(*this, init_error_);
    host_.instance_exited(*this);
    cleanup();
  }

  static asio::awaitable<void> watch_exit(std::shared_ptr<Instance> self) {
    auto [ec] =
        co_await self->exit_watch_.async_wait(asio::posix::descriptor_base::wait_read, kNoThrow);
    (void)ec;
    auto status = self->child_.try_wait();
    if (!status) status = self->child_.wait();
    self->exited(self->runtime_status(*status));
  }

  // Under nimbus-init, the runtime's own exit (from the status pipe) rather
  // than init's; init killed outright (a timeout, the OOM killer) says so itself.
  env::ExitStatus runtime_status(env::ExitStatus init_status) {
    if (status_pipe_ < 0) return init_status;
    int words[2] = {0, 0};
    ssize_t n = ::read(status_pipe_, words, sizeof words);
    ::close(status_pipe_);
    status_pipe_ = -1;
    int raw = words[0];
    if (n >= static_cast<ssize_t>(sizeof(int)) && words[0] < 0) {
      exec_errno_ = -words[0];
      if (n != sizeof words) return init_status;
      raw = words[1];
    } else if (n != sizeof(int)) {
      return init_status;
    }
    if (WIFSIGNALED(raw)) return {env::ExitStatus::Kind::kSignaled, WTERMSIG(raw)};
    return {env::ExitStatus::Kind::kExited, WEXITSTATUS(raw)};
  }

  void exited(const env::ExitStatus& status) {
    cold_start_over();
    drain_logs_now();
    bool out_of_memory = cgroup_ && cgroup_->oom_kills() > oom_kills_at_start_;
    std::string reason = status.describe();
    if (!init_done_) {
      if (init_error_.empty() && exec_errno_ != 0) {
        std::string bootstrap = function_->launch.argv.front();
        init_error_ = error_document(
            "Runtime.InvalidEntrypoint",
            exec_errno_ == ENOENT
                ? fmt::format("Couldn't find valid bootstrap(s): [{}]", bootstrap)
                : fmt::format("fork/exec {}: {}", bootstrap, std::strerror(exec_errno_)));
      }
      if (init_error_.empty()) {
        init_error_ = error_document(out_of_memory ? "Runtime.OutOfMemory" : "Runtime.ExitError",
                                     fmt::format("Runtime exited with error: {}", reason));
      }
      host_.instance_failed_init(*this, init_error_);
    } else if (current_) {
      auto invocation = current_;
      std::string type = out_of_memory ? "Runtime.OutOfMemory" : "Runtime.ExitError";
      std::string message = fmt::format("RequestId: {} Error: Runtime exited with error: {}",
                                        invocation->request_id, reason);
      log_line(message);
      log_line(type);
      end_invocation(invocation, error_document(type, message), "Unhandled",
                     InvocationOutcome::kCrash, /*keep=*/false);
    }
    host_.instance_exited(*this);
    cleanup();
  }

  void cleanup() {
    flush_lines();
    if (status_pipe_ >= 0) {
      ::close(status_pipe_);
      status_pipe_ = -1;
    }
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    invoke_timer_.cancel();
    init_timer_.cancel();
    for (auto& weak : connections_) {
      if (auto socket = weak.lock()) socket->close(ignored);
    }
    connections_.clear();
    child_ = env::ChildProcess();  // kills what is left and reaps
    exit_watch_.close(ignored);
    log_pipe_.close(ignored);
    // The group is emptied and the scratch removed before the user id is
    // free again: nothing of this instance may outlive it under that id.
    auto release = [host = &host_, cgroup = std::move(cgroup_),
                    scratch = std::exchange(scratch_, {}),
                    uid = std::exchange(uid_, std::nullopt)]() mutable {
      if (cgroup) host->cgroups().release(std::move(cgroup));
      std::error_code fs_ignored;
      if (!scratch.empty()) fs::remove_all(scratch, fs_ignored);
      if (uid) host->release_uid(*uid);
    };
    // That is disk and cgroup-file work: not on a shared loop.
    if (shared_loop_) {
      asio::post(host_.blocking_executor(), std::move(release));
    } else {
      release();
    }
    wake();
  }

  void kill() {
    stopping_ = true;
    child_.signal_group(SIGKILL);
    if (cgroup_) cgroup_->kill_all();
  }

  void terminate(std::chrono::milliseconds grace) {
    stopping_ = true;  // also stops a start that has not spawned yet
    // Being spawned on the engine's thread: start() kills it once back.
    if (starting_elsewhere_ || !child_.running()) return;
    wake();
    child_.signal_group(SIGTERM);
    auto timer = std::make_shared<asio::steady_timer>(executor_, grace);
    timer->async_wait([timer, weak = weak_from_this()](boost::system::error_code) {
      if (auto self = weak.lock()) self->kill();
    });
  }

  static asio::awaitable<void> accept_loop(std::shared_ptr<Instance> self) {
    for (;;) {
      auto [ec, socket] = co_await self->acceptor_.async_accept(kNoThrow);
      if (ec) co_return;
      if (self->uid_) {
        // Only this instance's own processes may use its endpoint.
        auto peer = socket.remote_endpoint(ec);
        auto local = ec ? tcp::endpoint() : socket.local_endpoint(ec);
        auto owner = ec ? std::nullopt : tcp_peer_uid(peer, local);
        if (owner != self->uid_) {
          spdlog::warn("engine: {} instance {}: refused a Runtime API connection from uid {}",
                       self->function_->config.name, self->id_,
                       owner ? std::to_string(*owner) : "unknown");
          socket.close(ec);
          continue;
        }
      }
      socket.set_option(tcp::no_delay(true), ec);
      auto shared_socket = std::make_shared<tcp::socket>(std::move(socket));
      std::erase_if(self->connections_, [](const auto& weak) { return weak.expired(); });
      self->connections_.push_back(shared_socket);
      asio::co_spawn(self->executor_, session(self, shared_socket),
                     log_if_thrown("Runtime API session"));
    }
  }

  using Response = http::response<http::string_body>;

  static Response reply(unsigned status, std::string body) {
    Response response{static_cast<http::status>(status), 11};
    response.set(http::field::content_type, "application/json");
    response.body() = std::move(body);
    return response;
  }

  static Response runtime_error(unsigned status, std::string_view type, std::string_view message) {
    return reply(status, error_document(type, message));
  }

  // Sends a buffered answer: the head written out by net::ResponseHead, then
  // head and body in one gather write.
  static asio::awaitable<boost::system::error_code> send(tcp::socket& socket, Response& response,
                                                         bool keep_alive) {
    net::ResponseHead head(static_cast<int>(response.result_int()));
    for (const auto& field : response) head.add(field.name_string(), field.value());
    if (!head.has_body()) response.body().clear();
    const std::string text = std::move(head).finish(response.body().size(), keep_alive);
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(text),
                                                    asio::buffer(response.body())};
    auto [error, written] = co_await asio::async_write(socket, buffers, kNoThrow);
    (void)written;
    co_return error;
  }

  static asio::awaitable<void> session(std::shared_ptr<Instance> self,
                                       std::shared_ptr<tcp::socket> socket) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      // A streamed response may be larger than a buffered one: the limit is
      // chosen once the header is in (a declared length past it fails here).
      parser.body_limit(kMaxStreamedPayloadBytes);
      auto [ec, header_bytes] = co_await http::async_read_header(*socket, buffer, parser, kNoThrow);
      (void)header_bytes;
      if (!ec && !iequals(parser.get()["Lambda-Runtime-Function-Response-Mode"], "streaming")) {
        // The declared length was checked against the larger limit.
        parser.body_limit(kMaxSyncPayloadBytes);
        if (parser.content_length().value_or(0) > kMaxSyncPayloadBytes) {
          ec = http::error::body_limit;
        }
      }
      if (!ec) {
        if (auto sink = self->response_sink(parser.get())) {
          ec = co_await read_streamed(*socket, buffer, parser, *sink);
        } else {
          ec = net::parse_buffered_body(parser, buffer);
          if (!ec && !parser.is_done()) {
            auto [body_error, bytes] = co_await http::async_read(*socket, buffer, parser, kNoThrow);
            (void)bytes;
            ec = body_error;
          }
        }
      }
      if (ec == http::error::body_limit) {
        const bool streamed =
            iequals(parser.get()["Lambda-Runtime-Function-Response-Mode"], "streaming");
        auto response = self->oversized(parser.get(),
                                        streamed ? kMaxStreamedPayloadBytes : kMaxSyncPayloadBytes);
        co_await send(*socket, response, false);
        co_return;
      }
      if (ec) co_return;
      auto& request = parser.get();
      std::optional<Response> response;
      std::string target(request.target());
      if (request.method() == http::verb::get && target == "/2018-06-01/runtime/invocation/next") {
        response = co_await self->next();
        if (!response) co_return;  // stopping: the runtime is about to be signalled
      } else {
        response = self->post(request.method(), target, request);
      }
      const bool keep_alive = request.keep_alive();
      if (const auto write_error = co_await send(*socket, *response, keep_alive);
          write_error || !keep_alive) {
        co_return;
      }
    }
  }

  // The sink of the current invocation, if `head` starts streaming its
  // answer and its caller wants the bytes as they come.
  std::shared_ptr<ResponseSink> response_sink(
      const http::request_parser<http::string_body>::value_type& head) const {
    if (!current_ || current_->options.response_sink == nullptr ||
        head.method() != http::verb::post ||
        !iequals(head["Lambda-Runtime-Function-Response-Mode"], "streaming") ||
        head.target() !=
            fmt::format("{}invocation/{}/response", kRuntimePrefix, current_->request_id)) {
      return nullptr;
    }
    auto sink = current_->options.response_sink;
    const auto content_type = head[http::field::content_type];
    sink->stream_started(content_type.empty() ? std::string_view("application/octet-stream")
                                              : std::string_view(content_type));
    return sink;
  }

  // Reads a streamed body, handing each new piece to `sink` as it arrives;
  // the parser still ends up holding all of it.
  static asio::awaitable<boost::system::error_code> read_streamed(
      tcp::socket& socket, beast::flat_buffer& buffer,
      http::request_parser<http::string_body>& parser, ResponseSink& sink) {
    std::size_t handed = 0;
    while (!parser.is_done()) {
      auto [ec, bytes] = co_await http::async_read_some(socket, buffer, parser, kNoThrow);
      (void)bytes;
      const std::string& body = parser.get().body();
      if (body.size() > handed) {
        sink.stream_bytes(std::string_view(body).substr(handed));
        handed = body.size();
      }
      if (ec) co_return ec;
    }
    co_return boost::system::error_code{};
  }

  // GET /runtime/invocation/next: the long poll.
  asio::awaitable<std::optional<Response>> next() {
    if (current_) {
      co_return runtime_error(403, "InvalidStateTransition",
                              "State transition from Invoking to InvocationNext failed");
    }
    if (!init_done_) {
      init_done_ = true;
      init_timer_.cancel();
      init_duration_ms_ = ms_between(spawned_at_, SteadyClock::now());
    }
    // A runtime that gives up on a long poll and asks again leaves the old
    // request waiting on a dead connection: only the newest may take work.
    const std::uint64_t generation = ++next_generation_;
    bool stop = false;
    auto invocation = host_.instance_ready(*this, stop);
    while (!invocation && !stop && !stopping_) {
      auto [ec] = co_await work_.async_receive(kNoThrow);
      if (ec || stopping_) break;
      if (generation != next_generation_) {
        wake();  // the wake-up was for the newer request: pass it on
        co_return std::nullopt;
      }
      invocation = host_.take_assigned(*this);
      // Woken without work: told to stop, or a stale wake-up (keep waiting).
      if (!invocation) invocation = host_.instance_ready(*this, stop);
    }
    if (!invocation) {
      // Retired, expired or the engine is stopping: nothing will come.
      terminate(host_.options().shutdown_grace);
      co_return std::nullopt;
    }
    co_return deliver(std::move(invocation));
  }

  Response deliver(std::shared_ptr<Invocation> invocation) {
    const auto& config = function_->config;
    current_ = invocation;
    cold_ = !had_invocation_;
    had_invocation_ = true;
    if (cold_) host_.count_cold_start();
    tail_.clear();
    delivered_at_ = SteadyClock::now();
    auto deadline = now_ms() + config.timeout.count();
    if (lines_wanted()) {
      log_line(concat({"START RequestId: ", invocation->request_id, " Version: ", config.version}));
    }

    Response response = reply(200, invocation->payload);
    const auto& options = invocation->options;
    response.set("Lambda-Runtime-Aws-Request-Id", invocation->request_id);
    response.set("Lambda-Runtime-Deadline-Ms", std::to_string(deadline));
    response.set("Lambda-Runtime-Invoked-Function-Arn",
                 options.invoked_arn.empty() ? config.arn : options.invoked_arn);
    response.set("Lambda-Runtime-Trace-Id", options.trace_id);
    if (!options.client_context.empty()) {
      response.set("Lambda-Runtime-Client-Context", options.client_context);
    }
    if (!options.cognito_identity.empty()) {
      response.set("Lambda-Runtime-Cognito-Identity", options.cognito_identity);
    }

    invoke_timer_.expires_after(config.timeout);
    invoke_timer_.async_wait([weak = weak_from_this(), invocation](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->current_ != invocation) return;
      self->timed_out(invocation);
    });
    return response;
  }

  void timed_out(const std::shared_ptr<Invocation>& invocation) {
    double seconds = std::chrono::duration<double>(function_->config.timeout).count();
    std::string message = fmt::format("RequestId: {} Error: Task timed out after {:.2f} seconds",
                                      invocation->request_id, seconds);
    drain_logs_now();
    log_line(fmt::format("{} {}", iso_now(), message));
    end_invocation(invocation, error_document("Sandbox.Timedout", message), "Unhandled",
                   InvocationOutcome::kTimeout, /*keep=*/false);
    kill();
  }

  Response post(http::verb method, const std::string& target,
                const http::request<http::string_body>& request) {
    if (!target.starts_with(kRuntimePrefix)) {
      return runtime_error(404, "ResourceNotFound", "Resource not found");
    }
    std::string_view rest = std::string_view(target).substr(kRuntimePrefix.size());
    if (rest == "init/error") {
      if (method != http::verb::post)
        return runtime_error(405, "MethodNotAllowed", "Method not allowed");
      if (init_done_) {
        return runtime_error(403, "InvalidStateTransition",
                             "State transition from Ready to InitError failed");
      }
      init_error_ = error_payload(request);
      log_line(fmt::format(
          "INIT_REPORT Init Duration: {:.2f} ms\tPhase: init\tStatus: error\tError Type: {}",
          ms_between(spawned_at_, SteadyClock::now()), error_type(request)));
      kill();
      return reply(202, R"({"status":"OK"})");
    }
    if (!rest.starts_with("invocation/")) {
      return runtime_error(404, "ResourceNotFound", "Resource not found");
    }
    rest.remove_prefix(std::string_view("invocation/").size());
    auto slash = rest.find('/');
    if (slash == std::string_view::npos) {
      return runtime_error(404, "ResourceNotFound", "Resource not found");
    }
    std::string_view id = rest.substr(0, slash);
    std::string_view action = rest.substr(slash + 1);
    if (action != "response" && action != "error") {
      return runtime_error(404, "ResourceNotFound", "Resource not found");
    }
    if (method != http::verb::post)
      return runtime_error(405, "MethodNotAllowed", "Method not allowed");
    if (!current_ || current_->request_id != id) {
      return runtime_error(400, "InvalidRequestID", "Invalid request ID");
    }
    auto invocation = current_;
    drain_logs_now();
    if (action == "response" &&
        iequals(request["Lambda-Runtime-Function-Response-Mode"], "streaming")) {
      // A streamed answer; an error after the stream began comes in the
      // trailers (the body of the error document base64-encoded).
      auto error_type = request["Lambda-Runtime-Function-Error-Type"];
      if (!error_type.empty()) {
        std::string document = error_document(error_type, "");
        const auto encoded = request["Lambda-Runtime-Function-Error-Body"];
        if (!encoded.empty()) {
          std::string body(beast::detail::base64::decoded_size(encoded.size()), '\0');
          const auto [written, read] =
              beast::detail::base64::decode(body.data(), encoded.data(), encoded.size());
          (void)read;
          body.resize(written);
          boost::system::error_code parse_error;
          json::parse(body, parse_error);
          document = parse_error ? error_document(error_type, body) : std::move(body);
        }
        end_invocation(invocation, std::move(document), "Unhandled",
                       InvocationOutcome::kFunctionError, /*keep=*/true);
      } else {
        streamed_content_type_ = std::string(request[http::field::content_type]);
        if (streamed_content_type_->empty()) *streamed_content_type_ = "application/octet-stream";
        end_invocation(invocation, request.body(), "", InvocationOutcome::kSuccess, /*keep=*/true);
      }
    } else if (action == "response") {
      end_invocation(invocation, request.body(), "", InvocationOutcome::kSuccess, /*keep=*/true);
    } else {
      end_invocation(invocation, error_payload(request), "Unhandled",
                     InvocationOutcome::kFunctionError, /*keep=*/true);
    }
    return reply(202, R"({"status":"OK"})");
  }

  // A response body over the limit (6 MB, 20 MB streamed): the runtime gets
  // 413, the caller Lambda's error.
  Response oversized(const http::request_parser<http::string_body>::value_type& head,
                     std::size_t limit) {
    std::string target(head.target());
    if (current_ && target.find("/invocation/" + current_->request_id + "/") != std::string::npos) {
      auto invocation = current_;
      std::string message = fmt::format(
          "Response payload size exceeded maximum allowed payload size ({} bytes).", limit);
      end_invocation(invocation, error_document("Function.ResponseSizeTooLarge", message),
                     "Unhandled", InvocationOutcome::kFunctionError, /*keep=*/true);
    }
    return runtime_error(413, "RequestEntityTooLarge",
                         fmt::format("Exceeded maximum allowed payload size ({} bytes).", limit));
  }

  static std::string error_type(const http::request<http::string_body>& request) {
    auto header = request["Lambda-Runtime-Function-Error-Type"];
    return header.empty() ? "Unhandled" : std::string(header);
  }

  // What Lambda returns for a reported error: the runtime's JSON document as
  // posted, or one made from the error-type header when the body is not JSON.
  static std::string error_payload(const http::request<http::string_body>& request) {
    boost::system::error_code ec;
    auto parsed = json::parse(request.body(), ec);
    if (!ec && parsed.is_object()) return request.body();
    return error_document(error_type(request), request.body());
  }

  void end_invocation(const std::shared_ptr<Invocation>& invocation, std::string payload,
                      std::string function_error, InvocationOutcome outcome, bool keep) {
    if (current_ != invocation) return;
    current_.reset();
    invoke_timer_.cancel();
    cold_start_over();
    const auto& config = function_->config;
    auto finished = SteadyClock::now();
    double duration = ms_between(delivered_at_, finished);
    auto billed = static_cast<std::uint64_t>(std::ceil(duration));
    if (billed == 0) billed = 1;
    const bool tail = invocation->options.log_tail == LogTail::kTail;
    if (tail || host_.journal().keeps_logs()) log_end_and_report(*invocation, duration, billed);
    if (host_.journal().keeps_usage()) {
      // Assigned in place: the record's strings keep their memory from one
      // invocation to the next.
      UsageRecord& usage = usage_record_;
      usage.function = config.name;
      usage.version = config.version;
      usage.qualifier.assign(invoked_qualifier(invocation->options.invoked_arn));
      usage.request_id = invocation->request_id;
      usage.start_time_us = now_us() - static_cast<std::int64_t>(duration * 1000);
      usage.duration_ms = duration;
      usage.billed_ms = billed;
      usage.memory_mb = config.memory_mb;
      usage.architecture = config.architecture;
      usage.cold_start = cold_;
      usage.init_ms = cold_ ? init_duration_ms_ : 0;
      usage.outcome = outcome;
      usage.bytes_in = invocation->payload.size();
      usage.bytes_out = payload.size();
      usage.concurrency = invocation->concurrency;
      usage.account_concurrency = invocation->account_concurrency;
      usage.unreserved_concurrency = invocation->unreserved_concurrency;
      usage.resource_concurrency = invocation->resource_concurrency;
      usage.executed_version_concurrency = invocation->executed_version_concurrency;
      flush_lines(&usage);
    } else {
      flush_lines();
    }

    InvokeResult result;
    result.request_id = invocation->request_id;
    result.payload = std::move(payload);
    if (streamed_content_type_) {
      result.streamed = true;
      result.content_type = std::move(*streamed_content_type_);
      streamed_content_type_.reset();
    }
    result.function_error = std::move(function_error);
    result.executed_version = config.version;
    result.duration_ms = duration;
    result.billed_duration_ms = billed;
    result.cold_start = cold_;
    result.init_duration_ms = cold_ ? init_duration_ms_ : 0;
    if (tail) result.log_tail = std::move(tail_);
    tail_.clear();
    if (host_.finish(*this, invocation, keep)) complete(invocation, std::move(result));
  }

  // END and REPORT, into the log and (if asked for) the tail.
  void log_end_and_report(const Invocation& invocation, double duration, std::uint64_t billed) {
    const auto& config = function_->config;
    const std::uint64_t used_mb = max_memory_used_mb();
    // Put together piece by piece: fmt parsed the format strings on every
    // invocation.
    std::string end = concat({"END RequestId: ", invocation.request_id});
    std::string report = concat({"REPORT RequestId: ", invocation.request_id, "\tDuration: "});
    append_fixed2(report, duration);
    report += " ms\tBilled Duration: ";
    report += std::to_string(billed);
    report += " ms\tMemory Size: ";
    report += std::to_string(config.memory_mb);
    report += " MB\tMax Memory Used: ";
    report += std::to_string(used_mb);
    report += " MB";
    if (cold_) {
      report += "\tInit Duration: ";
      append_fixed2(report, init_duration_ms_);
      report += " ms";
    }
    // The tail ends with END and REPORT, as Lambda's X-Amz-Log-Result does.
    if (invocation.options.log_tail == LogTail::kTail) {
      append_tail(end);
      append_tail(report);
    }
    log_line(std::move(end));
    log_line(std::move(report));
  }

  std::uint64_t max_memory_used_mb() const {
    if (cgroup_) return (cgroup_->max_memory_used_bytes() + (1 << 20) - 1) >> 20;
    std::ifstream status(fmt::format("/proc/{}/status", child_.pid()));
    std::string line;
    while (std::getline(status, line)) {
      if (line.starts_with("VmHWM:")) {
        auto kb = parse_uint(trim(std::string_view(line).substr(6, line.size() - 9)));
        return (kb.value_or(0) + 1023) / 1024;
      }
    }
    return 0;
  }

  static std::string iso_now() {
    auto now = std::chrono::system_clock::now();
    auto seconds = std::chrono::system_clock::to_time_t(now);
    auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900,
                       utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
  }

  const std::string& group() const { return group_; }

  // Log capture: every line the instance writes becomes one log event.
  static asio::awaitable<void> pump_logs(std::shared_ptr<Instance> self) {
    std::array<char, 16 * 1024> chunk;
    for (;;) {
      auto [ec, n] = co_await self->log_pipe_.async_read_some(asio::buffer(chunk), kNoThrow);
      if (n > 0) self->take_output(std::string_view(chunk.data(), n));
      if (ec) break;
    }
    self->flush_partial_line();
  }

  // Reads what the instance has written so far, so that lines printed before
  // a response are logged before its END line.
  void drain_logs_now() {
    if (!log_pipe_.is_open()) return;
    boost::system::error_code ec;
    std::array<char, 16 * 1024> chunk;
    for (int i = 0; i < 64; ++i) {
      std::size_t n = log_pipe_.read_some(asio::buffer(chunk), ec);
      if (n > 0) take_output(std::string_view(chunk.data(), n));
      if (ec) break;
    }
  }

  void take_output(std::string_view bytes) {
    if (!lines_wanted()) {
      // Neither the log nor a tail keeps lines (a benchmark's journal
      // without logs): read and let go.
      partial_.clear();
      return;
    }
    std::vector<ledger::LogLine> events;
    partial_ += bytes;
    std::size_t start = 0;
    for (;;) {
      auto newline = partial_.find('\n', start);
      if (newline == std::string::npos) break;
      events.push_back(make_line(partial_.substr(start, newline - start)));
      start = newline + 1;
    }
    partial_.erase(0, start);
    while (partial_.size() >= kMaxLogLineBytes) {
      events.push_back(make_line(partial_.substr(0, kMaxLogLineBytes)));
      partial_.erase(0, kMaxLogLineBytes);
    }
    if (events.empty()) return;
    lines_.insert(lines_.end(), std::make_move_iterator(events.begin()),
                  std::make_move_iterator(events.end()));
    flush_lines();
  }

  void flush_partial_line() {
    if (partial_.empty()) return;
    lines_.push_back(make_line(std::move(partial_)));
    partial_.clear();
    flush_lines();
  }

  ledger::LogLine make_line(std::string message) {
    if (tail_wanted()) append_tail(message);
    return ledger::LogLine{now_ms(), std::move(message)};
  }

  void append_tail(std::string_view line) {
    tail_ += line;
    tail_ += '\n';
    if (tail_.size() > kLogTailBytes) tail_.erase(0, tail_.size() - kLogTailBytes);
  }

  // The engine's own lines wait in `lines_` and go to the journal with the
  // next batch: START with the function's first output (or with END), END
  // and REPORT with the usage record. One journal hand-off per invocation.
  void log_line(std::string message) {
    if (host_.journal().keeps_logs()) {
      lines_.push_back(make_line(std::move(message)));
    } else if (tail_wanted()) {
      append_tail(message);
    }
  }

  // Whether a line made now would be kept: by the log, or by the tail the
  // invocation in progress asked for. A journal that drops them (only
  // benchmarks make one) is not handed lines to drop, so that what
  // producing them costs counts as log capture's cost.
  bool lines_wanted() const { return host_.journal().keeps_logs() || tail_wanted(); }

  // Whether the invocation in progress asked for the tail of its log.
  bool tail_wanted() const { return current_ && current_->options.log_tail == LogTail::kTail; }

  void flush_lines(const UsageRecord* record = nullptr) {
    if (lines_.empty() && record == nullptr) return;
    // The journal copies the lines: they are freed here, where they were
    // made, and the vector keeps its capacity for the next invocation.
    if (record != nullptr) {
      fill_usage(*record, usage_);
      host_.journal().append(group(), stream_, lines_, &usage_);
    } else {
      host_.journal().append(group(), stream_, lines_, nullptr);
    }
    lines_.clear();
  }

  InstanceHost& host_;
  std::shared_ptr<FunctionState> function_;
  asio::io_context* loop_;
  bool shared_loop_ = false;
  bool starting_elsewhere_ = false;  // start_process() runs on the engine's thread
  asio::any_io_executor executor_;
  tcp::acceptor acceptor_;
  Signal work_;
  asio::steady_timer invoke_timer_;
  asio::steady_timer init_timer_;
  asio::posix::stream_descriptor log_pipe_;
  asio::posix::stream_descriptor exit_watch_;
  std::string id_;
  std::string group_;
  std::string stream_;
  fs::path scratch_;
  env::ChildProcess child_;
  std::unique_ptr<internal::InstanceCgroup> cgroup_;
  bool from_prepared_ = false;  // until its cold start is over
  std::vector<std::weak_ptr<tcp::socket>> connections_;
  int status_pipe_ = -1;
  int exec_errno_ = 0;
  std::uint64_t next_generation_ = 0;
  std::optional<uid_t> uid_;
  std::string partial_;
  std::vector<ledger::LogLine> lines_;
  // The last invocation's record, both forms, refilled for the next.
  UsageRecord usage_record_;
  ledger::Usage usage_;
  std::string tail_;
  // The Content-Type of a streamed answer, between its arrival and the result.
  std::optional<std::string> streamed_content_type_;
  std::string init_error_;
  std::shared_ptr<Invocation> current_;
  SteadyClock::time_point spawned_at_;
  SteadyClock::time_point delivered_at_;
  double init_duration_ms_ = 0;
  std::uint64_t oom_kills_at_start_ = 0;
  bool init_done_ = false;
  bool had_invocation_ = false;
  bool cold_ = false;
  bool stopping_ = false;
};

class EngineImpl final : public Engine, public InstanceHost {
 public:
  EngineImpl(EngineOptions options, ledger::Journal& journal)
      : options_(std::move(options)), journal_(&journal) {
    if (options_.memory_budget_mb == 0) {
      struct sysinfo info {};
      sysinfo(&info);
      options_.memory_budget_mb =
          static_cast<std::uint64_t>(info.totalram) * info.mem_unit / (1024 * 1024) * 3 / 4;
    }
    std::error_code absolute_error;
    options_.runtimes_dir = fs::absolute(options_.runtimes_dir, absolute_error).lexically_normal();
    cgroups_ = internal::CgroupPool::detect(fmt::format("nimbus-{}", getpid()), options_.cgroups);
    namespaces_ = options_.isolation == Isolation::kNamespaces && geteuid() == 0;
    if (!namespaces_) {
      spdlog::warn(
          "engine: functions run with process-level isolation only (own process group, working "
          "directory and rlimits): namespaces need root");
    }
    if (cgroups_->mode() == "none" && options_.cgroups != "none") {
      spdlog::warn("engine: no writable cgroup hierarchy: function memory limits are not enforced");
    } else if (cgroups_->mode() == "v2" && !cgroups_->limits_memory()) {
      spdlog::warn(
          "engine: cgroup v2 without the memory controller: function memory limits are "
          "not enforced");
    }
    errno = 0;
    nice_ = getpriority(PRIO_PROCESS, 0);
    if (errno != 0) nice_ = 0;
    if (namespaces_ && !options_.init_path.empty() && options_.prepared_sandboxes > 0) {
      internal::SandboxLayout layout{options_.init_path, options_.runtimes_dir,
                                     options_.hidden_paths, options_.work_dir / "instances"};
      sandbox_pool_ = std::make_unique<internal::SandboxPool>(
          std::move(layout), options_.prepared_sandboxes, *cgroups_,
          [this] { return acquire_uid(); }, [this](uid_t uid) { release_uid(uid); });
    }
    std::size_t threads = std::max<std::size_t>(1, options_.threads);
    for (std::size_t i = 0; i < threads; ++i) {
      contexts_.push_back(std::make_unique<asio::io_context>(1));
    }
    for (auto& context : contexts_) {
      guards_.push_back(asio::make_work_guard(*context));
      threads_.emplace_back([&context] { context->run(); });
    }
    reaper_ = std::make_unique<asio::steady_timer>(*contexts_.front());
    schedule_reaper();
  }

  ~EngineImpl() override { stop(); }

  Result<void> put_function(FunctionConfig config) override {
    if (config.memory_mb < 128 || config.memory_mb > 10240) {
      return AwsError::validation("MemorySize must be between 128 and 10240 MB");
    }
    if (config.timeout < std::chrono::seconds(1) || config.timeout > std::chrono::seconds(900)) {
      return AwsError::validation("Timeout must be between 1 and 900 seconds");
    }
    // Mount targets and LAMBDA_TASK_ROOT need absolute paths.
    std::error_code absolute_error;
    config.code_dir = fs::absolute(config.code_dir, absolute_error).lexically_normal();
    auto launch = internal::runtime_launch(config, options_);
    if (!launch) return launch.error();
    auto function = std::make_shared<FunctionState>();
    function->launch = std::move(*launch);
    std::string endpoint_url;
    {
      std::lock_guard lock(mutex_);
      endpoint_url = options_.endpoint_url;
    }
    function->environment = environment_for(config, function->launch, endpoint_url);
    function->config = std::move(config);
    std::string key = function->config.key();

    std::vector<std::shared_ptr<Instance>> to_stop;
    {
      std::lock_guard lock(mutex_);
      if (stopped_)
        return AwsError("ServiceException", "The engine is stopping.", 500, Fault::kServer);
      auto& slot = functions_[key];
      if (slot) {
        retire(*slot, to_stop);
        function->pending = std::move(slot->pending);
      }
      slot = function;
      ensure_capacity(function);
    }
    for (auto& instance : to_stop) instance->stop(options_.shutdown_grace);
    return ok();
  }

  void remove_function(const std::string& key) override {
    std::vector<std::shared_ptr<Instance>> to_stop;
    std::deque<std::shared_ptr<Invocation>> to_fail;
    {
      std::lock_guard lock(mutex_);
      auto it = functions_.find(key);
      if (it == functions_.end()) return;
      retire(*it->second, to_stop);
      to_fail = std::move(it->second->pending);
      in_use_ -= to_fail.size();
      functions_.erase(it);
    }
    for (auto& instance : to_stop) instance->stop(options_.shutdown_grace);
    for (auto& invocation : to_fail) {
      complete(invocation,
               AwsError("ResourceNotFoundException", "Function not found: " + key, 404));
    }
  }

  asio::awaitable<Result<InvokeResult>> invoke(std::string key, std::string payload,
                                               InvokeOptions options) override {
    if (payload.size() > kMaxSyncPayloadBytes) {
      co_return AwsError("RequestTooLargeException",
                         fmt::format("Request must be smaller than {} bytes for the InvokeFunction "
                                     "operation",
                                     kMaxSyncPayloadBytes),
                         413);
    }
    auto invocation = std::make_shared<Invocation>();
    invocation->request_id = options.request_id.empty() ? new_request_id() : options.request_id;
    if (options.trace_id.empty()) options.trace_id = trace_id_for(invocation->request_id);
    invocation->payload = std::move(payload);
    invocation->options = std::move(options);
    invocation->enqueued = SteadyClock::now();
    if (auto admitted = admit(key, invocation); !admitted) {
      if (admitted.error().http_status() == 429) {
        const auto colon = key.find(':');
        journal_->append_usage(throttle_usage(key.substr(0, colon),
                                              invoked_qualifier(invocation->options.invoked_arn),
                                              std::string_view(key).substr(colon + 1), now_us()));
      }
      co_return admitted.error();
    }
    co_await async_wait_completion(invocation, asio::use_awaitable);
    std::lock_guard lock(invocation->mutex);
    co_return std::move(invocation->result);
  }

  void set_endpoint_url(std::string url) override {
    std::lock_guard lock(mutex_);
    options_.endpoint_url = std::move(url);
  }

  void set_event_loops(std::vector<asio::io_context*> loops) override {
    std::lock_guard lock(mutex_);
    options_.event_loops = std::move(loops);
  }

  EngineStats stats() const override {
    std::lock_guard lock(mutex_);
    EngineStats stats = counters_;
    stats.isolation = namespaces_ ? "namespaces" : "process";
    stats.cgroups = cgroups_->mode();
    stats.functions = functions_.size();
    stats.instances = instances_.size();
    for (const auto& [key, function] : functions_) {
      stats.starting += function->starting;
      stats.idle += function->idle.size();
      stats.busy += function->busy;
      stats.pending += function->pending.size();
    }
    stats.memory_reserved_mb = memory_reserved_mb_;
    if (sandbox_pool_) stats.prepared_sandboxes = sandbox_pool_->ready();
    return stats;
  }

  void stop() override {
    std::vector<std::shared_ptr<Instance>> to_stop;
    std::vector<std::shared_ptr<Invocation>> to_fail;
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return;
      stopped_ = true;
      for (auto& [key, function] : functions_) {
        retire(*function, to_stop);
        for (auto& invocation : function->pending) to_fail.push_back(invocation);
        function->pending.clear();
      }
      for (auto& instance : instances_) to_stop.push_back(instance);
    }
    if (sandbox_pool_) sandbox_pool_->stop();
    for (auto& invocation : to_fail) {
      complete(invocation,
               AwsError("ServiceException", "Nimbus is shutting down.", 500, Fault::kServer));
    }
    for (auto& instance : to_stop) instance->stop(options_.shutdown_grace);
    // Wait for every instance to exit (each is killed after the grace period).
    auto deadline = SteadyClock::now() + options_.shutdown_grace + std::chrono::seconds(5);
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        if (instances_.empty()) break;
      }
      if (SteadyClock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    asio::post(*contexts_.front(), [this] { reaper_->cancel(); });
    for (auto& guard : guards_) guard.reset();
    for (auto& context : contexts_) context->stop();
    for (auto& thread : threads_) thread.join();
    threads_.clear();
    {
      std::lock_guard lock(mutex_);
      instances_.clear();
      functions_.clear();
    }
    journal_->flush();
  }

  // InstanceHost
  std::shared_ptr<Invocation> instance_ready(Instance& instance, bool& stop) override {
    std::lock_guard lock(mutex_);
    auto& function = *instance.function();
    switch (instance.state) {
      case InstanceState::kStarting:
        --function.starting;
        break;
      case InstanceState::kFinishing:
        --function.finishing;
        break;
      case InstanceState::kIdle:
        return nullptr;  // already waiting (a spurious wake-up)
      case InstanceState::kBusy:
      case InstanceState::kStopping:
      case InstanceState::kDead:
        stop = true;
        return nullptr;
    }
    if (function.retired || stopped_) {
      instance.state = InstanceState::kStopping;
      stop = true;
      return nullptr;
    }
    if (!function.pending.empty()) {
      auto invocation = std::move(function.pending.front());
      function.pending.pop_front();
      instance.state = InstanceState::kBusy;
      ++function.busy;
      return invocation;
    }
    instance.state = InstanceState::kIdle;
    instance.idle_since = SteadyClock::now();
    function.idle.push_back(instance.shared_from_this());
    return nullptr;
  }

  std::shared_ptr<Invocation> take_assigned(Instance& instance) override {
    std::lock_guard lock(mutex_);
    return std::move(instance.assigned);
  }

  bool finish(Instance& instance, const std::shared_ptr<Invocation>& invocation,
              bool keep) override {
    std::lock_guard lock(mutex_);
    if (instance.state != InstanceState::kBusy) return !invocation->completed.load();
    auto& function = *instance.function();
    --function.busy;
    --in_use_;
    ++counters_.invocations;
    if (keep && !function.retired && !stopped_) {
      instance.state = InstanceState::kFinishing;
      ++function.finishing;
    } else {
      instance.state = InstanceState::kStopping;
      ensure_capacity(instance.function());
    }
    return true;
  }

  void instance_failed_init(Instance& instance, std::string error_payload) override {
    std::vector<std::shared_ptr<Invocation>> to_fail;
    {
      std::lock_guard lock(mutex_);
      auto& function = *instance.function();
      if (instance.state == InstanceState::kStarting) {
        --function.starting;
        instance.state = InstanceState::kStopping;
        // The invocations this start was for fail with its error; the
        // others wait for instances still starting or about to be free.
        while (function.pending.size() > function.starting + function.finishing) {
          to_fail.push_back(std::move(function.pending.front()));
          function.pending.pop_front();
          --in_use_;
        }
      }
    }
    for (auto& invocation : to_fail) {
      InvokeResult result;
      result.request_id = invocation->request_id;
      result.payload = error_payload;
      result.function_error = "Unhandled";
      result.executed_version = instance.function()->config.version;
      result.cold_start = true;
      UsageRecord usage;
      usage.function = instance.function()->config.name;
      usage.version = instance.function()->config.version;
      usage.request_id = invocation->request_id;
      usage.start_time_us = now_us();
      usage.memory_mb = instance.function()->config.memory_mb;
      usage.architecture = instance.function()->config.architecture;
      usage.cold_start = true;
      usage.outcome = InvocationOutcome::kInitError;
      usage.bytes_in = invocation->payload.size();
      usage.concurrency = invocation->concurrency;
      usage.account_concurrency = invocation->account_concurrency;
      usage.unreserved_concurrency = invocation->unreserved_concurrency;
      journal_->append_usage(to_usage(usage));
      complete(invocation, std::move(result));
    }
  }

  void instance_exited(Instance& instance) override {
    std::shared_ptr<Invocation> orphan;
    {
      std::lock_guard lock(mutex_);
      orphan = exited_locked(instance);
    }
    if (orphan) {
      complete(orphan, AwsError("ServiceException", "The function's instance stopped.", 500,
                                Fault::kServer));
    }
  }

  // Under mutex_. Returns an invocation handed to the instance that it never
  // took and that cannot wait for another instance.
  std::shared_ptr<Invocation> exited_locked(Instance& instance) {
    std::shared_ptr<Invocation> orphan;
    auto& function = *instance.function();
    switch (instance.state) {
      case InstanceState::kStarting:
        --function.starting;
        break;
      case InstanceState::kIdle:
        std::erase_if(function.idle, [&](const auto& idle) { return idle.get() == &instance; });
        break;
      case InstanceState::kBusy:
        --function.busy;
        if (instance.assigned) {
          // Handed over but never fetched (the runtime died in between): it
          // goes back to the front of the queue, still counted as in use.
          if (function.retired || stopped_) {
            orphan = std::move(instance.assigned);
            --in_use_;
          } else {
            function.pending.push_front(std::move(instance.assigned));
          }
        } else {
          --in_use_;
        }
        break;
      case InstanceState::kFinishing:
        --function.finishing;
        break;
      case InstanceState::kStopping:
      case InstanceState::kDead:
        break;
    }
    instance.state = InstanceState::kDead;
    memory_reserved_mb_ -= instance.memory_mb;
    ++counters_.instance_exits;
    instances_.erase(instance.shared_from_this());
    ensure_capacity(instance.function());
    return orphan;
  }

  ledger::Journal& journal() override { return *journal_; }
  const EngineOptions& options() const override { return options_; }
  internal::CgroupPool& cgroups() override { return *cgroups_; }
  bool namespaces() const override { return namespaces_; }
  std::optional<uid_t> acquire_uid() override {
    std::lock_guard lock(mutex_);
    if (!free_uids_.empty()) {
      uid_t uid = free_uids_.back();
      free_uids_.pop_back();
      return uid;
    }
    if (next_uid_offset_ >= kSandboxUidCount) return std::nullopt;
    return kSandboxUidBase + next_uid_offset_++;
  }

  void release_uid(uid_t uid) override {
    std::lock_guard lock(mutex_);
    free_uids_.push_back(uid);
  }

  void count_cold_start() override {
    std::lock_guard lock(mutex_);
    ++counters_.cold_starts;
  }

  void count_prepared_start() override {
    std::lock_guard lock(mutex_);
    ++counters_.prepared_starts;
  }

  std::unique_ptr<internal::PreparedSandbox> take_prepared_sandbox() override {
    return sandbox_pool_ ? sandbox_pool_->take() : nullptr;
  }

  void refill_sandboxes() override {
    if (sandbox_pool_) sandbox_pool_->refill();
  }

  int nice() const override { return nice_; }
  asio::any_io_executor blocking_executor() override { return contexts_.front()->get_executor(); }

 private:
  Result<void> admit(const std::string& key, const std::shared_ptr<Invocation>& invocation) {
    std::shared_ptr<Instance> wake;
    {
      std::lock_guard lock(mutex_);
      auto it = functions_.find(key);
      if (it == functions_.end() || stopped_) {
        return AwsError("ResourceNotFoundException", "Function not found: " + key, 404);
      }
      auto& function = *it->second;
      // An instance that has just answered asks for its next event within
      // microseconds; waiting for it keeps one process hot instead of
      // rotating work through every idle one (cold caches, cold JIT).
      const bool finishing_instance_free = function.finishing > function.pending.size();
      // Reserved concurrency is the function's, shared by all its versions.
      if (function.config.reserved_concurrency &&
          in_use_by_function(function.config.name) >= *function.config.reserved_concurrency) {
        ++counters_.throttles;
        return throttled("ReservedFunctionConcurrentInvocationLimitExceeded");
      }
      if (!function.idle.empty() && !finishing_instance_free) {
        // The most recently used, preferring one on the caller's loop.
        auto chosen = function.idle.end() - 1;
        if (!options_.event_loops.empty()) {
          for (auto it = function.idle.end(); it != function.idle.begin();) {
            if ((*--it)->on_this_thread()) {
              chosen = it;
              break;
            }
          }
        }
        wake = std::move(*chosen);
        function.idle.erase(chosen);
        wake->state = InstanceState::kBusy;
        wake->assigned = invocation;
        ++function.busy;
        ++in_use_;
        count_concurrency(function, *invocation);
      } else {
        if (in_use_ >= options_.max_concurrency) {
          ++counters_.throttles;
          return throttled("ConcurrentInvocationLimitExceeded");
        }
        function.pending.push_back(invocation);
        ++in_use_;
        if (function.starting + function.finishing < function.pending.size() &&
            !start_instance(it->second)) {
          function.pending.pop_back();
          --in_use_;
          ++counters_.throttles;
          return throttled("ConcurrentInvocationLimitExceeded");
        }
        count_concurrency(function, *invocation);
      }
    }
    if (wake) wake->wake();
    return ok();
  }

  // Under mutex_, as `invocation` of `function` is admitted: what is in
  // flight, it included, for CloudWatch's concurrency metrics.
  void count_concurrency(const FunctionState& function, Invocation& invocation) {
    invocation.concurrency = in_use_by_function(function.config.name);
    // In flight as invoked: counted from admission to completion, per
    // "<name>:<qualifier>" and, for an alias, "<name>:<alias>:<version>".
    const std::string_view qualifier = invoked_qualifier(invocation.options.invoked_arn);
    auto in_flight = [&](std::string key) {
      auto& counter = in_flight_by_resource_[std::move(key)];
      if (!counter) counter = std::make_shared<std::atomic<std::uint32_t>>(0);
      return counter;
    };
    std::string resource = concat({function.config.name, ":", qualifier});
    if (is_alias_qualifier(qualifier)) {
      invocation.executed_version_in_flight =
          in_flight(concat({resource, ":", function.config.version}));
      invocation.executed_version_concurrency =
          invocation.executed_version_in_flight->fetch_add(1) + 1;
    }
    invocation.resource_in_flight = in_flight(std::move(resource));
    invocation.resource_concurrency = invocation.resource_in_flight->fetch_add(1) + 1;
    invocation.account_concurrency = static_cast<std::uint32_t>(in_use_);
    // Reserved concurrency can change while invocations run: counted now,
    // not kept as a running total.
    std::uint64_t reserved = 0;
    for (const auto& [key, other] : functions_) {
      if (other->config.reserved_concurrency) {
        reserved += other->busy + other->pending.size();
      }
    }
    invocation.unreserved_concurrency = static_cast<std::uint32_t>(in_use_ - reserved);
  }

  // Under mutex_: invocations running or queued for any version of the
  // function (engine keys are "name:version"; names contain no ':').
  std::uint32_t in_use_by_function(const std::string& name) const {
    std::uint32_t total = 0;
    const std::string prefix = name + ":";
    for (auto it = functions_.lower_bound(prefix);
         it != functions_.end() && it->first.starts_with(prefix); ++it) {
      total += it->second->busy + static_cast<std::uint32_t>(it->second->pending.size());
    }
    return total;
  }

  // Under mutex_. Starts an instance if memory allows, evicting idle
  // instances of other functions (least recently used first) to make room.
  bool start_instance(const std::shared_ptr<FunctionState>& function) {
    std::uint32_t memory = function->config.memory_mb;
    while (memory_reserved_mb_ + memory > options_.memory_budget_mb) {
      std::shared_ptr<Instance> oldest;
      for (auto& [key, other] : functions_) {
        if (other == function || other->idle.empty()) continue;
        if (!oldest || other->idle.front()->idle_since < oldest->idle_since) {
          oldest = other->idle.front();
        }
      }
      if (!oldest) return false;
      auto& owner = *oldest->function();
      owner.idle.erase(owner.idle.begin());
      oldest->state = InstanceState::kStopping;
      memory_reserved_mb_ -= oldest->memory_mb;
      oldest->memory_mb = 0;
      oldest->stop(options_.shutdown_grace);
    }
    // On the caller's loop when it is a shared one (an invocation and its
    // answer then cross no thread), else the next loop in turn.
    asio::io_context* context = nullptr;
    for (auto* loop : options_.event_loops) {
      if (loop->get_executor().running_in_this_thread()) context = loop;
    }
    const bool shared = !options_.event_loops.empty();
    if (context == nullptr) {
      context = shared ? options_.event_loops[next_context_++ % options_.event_loops.size()]
                       : contexts_[next_context_++ % contexts_.size()].get();
    }
    auto instance = std::make_shared<Instance>(*this, function, *context, shared);
    instance->memory_mb = memory;
    memory_reserved_mb_ += memory;
    ++function->starting;
    instances_.insert(instance);
    instance->launch();
    return true;
  }

  // Under mutex_: enough instances starting for what is pending, and the
  // provisioned number kept initialised. A function no longer registered is
  // retired, so it gets nothing.
  void ensure_capacity(const std::shared_ptr<FunctionState>& function) {
    if (function->retired || stopped_) return;
    // Work queued for an instance that is gone goes to an idle one first.
    while (!function->pending.empty() && !function->idle.empty() &&
           function->finishing < function->pending.size()) {
      auto instance = std::move(function->idle.back());
      function->idle.pop_back();
      instance->state = InstanceState::kBusy;
      instance->assigned = std::move(function->pending.front());
      function->pending.pop_front();
      ++function->busy;
      instance->wake_later();
    }
    while (function->starting + function->finishing < function->pending.size()) {
      if (!start_instance(function)) break;
    }
    while (function->live() < function->config.provisioned_concurrency) {
      if (!start_instance(function)) break;
    }
  }

  // Under mutex_: the function's instances are not reused.
  void retire(FunctionState& function, std::vector<std::shared_ptr<Instance>>& to_stop) {
    function.retired = true;
    for (auto& instance : function.idle) {
      instance->state = InstanceState::kStopping;
      to_stop.push_back(instance);
    }
    function.idle.clear();
  }

  void schedule_reaper() {
    reaper_->expires_after(std::chrono::milliseconds(100));
    reaper_->async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      reap_idle();
      schedule_reaper();
    });
  }

  // Scale to zero: idle instances past their function's idle timeout stop,
  // except the provisioned ones.
  void reap_idle() {
    std::vector<std::shared_ptr<Instance>> to_stop;
    {
      std::lock_guard lock(mutex_);
      auto now = SteadyClock::now();
      for (auto& [key, function] : functions_) {
        auto timeout = function->idle_timeout(options_.idle_timeout);
        // Oldest first: the front of the idle list was used least recently.
        while (!function->idle.empty() &&
               function->live() > function->config.provisioned_concurrency &&
               now - function->idle.front()->idle_since >= timeout) {
          auto instance = std::move(function->idle.front());
          function->idle.erase(function->idle.begin());
          instance->state = InstanceState::kStopping;
          to_stop.push_back(std::move(instance));
        }
      }
    }
    for (auto& instance : to_stop) instance->stop(options_.shutdown_grace);
  }

  std::vector<std::string> environment_for(const FunctionConfig& config,
                                           const internal::RuntimeLaunch& launch,
                                           const std::string& endpoint_url) const {
    std::map<std::string, std::string> vars;
    for (const auto& [name, value] : config.environment) vars[name] = value;
    std::string task_root = config.code_dir.string();
    // Lambda's reserved variables win over the function's own.
    vars["PATH"] = "/usr/local/bin:/usr/bin:/bin:/opt/bin";
    vars["LD_LIBRARY_PATH"] =
        fmt::format("{0}:{0}/lib:{1}:{1}/lib:/opt/lib", task_root, launch.runtime_dir);
    vars["LANG"] = "en_US.UTF-8";
    vars["TZ"] = ":UTC";
    vars["_HANDLER"] = config.handler;
    vars["LAMBDA_TASK_ROOT"] = task_root;
    vars["LAMBDA_RUNTIME_DIR"] = launch.runtime_dir;
    vars["AWS_REGION"] = options_.region;
    vars["AWS_DEFAULT_REGION"] = options_.region;
    vars["AWS_LAMBDA_FUNCTION_NAME"] = config.name;
    vars["AWS_LAMBDA_FUNCTION_VERSION"] = config.version;
    vars["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = std::to_string(config.memory_mb);
    vars["AWS_LAMBDA_LOG_GROUP_NAME"] = "/aws/lambda/" + config.name;
    vars["AWS_LAMBDA_INITIALIZATION_TYPE"] =
        config.provisioned_concurrency > 0 ? "provisioned-concurrency" : "on-demand";
    if (!launch.execution_env.empty()) vars["AWS_EXECUTION_ENV"] = launch.execution_env;
    vars["AWS_ACCESS_KEY_ID"] = options_.access_key_id;
    vars["AWS_SECRET_ACCESS_KEY"] = options_.secret_access_key;
    vars["AWS_SESSION_TOKEN"] = "nimbus";
    if (!endpoint_url.empty()) vars["AWS_ENDPOINT_URL"] = endpoint_url;
    std::vector<std::string> environment;
    for (const auto& [name, value] : vars) environment.push_back(name + "=" + value);
    return environment;
  }

  EngineOptions options_;
  ledger::Journal* journal_;
  std::unique_ptr<internal::CgroupPool> cgroups_;
  bool namespaces_ = false;
  int nice_ = 0;
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  std::unique_ptr<asio::steady_timer> reaper_;

  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<FunctionState>> functions_;
  std::set<std::shared_ptr<Instance>> instances_;
  std::size_t next_context_ = 0;
  std::uint64_t in_use_ = 0;
  // Invocations in flight by the function as invoked (count_concurrency).
  std::unordered_map<std::string, std::shared_ptr<std::atomic<std::uint32_t>>>
      in_flight_by_resource_;
  std::uint64_t memory_reserved_mb_ = 0;
  EngineStats counters_;
  bool stopped_ = false;
  // Sandbox users: one per live instance, from a range no distribution
  // assigns (far above the subordinate-uid ranges user namespaces use).
  static constexpr uid_t kSandboxUidBase = 2'000'000'000;
  static constexpr uid_t kSandboxUidCount = 65'536;
  std::vector<uid_t> free_uids_;
  uid_t next_uid_offset_ = 0;
  // Last, so it goes first: its thread takes and gives back user ids.
  std::unique_ptr<internal::SandboxPool> sandbox_pool_;
};

}  // namespace

Result<std::unique_ptr<Engine>> Engine::start(EngineOptions options, ledger::Journal& journal) {
  std::error_code ec;
  // Scratch left by a server that was killed: no instance of it runs any
  // more (the data directory is this server's alone).
  fs::remove_all(options.work_dir / "instances", ec);
  fs::create_directories(options.work_dir / "instances", ec);
  if (ec) {
    return AwsError::internal(fmt::format("cannot create {}: {}",
                                          (options.work_dir / "instances").string(), ec.message()));
  }
  return std::unique_ptr<Engine>(new EngineImpl(std::move(options), journal));
}

}  // namespace nimbus::engine

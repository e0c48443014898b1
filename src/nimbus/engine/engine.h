#pragma once

// The functions engine: runs user code as OS processes ("instances") that
// fetch events and return results through the AWS Lambda Runtime API
// (2018-06-01). Instances start on demand, are reused while warm, scale out
// up to concurrency limits and stop after an idle timeout.
//
// invoke() is the one way every service runs a function. It is an awaitable
// that resumes on the caller's executor with the function's result, a
// function error (in the result, as Lambda reports it), or an AwsError when
// the engine refused or could not run the invocation (unknown function,
// throttled, payload too large).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "nimbus/core/result.h"

namespace boost::asio {
class io_context;
}

namespace nimbus::ledger {
class Journal;
}

namespace nimbus::engine {

struct FunctionConfig {
  std::string name;
  std::string version = "$LATEST";
  std::string arn;                 // unqualified function ARN
  std::string runtime;             // "provided.al2023", "nodejs20.x", "python3.12", ...
  std::string handler;             // "index.handler"; ignored by provided runtimes
  std::filesystem::path code_dir;  // the unpacked code; never written to
  std::uint32_t memory_mb = 128;
  std::string architecture = "x86_64";  // or "arm64": priced differently, run natively
  std::chrono::milliseconds timeout{3000};
  std::vector<std::pair<std::string, std::string>> environment;
  // The function's, counted across every version with the same name.
  std::optional<std::uint32_t> reserved_concurrency;
  std::optional<std::chrono::milliseconds> idle_timeout;  // default: the engine's
  std::uint32_t provisioned_concurrency = 0;

  // The engine's key for this function: "name:version".
  std::string key() const { return name + ":" + version; }
};

enum class LogTail { kNone, kTail };

// Receives a streamed answer (Lambda-Runtime-Function-Response-Mode:
// streaming) as the runtime sends it, before invoke() completes with the
// whole of it. Called on an engine thread: must not block.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  virtual void stream_started(std::string_view content_type) = 0;
  virtual void stream_bytes(std::string_view bytes) = 0;
};

struct InvokeOptions {
  std::string request_id;        // empty: the engine makes one
  std::string invoked_arn;       // Lambda-Runtime-Invoked-Function-Arn; empty: the function's
  std::string client_context;    // JSON, as the Runtime API's header carries it
  std::string cognito_identity;  // JSON, passed through
  std::string trace_id;          // X-Amzn-Trace-Id; empty: the engine makes one
  LogTail log_tail = LogTail::kNone;
  // Set to receive a streamed answer as it arrives.
  std::shared_ptr<ResponseSink> response_sink;
};

struct InvokeResult {
  std::string request_id;
  std::string payload;
  // "" on success; "Unhandled" when the function (or its runtime) failed,
  // in which case `payload` is the error document Lambda returns.
  std::string function_error;
  std::string log_tail;  // the last 4 KB of this invocation's log, when asked for
  // Set when the runtime streamed its answer (Lambda-Runtime-Function-
  // Response-Mode: streaming), with the Content-Type it declared.
  bool streamed = false;
  std::string content_type;
  std::string executed_version;
  double duration_ms = 0;
  std::uint64_t billed_duration_ms = 0;
  bool cold_start = false;
  double init_duration_ms = 0;
};

enum class Isolation {
  kNamespaces,  // own mount/PID/IPC/UTS namespaces, private /tmp, read-only code (needs root)
  kProcess,     // own process group, working directory and rlimits only
};

struct EngineOptions {
  std::filesystem::path work_dir;      // instance scratch space (<data-dir>/engine)
  std::filesystem::path runtimes_dir;  // the shipped runtime clients (runtimes/)
  std::string node_path = "/usr/bin/node";
  std::string python_path = "/usr/bin/python3";
  // nimbus-init, pid 1 of each instance's PID namespace; empty: no PID namespace.
  std::filesystem::path init_path;
  // Paths instances must not see (the data directory: other functions' code,
  // the store), covered by an empty tmpfs in their mount namespace.
  std::vector<std::filesystem::path> hidden_paths;
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::string endpoint_url;  // AWS_ENDPOINT_URL given to functions: Nimbus itself
  std::string access_key_id = "test";
  std::string secret_access_key = "test";
  std::size_t threads = 1;  // event loops serving instances' Runtime API connections
  std::uint32_t max_concurrency = 1000;
  std::uint64_t memory_budget_mb = 0;  // 0: three quarters of physical memory
  std::chrono::milliseconds idle_timeout{300'000};
  std::chrono::milliseconds init_timeout{10'000};
  std::chrono::milliseconds shutdown_grace{500};
  Isolation isolation = Isolation::kNamespaces;  // falls back to kProcess if not permitted
  // Sandboxes (namespaces, mounts, nimbus-init) kept ready for cold starts,
  // so a cold start does not wait for them; 0: each is made when needed.
  std::size_t prepared_sandboxes = 2;
  // Which cgroup hierarchy holds instances: "auto" (v1 where its memory
  // controller is mounted, else v2), "v1", "v2" (taken even without the
  // memory controller, whose limits then go unenforced) or "none".
  std::string cgroups = "auto";
  // Event loops of the caller's (the HTTP server's: one thread each) that
  // instances may live on: an instance started by an invocation from one of
  // them runs there, so that invocation and its answer cross no thread. The
  // engine's own thread keeps the blocking work (spawning, cgroups, scratch
  // directories). They must keep running until stop() has returned.
  std::vector<boost::asio::io_context*> event_loops;
};

struct EngineStats {
  std::string isolation;  // what is in force: "namespaces" or "process"
  std::string cgroups;    // "v2", "v1" or "none"
  std::uint64_t functions = 0;
  std::uint64_t instances = 0;
  std::uint64_t starting = 0;
  std::uint64_t idle = 0;
  std::uint64_t busy = 0;
  std::uint64_t pending = 0;
  std::uint64_t memory_reserved_mb = 0;
  std::uint64_t invocations = 0;
  std::uint64_t cold_starts = 0;
  std::uint64_t prepared_starts = 0;     // cold starts in a sandbox prepared ahead of need
  std::uint64_t prepared_sandboxes = 0;  // sandboxes ready for the next cold starts
  std::uint64_t throttles = 0;
  std::uint64_t instance_exits = 0;
};

class Engine {
 public:
  // Starts the engine's threads. `journal` receives function logs and usage
  // records (docs/formats/ledger.md) and must outlive the engine.
  static Result<std::unique_ptr<Engine>> start(EngineOptions options, ledger::Journal& journal);
  virtual ~Engine() = default;

  // Adds or replaces a function. Instances of a replaced configuration finish
  // what they are doing and are not reused.
  virtual Result<void> put_function(FunctionConfig config) = 0;
  // Stops the function's instances; pending invocations fail.
  virtual void remove_function(const std::string& key) = 0;

  virtual boost::asio::awaitable<Result<InvokeResult>> invoke(std::string key, std::string payload,
                                                              InvokeOptions options) = 0;

  virtual EngineStats stats() const = 0;

  // Where functions' SDKs should call (AWS_ENDPOINT_URL), once the server
  // knows its bound address. Applies to functions put after the call.
  virtual void set_endpoint_url(std::string url) = 0;
  // EngineOptions::event_loops, once the server has them (its HTTP threads
  // start after the engine). Applies to instances started after the call.
  virtual void set_event_loops(std::vector<boost::asio::io_context*> loops) = 0;

  // Stops every instance (SIGTERM, then SIGKILL after the grace period),
  // fails what is pending, flushes logs and usage records, joins the
  // threads. Blocks; idempotent.
  virtual void stop() = 0;
};

// The Lambda runtime identifiers the engine can run ("nodejs20.x", ...).
std::vector<std::string> supported_runtimes();

// Largest synchronous invocation request and response, as Lambda's.
inline constexpr std::size_t kMaxSyncPayloadBytes = 6 * 1024 * 1024;
// Largest streamed response (Lambda's soft limit for response streaming).
inline constexpr std::size_t kMaxStreamedPayloadBytes = 20 * 1024 * 1024;

}  // namespace nimbus::engine

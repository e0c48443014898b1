// The engine with real processes: a native function built on the shipped C++
// runtime, the bash tutorial runtime with curl, and the shipped node and
// python runtime clients.

#include "nimbus/engine/engine.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include "nimbus/core/strings.h"
#include "nimbus/engine/usage_record.h"
#include "nimbus/ledger/journal.h"
#include "nimbus/storage/test_store.h"

namespace nimbus::engine {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::permissions(dir_.path(), fs::perms::owner_all | fs::perms::group_read |
                                     fs::perms::group_exec | fs::perms::others_read |
                                     fs::perms::others_exec);
    store_ = storage::open_store(dir_.path() / "store");
    auto journal = ledger::Journal::open(*store_);
    ASSERT_TRUE(journal);
    journal_ = std::move(*journal);
  }
  void TearDown() override {
    if (engine_) engine_->stop();
  }

  void start(EngineOptions options = {}) {
    options.work_dir = dir_.path() / "engine";
    options.runtimes_dir = NIMBUS_RUNTIMES_DIR;
    options.init_path = NIMBUS_INIT_PATH;
    options.endpoint_url = "http://127.0.0.1:4566";
    if (options.idle_timeout == 300'000ms) options.idle_timeout = 60s;
    auto engine = Engine::start(options, *journal_);
    ASSERT_TRUE(engine) << engine.error().message();
    engine_ = std::move(*engine);
  }

  // A code directory readable by the unprivileged user functions run as.
  fs::path code_dir(const std::string& name) {
    fs::path dir = dir_.path() / "code" / name;
    fs::create_directories(dir);
    return dir;
  }

  void write_file(const fs::path& path, const std::string& text, bool executable = false) {
    std::ofstream(path) << text;
    if (executable)
      fs::permissions(path, fs::perms::owner_all | fs::perms::others_read | fs::perms::others_exec |
                                fs::perms::group_read | fs::perms::group_exec);
  }

  FunctionConfig native(const std::string& name) {
    fs::path code = code_dir(name);
    fs::copy_file(NIMBUS_NATIVE_ECHO, code / "bootstrap");
    FunctionConfig config;
    config.name = name;
    config.arn = "arn:aws:lambda:us-east-1:000000000000:function:" + name;
    config.runtime = "provided.al2023";
    config.handler = "unused";
    config.code_dir = code;
    config.timeout = 2s;
    return config;
  }

  FunctionConfig script(const std::string& name, const std::string& runtime,
                        const std::string& handler, const std::string& file,
                        const std::string& text) {
    fs::path code = code_dir(name);
    write_file(code / file, text, true);
    FunctionConfig config;
    config.name = name;
    config.arn = "arn:aws:lambda:us-east-1:000000000000:function:" + name;
    config.runtime = runtime;
    config.handler = handler;
    config.code_dir = code;
    config.timeout = 5s;
    return config;
  }

  Result<InvokeResult> invoke(const std::string& key, std::string payload,
                              InvokeOptions options = {}) {
    asio::io_context io;
    auto future = asio::co_spawn(io, engine_->invoke(key, std::move(payload), std::move(options)),
                                 asio::use_future);
    io.run();
    return future.get();
  }

  // An invocation that asks for the tail of its log (LogType: Tail).
  Result<InvokeResult> invoke_with_tail(const std::string& key, std::string payload) {
    InvokeOptions options;
    options.log_tail = LogTail::kTail;
    return invoke(key, std::move(payload), std::move(options));
  }

  std::vector<Result<InvokeResult>> invoke_many(const std::string& key,
                                                std::vector<std::string> payloads) {
    asio::io_context io;
    std::vector<std::future<Result<InvokeResult>>> futures;
    for (auto& payload : payloads) {
      futures.push_back(asio::co_spawn(
          io, engine_->invoke(key, std::move(payload), InvokeOptions{}), asio::use_future));
    }
    io.run();
    std::vector<Result<InvokeResult>> results;
    for (auto& future : futures) results.push_back(future.get());
    return results;
  }

  std::vector<ledger::LogEvent> logs(const std::string& name) {
    auto events = ledger::Journal::read_logs(*store_, "/aws/lambda/" + name);
    EXPECT_TRUE(events);
    return events ? *events : std::vector<ledger::LogEvent>{};
  }

  storage::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<ledger::Journal> journal_;
  std::unique_ptr<Engine> engine_;
};

json::object parse(const std::string& text) { return json::parse(text).as_object(); }

// Every process's environment on the machine, as NAME=value entries.
std::vector<std::vector<std::string>> process_environments() {
  std::vector<std::vector<std::string>> all;
  for (const auto& proc : fs::directory_iterator("/proc")) {
    std::ifstream in(proc.path() / "environ", std::ios::binary);
    std::vector<std::string> entries;
    std::string entry;
    while (std::getline(in, entry, '\0')) entries.push_back(entry);
    all.push_back(std::move(entries));
  }
  return all;
}

// Whether any process on the machine has this NAME=value in its environment.
bool process_with_env(const std::string& entry) {
  for (const auto& environment : process_environments()) {
    if (std::find(environment.begin(), environment.end(), entry) != environment.end()) return true;
  }
  return false;
}

// The value of `name` in the environment of the first process that has the
// entry `marker` (NAME=value) in its own.
std::string env_of_process_with(const std::string& marker, const std::string& name) {
  for (const auto& environment : process_environments()) {
    if (std::find(environment.begin(), environment.end(), marker) == environment.end()) continue;
    for (const auto& entry : environment) {
      if (entry.starts_with(name + "=")) return entry.substr(name.size() + 1);
    }
  }
  return {};
}

TEST_F(EngineTest, NativeRoundTripColdThenWarm) {
  start();
  auto config = native("echo");
  ASSERT_TRUE(engine_->put_function(config));
  auto first = invoke(config.key(), R"({"op":"echo","n":1})");
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(first->payload, R"({"op":"echo","n":1})");
  EXPECT_EQ(first->function_error, "");
  EXPECT_TRUE(first->cold_start);
  EXPECT_GT(first->init_duration_ms, 0);
  EXPECT_EQ(first->executed_version, "$LATEST");
  EXPECT_GE(first->billed_duration_ms, 1u);
  auto second = invoke(config.key(), R"({"op":"echo","n":2})");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->payload, R"({"op":"echo","n":2})");
  EXPECT_FALSE(second->cold_start);
  EXPECT_NE(first->request_id, second->request_id);
  auto stats = engine_->stats();
  EXPECT_EQ(stats.instances, 1u);
  EXPECT_EQ(stats.cold_starts, 1u);
  EXPECT_EQ(stats.invocations, 2u);
}

TEST_F(EngineTest, EnvironmentIsLambdasAndDeadlineIsEpochMillis) {
  start();
  auto config = native("envfn");
  config.memory_mb = 256;
  config.environment = {{"MY_SETTING", "on"}, {"AWS_REGION", "overridden?"}};
  ASSERT_TRUE(engine_->put_function(config));
  InvokeOptions options;
  options.invoked_arn = config.arn + ":prod";
  auto result = invoke(config.key(), R"({"op":"env"})", options);
  ASSERT_TRUE(result);
  auto env = parse(result->payload);
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_NAME"], "envfn");
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
  EXPECT_EQ(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
  EXPECT_EQ(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/envfn");
  EXPECT_TRUE(json::value_to<std::string>(env["AWS_LAMBDA_LOG_STREAM_NAME"]).find("/[$LATEST]") !=
              std::string::npos);
  EXPECT_EQ(env["AWS_REGION"], "us-east-1");  // reserved: the function cannot override it
  EXPECT_EQ(env["MY_SETTING"], "on");
  EXPECT_EQ(env["TZ"], ":UTC");
  EXPECT_EQ(env["HOME"], "");  // nothing inherited from the server
  EXPECT_EQ(env["AWS_ENDPOINT_URL"], "http://127.0.0.1:4566");
  EXPECT_EQ(json::value_to<std::string>(env["LAMBDA_TASK_ROOT"]), config.code_dir.string());
  EXPECT_EQ(json::value_to<std::string>(env["arn"]), config.arn + ":prod");
  auto remaining = env["remaining"].to_number<std::int64_t>();
  EXPECT_GT(remaining, 1000);  // a 2 s timeout, as Unix epoch milliseconds
  EXPECT_LE(remaining, 2000);
  if (geteuid() == 0) {
    EXPECT_EQ(env["pid"].to_number<int>(), 2);  // its own PID namespace, under nimbus-init
    EXPECT_GE(env["uid"].to_number<std::int64_t>(), 2'000'000'000);  // a sandbox user of its own
  }
}

TEST_F(EngineTest, FunctionErrorIsReportedAsLambdaDoes) {
  start();
  auto config = native("failing");
  ASSERT_TRUE(engine_->put_function(config));
  auto result = invoke(config.key(), R"({"op":"fail"})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->function_error, "Unhandled");
  auto error = parse(result->payload);
  EXPECT_EQ(error["errorType"], "TestError");
  EXPECT_EQ(error["errorMessage"], "failed on purpose");
  // The instance survives a reported error.
  auto next = invoke(config.key(), R"({"op":"echo"})");
  ASSERT_TRUE(next);
  EXPECT_FALSE(next->cold_start);
}

TEST_F(EngineTest, TimeoutKillsTheInstanceAndSaysSo) {
  start();
  auto config = native("slow");
  config.timeout = 1s;
  ASSERT_TRUE(engine_->put_function(config));
  auto result = invoke(config.key(), R"({"op":"sleep"})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->function_error, "Unhandled");
  auto error = parse(result->payload);
  EXPECT_EQ(error["errorType"], "Sandbox.Timedout");
  EXPECT_EQ(json::value_to<std::string>(error["errorMessage"]),
            "RequestId: " + result->request_id + " Error: Task timed out after 1.00 seconds");
  // The next invocation gets a fresh instance.
  auto next = invoke(config.key(), R"({"op":"echo"})");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->function_error, "");
  EXPECT_TRUE(next->cold_start);
}

TEST_F(EngineTest, CrashDuringInvokeFailsOnlyThatInvocation) {
  start();
  auto config = native("crashy");
  ASSERT_TRUE(engine_->put_function(config));
  auto result = invoke(config.key(), R"({"op":"crash"})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->function_error, "Unhandled");
  auto error = parse(result->payload);
  EXPECT_EQ(error["errorType"], "Runtime.ExitError");
  EXPECT_EQ(
      json::value_to<std::string>(error["errorMessage"]),
      "RequestId: " + result->request_id + " Error: Runtime exited with error: signal: aborted");
  auto next = invoke(config.key(), R"({"op":"echo"})");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->payload, R"({"op":"echo"})");
}

TEST_F(EngineTest, InitErrorPostedByTheRuntimeIsReturned) {
  start();
  auto config =
      script("initerror", "provided", "x", "bootstrap",
             "#!/bin/bash\ncurl -sS -X POST -H 'Lambda-Runtime-Function-Error-Type: "
             "Runtime.ImportModuleError' -d '{\"errorType\":\"Runtime.ImportModuleError\","
             "\"errorMessage\":\"no module\"}' "
             "\"http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/init/error\"\nsleep 5\n");
  ASSERT_TRUE(engine_->put_function(config));
  auto result = invoke(config.key(), "{}");
  ASSERT_TRUE(result);
  auto error = parse(result->payload);
  EXPECT_EQ(error["errorType"], "Runtime.ImportModuleError");
  EXPECT_EQ(error["errorMessage"], "no module");
}

TEST_F(EngineTest, OversizedResponseIsRefused) {
  start();
  auto config = native("big");
  ASSERT_TRUE(engine_->put_function(config));
  auto result = invoke(config.key(), R"({"op":"big"})");
  ASSERT_TRUE(result);
  EXPECT_EQ(parse(result->payload)["errorType"], "Function.ResponseSizeTooLarge");
}

TEST_F(EngineTest, OversizedRequestIsRefusedBeforeAnythingRuns) {
  start();
  auto config = native("bigin");
  ASSERT_TRUE(engine_->put_function(config));
  auto result = invoke(config.key(), std::string(kMaxSyncPayloadBytes + 1, 'x'));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), "RequestTooLargeException");
  EXPECT_EQ(result.error().http_status(), 413);
  EXPECT_EQ(engine_->stats().instances, 0u);
}

TEST_F(EngineTest, UnknownFunctionIsResourceNotFound) {
  start();
  auto result = invoke("nope:$LATEST", "{}");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), "ResourceNotFoundException");
}

TEST_F(EngineTest, UnknownRuntimeIsRefused) {
  start();
  auto config = native("cobol");
  config.runtime = "cobol85";
  auto put = engine_->put_function(config);
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code(), "InvalidRuntimeException");
}

TEST_F(EngineTest, ConcurrentInvocationsScaleOutAndEachGetsItsOwnResult) {
  start();
  auto config = native("parallel");
  ASSERT_TRUE(engine_->put_function(config));
  std::vector<std::string> payloads;
  for (int i = 0; i < 40; ++i) payloads.push_back(fmt::format(R"({{"op":"echo","i":{}}})", i));
  auto results = invoke_many(config.key(), payloads);
  std::set<std::string> ids;
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(results[i]) << results[i].error().message();
    EXPECT_EQ(results[i]->payload, fmt::format(R"({{"op":"echo","i":{}}})", i));
    ids.insert(results[i]->request_id);
  }
  EXPECT_EQ(ids.size(), 40u);
  auto stats = engine_->stats();
  EXPECT_GE(stats.instances, 1u);
  EXPECT_LE(stats.instances, 40u);
  EXPECT_EQ(stats.invocations, 40u);
}

TEST_F(EngineTest, ReservedConcurrencyThrottlesTheExcess) {
  start();
  auto config = native("reserved");
  config.reserved_concurrency = 2;
  config.timeout = 1s;
  ASSERT_TRUE(engine_->put_function(config));
  auto results = invoke_many(config.key(), {R"({"op":"sleep"})", R"({"op":"sleep"})",
                                            R"({"op":"sleep"})", R"({"op":"sleep"})"});
  int throttled = 0;
  int ran = 0;
  for (auto& result : results) {
    if (!result) {
      EXPECT_EQ(result.error().code(), "TooManyRequestsException");
      EXPECT_EQ(result.error().http_status(), 429);
      ASSERT_EQ(result.error().fields().size(), 1u);
      EXPECT_EQ(result.error().fields()[0].second,
                "ReservedFunctionConcurrentInvocationLimitExceeded");
      ++throttled;
    } else {
      ++ran;
    }
  }
  EXPECT_EQ(ran, 2);
  EXPECT_EQ(throttled, 2);
}

TEST_F(EngineTest, ReservedConcurrencyCountsEveryVersionOfTheFunction) {
  start();
  auto latest = native("versions");
  latest.reserved_concurrency = 1;
  latest.timeout = 1s;
  auto published = latest;
  published.version = "1";
  ASSERT_TRUE(engine_->put_function(latest));
  ASSERT_TRUE(engine_->put_function(published));
  asio::io_context io;
  auto first =
      asio::co_spawn(io, engine_->invoke(latest.key(), R"({"op":"sleep"})", {}), asio::use_future);
  auto second = asio::co_spawn(io, engine_->invoke(published.key(), R"({"op":"sleep"})", {}),
                               asio::use_future);
  io.run();
  auto a = first.get();
  auto b = second.get();
  // One of the two runs (and times out); the other is over the function's reservation.
  ASSERT_NE(a.has_value(), b.has_value());
  const auto& refused = a ? b.error() : a.error();
  EXPECT_EQ(refused.code(), "TooManyRequestsException");
  ASSERT_EQ(refused.fields().size(), 1u);
  EXPECT_EQ(refused.fields()[0].second, "ReservedFunctionConcurrentInvocationLimitExceeded");
}

TEST_F(EngineTest, GlobalConcurrencyLimitThrottles) {
  EngineOptions options;
  options.max_concurrency = 1;
  start(options);
  auto config = native("global");
  config.timeout = 1s;
  ASSERT_TRUE(engine_->put_function(config));
  auto results = invoke_many(config.key(), {R"({"op":"sleep"})", R"({"op":"sleep"})"});
  ASSERT_NE(static_cast<bool>(results[0]), static_cast<bool>(results[1]));
  auto& refused = results[0] ? results[1] : results[0];
  EXPECT_EQ(refused.error().fields()[0].second, "ConcurrentInvocationLimitExceeded");
}

TEST_F(EngineTest, IdleInstancesGoToSleep) {
  start();
  auto config = native("sleepy");
  config.idle_timeout = 300ms;
  ASSERT_TRUE(engine_->put_function(config));
  ASSERT_TRUE(invoke(config.key(), "{}"));
  EXPECT_EQ(engine_->stats().instances, 1u);
  for (int i = 0; i < 100 && engine_->stats().instances > 0; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(engine_->stats().instances, 0u);
  auto again = invoke(config.key(), "{}");
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->cold_start);
}

TEST_F(EngineTest, RemovingOrReplacingAFunctionStopsItsInstances) {
  start();
  auto config = native("replaced");
  ASSERT_TRUE(engine_->put_function(config));
  auto first = invoke(config.key(), R"({"op":"env"})");
  ASSERT_TRUE(first);
  auto old_stream =
      json::value_to<std::string>(parse(first->payload)["AWS_LAMBDA_LOG_STREAM_NAME"]);
  // Replaced at once, possibly before the instance is back at /next.
  ASSERT_TRUE(engine_->put_function(config));
  auto second = invoke(config.key(), R"({"op":"env"})");
  ASSERT_TRUE(second);
  EXPECT_TRUE(second->cold_start);
  EXPECT_NE(json::value_to<std::string>(parse(second->payload)["AWS_LAMBDA_LOG_STREAM_NAME"]),
            old_stream);
  engine_->remove_function(config.key());
  for (int i = 0; i < 200 && engine_->stats().instances > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(engine_->stats().instances, 0u);
  // The processes are gone, not left running.
  EXPECT_FALSE(process_with_env("AWS_LAMBDA_LOG_STREAM_NAME=" + old_stream));
}

TEST_F(EngineTest, ProvisionedInstancesAreReadyAndStay) {
  start();
  auto config = native("provisioned");
  config.provisioned_concurrency = 2;
  config.idle_timeout = 100ms;
  ASSERT_TRUE(engine_->put_function(config));
  for (int i = 0; i < 200 && engine_->stats().idle < 2; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(engine_->stats().idle, 2u);
  auto result = invoke(config.key(), "{}");
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->cold_start);     // its first invocation, but no start was waited for
  std::this_thread::sleep_for(400ms);  // past the idle timeout
  EXPECT_EQ(engine_->stats().instances, 2u);
}

TEST_F(EngineTest, AProvisionedInstanceThatTimesOutIsReplaced) {
  start();
  auto config = native("replaced-after-timeout");
  config.provisioned_concurrency = 1;
  config.timeout = 1s;
  ASSERT_TRUE(engine_->put_function(config));
  for (int i = 0; i < 200 && engine_->stats().idle < 1; ++i) std::this_thread::sleep_for(10ms);
  auto result = invoke(config.key(), R"({"op":"sleep"})");
  ASSERT_TRUE(result);
  EXPECT_EQ(parse(result->payload)["errorType"], "Sandbox.Timedout");
  // The replacement is started by the engine itself, from its own loop.
  for (int i = 0; i < 300 && engine_->stats().idle < 1; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(engine_->stats().idle, 1u);
  auto next = invoke(config.key(), R"({"op":"echo"})");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->payload, R"({"op":"echo"})");
}

TEST_F(EngineTest, AJournalWithoutLogsStillLeavesTheTailItsLines) {
  // A journal that keeps no logs (benchmarks make one) is handed none, but
  // a caller who asked for the tail still gets START, the function's
  // lines, END and REPORT.
  journal_.reset();
  auto journal = ledger::Journal::open(*store_, {.metering = true, .logs = false});
  ASSERT_TRUE(journal);
  journal_ = std::move(*journal);
  start();
  auto config = native("quiet");
  ASSERT_TRUE(engine_->put_function(config));
  auto result = invoke_with_tail(config.key(), R"({"op":"print"})");
  ASSERT_TRUE(result);
  const auto id = result->request_id;
  const auto& tail = result->log_tail;
  EXPECT_NE(tail.find("START RequestId: " + id), std::string::npos) << tail;
  EXPECT_NE(tail.find("first line from " + id + "\n"), std::string::npos) << tail;
  EXPECT_NE(tail.find("END RequestId: " + id + "\n"), std::string::npos) << tail;
  EXPECT_NE(tail.find("REPORT RequestId: " + id), std::string::npos) << tail;
  // Without the tail, nothing is made; either way, nothing is logged.
  ASSERT_TRUE(invoke(config.key(), R"({"op":"print"})"));
  engine_->stop();
  EXPECT_TRUE(logs("quiet").empty());
}

TEST_F(EngineTest, LogsHaveStartEndReportAndTheFunctionsLines) {
  start();
  auto config = native("logger");
  ASSERT_TRUE(engine_->put_function(config));
  auto result = invoke_with_tail(config.key(), R"({"op":"print"})");
  ASSERT_TRUE(result);
  const auto id = result->request_id;
  EXPECT_NE(result->log_tail.find("first line from " + id), std::string::npos) << result->log_tail;
  engine_->stop();
  auto events = logs("logger");
  std::vector<std::string> lines;
  for (auto& event : events) lines.push_back(event.message);
  ASSERT_GE(lines.size(), 5u);
  EXPECT_EQ(lines[0], "START RequestId: " + id + " Version: $LATEST");
  EXPECT_EQ(lines[1], "first line from " + id);
  EXPECT_EQ(lines[2], "second line");
  EXPECT_EQ(lines[3], "END RequestId: " + id);
  // Lambda's REPORT line, field for field: durations with two decimals.
  // (Checked by hand: std::regex trips GCC 12's maybe-uninitialized warning
  // in the sanitizer build.)
  const auto fields = split(lines[4], '\t');
  ASSERT_EQ(fields.size(), 6u) << lines[4];
  const auto number = [](std::string_view field, std::string_view prefix, std::string_view unit,
                         std::size_t decimals) {
    if (!field.starts_with(prefix) || !field.ends_with(unit)) return false;
    const auto digits = field.substr(prefix.size(), field.size() - prefix.size() - unit.size());
    const auto point = digits.find('.');
    const auto whole = digits.substr(0, point);
    const auto fraction =
        point == std::string_view::npos ? std::string_view() : digits.substr(point + 1);
    const auto all_digits = [](std::string_view text) {
      return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
    };
    return all_digits(whole) &&
           (decimals == 0 ? point == std::string_view::npos
                          : all_digits(fraction) && fraction.size() == decimals);
  };
  EXPECT_EQ(fields[0], "REPORT RequestId: " + id);
  EXPECT_TRUE(number(fields[1], "Duration: ", " ms", 2)) << fields[1];
  EXPECT_TRUE(number(fields[2], "Billed Duration: ", " ms", 0)) << fields[2];
  EXPECT_EQ(fields[3], "Memory Size: 128 MB");
  EXPECT_TRUE(number(fields[4], "Max Memory Used: ", " MB", 0)) << fields[4];
  EXPECT_TRUE(number(fields[5], "Init Duration: ", " ms", 2)) << fields[5];
  EXPECT_TRUE(events[0].stream.find("/[$LATEST]") != std::string::npos);

  auto records = ledger::Journal::read_usage(*store_);
  ASSERT_TRUE(records);
  ASSERT_EQ(records->size(), 1u);
  auto record = from_usage((*records)[0]);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->request_id, id);
  EXPECT_EQ(record->function, "logger");
  EXPECT_TRUE(record->cold_start);
  EXPECT_EQ(record->outcome, InvocationOutcome::kSuccess);
  EXPECT_EQ(record->memory_mb, 128u);
  EXPECT_EQ(record->bytes_in, std::string(R"({"op":"print"})").size());
}

TEST_F(EngineTest, BashTutorialRuntimeWithCurl) {
  start();
  // The custom-runtime tutorial's bootstrap: it posts its answer form-encoded.
  std::ifstream tutorial(fs::path(NIMBUS_TEST_FUNCTIONS_DIR) / "tutorial_bootstrap.sh");
  std::string text((std::istreambuf_iterator<char>(tutorial)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(text.empty());
  auto config = script("bash", "provided.al2", "x", "bootstrap", text);
  ASSERT_TRUE(engine_->put_function(config));
  for (int i = 0; i < 3; ++i) {
    auto result = invoke(config.key(), fmt::format(R"({{"n":{}}})", i));
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_EQ(result->payload, fmt::format(R"(Echoing request: '{{"n":{}}}')", i));
  }
}

TEST_F(EngineTest, AnAbandonedLongPollDoesNotSwallowAnInvocation) {
  start();
  // Starts a /next, gives up on it (the connection dies with curl), then
  // serves normally. The invocation must reach the second request.
  auto config = script("impatient", "provided", "x", "bootstrap", R"SH(#!/bin/bash
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
curl -s -m 0.3 "$API/invocation/next" >/dev/null
while true; do
  HEADERS="$(mktemp)"
  EVENT=$(curl -sS -LD "$HEADERS" "$API/invocation/next")
  ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  curl -sS "$API/invocation/$ID/response" -d "served:$EVENT" >/dev/null
done
)SH");
  config.timeout = 3s;
  config.provisioned_concurrency = 1;  // started before the invocation, so both polls wait
  ASSERT_TRUE(engine_->put_function(config));
  for (int i = 0; i < 200 && engine_->stats().idle < 1; ++i) std::this_thread::sleep_for(10ms);
  // The first poll has been abandoned (curl gives up after 0.3 s) and the
  // second waits; the margin covers a loaded machine, where a CI run once
  // delivered the event to a first poll still open after 0.6 s.
  std::this_thread::sleep_for(1500ms);
  auto result = invoke(config.key(), R"({"n":1})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->function_error, "") << result->payload;
  EXPECT_EQ(result->payload, R"(served:{"n":1})");
}

TEST_F(EngineTest, AnInstanceCannotAnswerAnotherRequestId) {
  start();
  // Posts a response for a made-up id first, then behaves.
  auto config = script("liar", "provided", "x", "bootstrap", R"SH(#!/bin/bash
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  HEADERS="$(mktemp)"
  EVENT=$(curl -sS -LD "$HEADERS" "$API/invocation/next")
  ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  CODE=$(curl -s -o /dev/null -w '%{http_code}' "$API/invocation/not-$ID/response" -d 'stolen')
  curl -sS "$API/invocation/$ID/response" -d "$CODE" >/dev/null
done
)SH");
  ASSERT_TRUE(engine_->put_function(config));
  auto result = invoke(config.key(), "{}");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->payload, "400");
}

TEST_F(EngineTest, OfficialNodeRuntimeInterfaceClientWorksUnchanged) {
  const char* ric = std::getenv("NIMBUS_AWS_LAMBDA_RIC_DIR");
  if (ric == nullptr)
    GTEST_SKIP() << "NIMBUS_AWS_LAMBDA_RIC_DIR is not set (scripts/test.sh sets it)";
  start();
  auto config = script("ric", "provided.al2023", "index.handler", "index.mjs", R"JS(
export const handler = async (event, context) => {
  if (event.fail) throw new TypeError("wrong type");
  return { echoed: event, id: context.awsRequestId, left: context.getRemainingTimeInMillis() > 0 };
};
)JS");
  fs::path package = fs::path(ric) / "node_modules" / "aws-lambda-ric";
  ASSERT_TRUE(fs::exists(package / "dist" / "rapid-client.node")) << package;
  fs::path target = config.code_dir / "node_modules" / "aws-lambda-ric";
  fs::create_directories(target);
  fs::copy(package / "package.json", target / "package.json");
  fs::copy(package / "bin", target / "bin", fs::copy_options::recursive);
  fs::copy(package / "dist", target / "dist", fs::copy_options::recursive);
  write_file(config.code_dir / "bootstrap",
             "#!/bin/sh\nexec /usr/bin/node "
             "\"$LAMBDA_TASK_ROOT/node_modules/aws-lambda-ric/bin/index.mjs\" "
             "\"$_HANDLER\"\n",
             true);
  ASSERT_TRUE(engine_->put_function(config));
  auto result = invoke(config.key(), R"({"n":5})");
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_EQ(result->function_error, "") << result->payload;
  auto body = parse(result->payload);
  EXPECT_EQ(json::serialize(body["echoed"]), R"({"n":5})");
  EXPECT_EQ(json::value_to<std::string>(body["id"]), result->request_id);
  EXPECT_EQ(body["left"], true);
  auto failed = invoke(config.key(), R"({"fail":true})");
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->function_error, "Unhandled");
  auto error = parse(failed->payload);
  EXPECT_EQ(error["errorType"], "TypeError");
  EXPECT_EQ(error["errorMessage"], "wrong type");
  auto again = invoke(config.key(), R"({"n":6})");  // still the same warm instance
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->cold_start);
}

TEST_F(EngineTest, ForkBombStaysInsideItsInstance) {
  start();
  if (engine_->stats().cgroups == "none" && geteuid() != 0) {
    GTEST_SKIP() << "no pids cgroup and no user to limit: nothing would contain it";
  }
  auto config = script("forkbomb", "provided", "x", "bootstrap", R"SH(#!/bin/bash
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
HEADERS="$(mktemp)"
curl -sS -LD "$HEADERS" "$API/invocation/next" >/dev/null
bomb() { bomb | bomb & }; bomb
sleep 30
)SH");
  config.timeout = 2s;
  ASSERT_TRUE(engine_->put_function(config));
  auto result = invoke(config.key(), "{}");
  ASSERT_TRUE(result);
  // Stopped either way inside its instance: by the timeout, or, where the
  // bomb's processes fill the function's memory first, by its limit.
  const auto error_type = parse(result->payload)["errorType"];
  EXPECT_TRUE(error_type == "Sandbox.Timedout" || error_type == "Runtime.OutOfMemory")
      << result->payload;
  // The rest of the machine still runs functions.
  auto other = native("survivor");
  ASSERT_TRUE(engine_->put_function(other));
  auto fine = invoke(other.key(), R"({"op":"echo"})");
  ASSERT_TRUE(fine);
  EXPECT_EQ(fine->payload, R"({"op":"echo"})");
}

TEST_F(EngineTest, NodeAsyncAndCallbackHandlersWithContext) {
  start();
  auto config = script("node", "nodejs20.x", "app.handler", "app.mjs", R"JS(
export const handler = async (event, context) => {
  console.log('got', event.n);
  if (event.fail) {
    class ValidationFailed extends Error {}
    const error = new ValidationFailed('bad input');
    error.name = 'ValidationFailed';
    throw error;
  }
  return { n: event.n, id: context.awsRequestId, name: context.functionName,
           remaining: context.getRemainingTimeInMillis(), memory: context.memoryLimitInMB };
};
)JS");
  ASSERT_TRUE(engine_->put_function(config));
  auto result = invoke_with_tail(config.key(), R"({"n":7})");
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_EQ(result->function_error, "") << result->payload;
  auto body = parse(result->payload);
  EXPECT_EQ(body["n"], 7);
  EXPECT_EQ(json::value_to<std::string>(body["id"]), result->request_id);
  EXPECT_EQ(body["name"], "node");
  EXPECT_EQ(body["memory"], "128");
  EXPECT_GT(body["remaining"].to_number<int>(), 1000);
  // console.log as Lambda's Node runtime writes it.
  EXPECT_NE(result->log_tail.find("\t" + result->request_id + "\tINFO\tgot 7"), std::string::npos)
      << result->log_tail;

  auto failed = invoke(config.key(), R"({"fail":true})");
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->function_error, "Unhandled");
  auto error = parse(failed->payload);
  EXPECT_EQ(error["errorType"], "ValidationFailed");
  EXPECT_EQ(error["errorMessage"], "bad input");
  EXPECT_TRUE(error["trace"].is_array());

  auto callback = script("nodecb", "nodejs18.x", "lib/cb.handler", "cb.js", "");
  std::filesystem::create_directories(callback.code_dir / "lib");
  write_file(callback.code_dir / "lib" / "cb.js",
             "exports.handler = (event, context, callback) => { setTimeout(() => callback(null, "
             "{ doubled: event.x * 2 }), 10); };\n");
  ASSERT_TRUE(engine_->put_function(callback));
  auto doubled = invoke(callback.key(), R"({"x":21})");
  ASSERT_TRUE(doubled);
  EXPECT_EQ(doubled->payload, R"({"doubled":42})");
}

TEST_F(EngineTest, NodeMissingModuleIsAnImportModuleError) {
  start();
  auto config = script("nodemissing", "nodejs22.x", "nothere.handler", "index.js", "");
  ASSERT_TRUE(engine_->put_function(config));
  auto result = invoke(config.key(), "{}");
  ASSERT_TRUE(result);
  EXPECT_EQ(parse(result->payload)["errorType"], "Runtime.ImportModuleError");
}

TEST_F(EngineTest, NodeHeapIsSizedFromTheFunctionsMemoryAsOnLambda) {
  start();
  auto config = script("nodeheap", "nodejs20.x", "index.handler", "index.mjs", R"JS(
import v8 from 'node:v8';
export const handler = async () => ({
  gc: typeof globalThis.gc,
  limitMb: v8.getHeapStatistics().heap_size_limit / 1048576,
});
)JS");
  config.memory_mb = 512;
  ASSERT_TRUE(engine_->put_function(config));
  auto result = invoke(config.key(), "{}");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->function_error, "") << result->payload;
  auto body = parse(result->payload);
  // Lambda's bootstrap: --expose-gc, a tenth of the memory for the young
  // generation (semi-spaces of 25 MB, which V8 rounds up to 32), the rest
  // (461 MB) for the old. The limit counts the old generation and three
  // semi-spaces.
  EXPECT_EQ(body["gc"], "function");
  const double limit_mb = body["limitMb"].to_number<double>();
  EXPECT_GE(limit_mb, 461 + 3 * 25);
  EXPECT_LE(limit_mb, 461 + 3 * 32);
}

TEST_F(EngineTest, PythonHandlerContextAndExceptions) {
  start();
  auto config = script("py", "python3.11", "app.handler", "app.py", R"PY(
import os
def handler(event, context):
    print("hello from python", event.get("n"))
    if event.get("fail"):
        raise ValueError("no good")
    return {"n": event["n"], "id": context.aws_request_id,
            "remaining": context.get_remaining_time_in_millis(),
            "tmp_writable": os.access("/tmp", os.W_OK)}
)PY");
  ASSERT_TRUE(engine_->put_function(config));
  auto result = invoke(config.key(), R"({"n":3})");
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_EQ(result->function_error, "") << result->payload;
  auto body = parse(result->payload);
  EXPECT_EQ(body["n"], 3);
  EXPECT_EQ(json::value_to<std::string>(body["id"]), result->request_id);
  EXPECT_EQ(body["tmp_writable"], true);
  auto failed = invoke(config.key(), R"({"n":1,"fail":true})");
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->function_error, "Unhandled");
  auto error = parse(failed->payload);
  EXPECT_EQ(error["errorType"], "ValueError");
  EXPECT_EQ(error["errorMessage"], "no good");
  EXPECT_EQ(json::value_to<std::string>(error["requestId"]), failed->request_id);
  ASSERT_TRUE(error["stackTrace"].is_array());
  EXPECT_FALSE(error["stackTrace"].as_array().empty());
}

TEST_F(EngineTest, PythonMissingHandlerIsHandlerNotFound) {
  start();
  auto config =
      script("pymissing", "python3.12", "app.nope", "app.py", "def handler(e, c):\n  return 1\n");
  ASSERT_TRUE(engine_->put_function(config));
  auto result = invoke(config.key(), "{}");
  ASSERT_TRUE(result);
  auto error = parse(result->payload);
  EXPECT_EQ(error["errorType"], "Runtime.HandlerNotFound");
  EXPECT_EQ(error["errorMessage"], "Handler 'nope' missing on module 'app'");
}

TEST_F(EngineTest, ScratchLeftByAKilledServerIsRemovedAtStart) {
  fs::path stale = dir_.path() / "engine" / "instances" / "0123abcd" / "tmp";
  fs::create_directories(stale);
  std::ofstream(stale / "left-behind") << "x";
  start();
  EXPECT_FALSE(fs::exists(stale.parent_path()));
  EXPECT_TRUE(fs::is_directory(dir_.path() / "engine" / "instances"));
}

// With the server's event loops shared (the HTTP threads), an instance
// started by an invocation from one of them lives there: its Runtime API is
// served by that loop, so a loop held up holds up that instance's next
// invocation too, whoever makes it. Stopping the engine while the loop runs
// leaves nothing of the engine's on it.
TEST_F(EngineTest, AnInstanceStartedFromASharedLoopLivesOnThatLoop) {
  asio::io_context loop(1);
  auto guard = asio::make_work_guard(loop);
  std::thread loop_thread([&] { loop.run(); });
  EngineOptions options;
  options.event_loops = {&loop};
  start(options);
  auto config = native("shared");
  ASSERT_TRUE(engine_->put_function(config));
  const std::string payload = R"({"op":"echo","data":"x"})";

  // Started from the loop: a cold start, then a warm one, both answered.
  auto from_loop = [&]() {
    auto future =
        asio::co_spawn(loop, engine_->invoke(config.key(), payload, {}), asio::use_future);
    return future.get();
  };
  auto first = from_loop();
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(first->payload, payload);
  auto second = from_loop();
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(engine_->stats().cold_starts, 1U);

  // The loop held up for 400 ms: an invocation made elsewhere waits for it,
  // so it is answered only after the loop is let go. (Compared as instants,
  // not as a measured wait: on a loaded machine this thread may itself start
  // late into the hold.)
  std::promise<void> holding;
  std::promise<std::chrono::steady_clock::time_point> released;
  asio::post(loop, [&] {
    holding.set_value();
    std::this_thread::sleep_for(400ms);
    released.set_value(std::chrono::steady_clock::now());
  });
  holding.get_future().wait();
  auto third = invoke(config.key(), payload);
  const auto answered = std::chrono::steady_clock::now();
  ASSERT_TRUE(third) << third.error().message();
  EXPECT_EQ(third->payload, payload);
  EXPECT_LE(released.get_future().get(), answered);
  EXPECT_EQ(engine_->stats().cold_starts, 1U);

  engine_->stop();
  EXPECT_EQ(engine_->stats().instances, 0U);
  guard.reset();
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!loop.stopped() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(loop.stopped()) << "the engine left work on the shared loop";
  loop.stop();
  loop_thread.join();
}

// cgroups are reused between instances: each new tenant gets its own
// function's limit, up or down, never the last tenant's.
TEST_F(EngineTest, AReusedCgroupTakesEachFunctionsMemoryLimit) {
  start();
  if (engine_->stats().cgroups == "none") GTEST_SKIP() << "no memory cgroup to enforce the limit";
  const std::string code = R"PY(
def handler(event, context):
    hoard = bytearray(event["mb"] * 1024 * 1024)
    return len(hoard) // (1024 * 1024)
)PY";
  auto run = [&](const std::string& name, std::uint32_t memory_mb, int allocate_mb) {
    auto config = script(name, "python3.11", "app.handler", "app.py", code);
    config.memory_mb = memory_mb;
    config.timeout = 10s;
    EXPECT_TRUE(engine_->put_function(config));
    auto result = invoke(config.key(), fmt::format(R"({{"mb":{}}})", allocate_mb));
    engine_->remove_function(config.key());
    // Its instance gone, its group is free for the next.
    for (int i = 0; i < 500 && engine_->stats().instances > 0; ++i)
      std::this_thread::sleep_for(10ms);
    EXPECT_EQ(engine_->stats().instances, 0U);
    return result;
  };
  auto small = run("small", 128, 32);
  ASSERT_TRUE(small) << small.error().message();
  EXPECT_EQ(small->payload, "32");
  // More than the last tenant's limit, within its own.
  auto big = run("big", 1024, 400);
  ASSERT_TRUE(big) << big.error().message();
  EXPECT_EQ(big->payload, "400") << big->payload;
  // And down again: the same allocation is now too much.
  auto small_again = run("small-again", 128, 400);
  ASSERT_TRUE(small_again) << small_again.error().message();
  EXPECT_EQ(parse(small_again->payload)["errorType"], "Runtime.OutOfMemory")
      << small_again->payload;
}

// The sandbox (namespaces, mounts, user, limits) is the same whether it was
// prepared ahead of need or made for the cold start.
enum class SandboxSource { kPrepared, kOnDemand };

class SandboxTest : public EngineTest, public ::testing::WithParamInterface<SandboxSource> {
 protected:
  void start_sandboxed(EngineOptions options = {}) {
    if (GetParam() == SandboxSource::kPrepared && geteuid() != 0) {
      GTEST_SKIP() << "sandboxes are prepared for namespaces, which need root";
    }
    options.prepared_sandboxes = GetParam() == SandboxSource::kPrepared ? 2 : 0;
    start(options);
    wait_until_prepared();
  }
  void wait_until_prepared() {
    if (GetParam() == SandboxSource::kOnDemand) return;
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (engine_->stats().prepared_sandboxes < 2 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(5ms);
    }
    ASSERT_EQ(engine_->stats().prepared_sandboxes, 2U);
  }
  std::uint64_t expected_prepared_starts(std::uint64_t cold_starts) const {
    return GetParam() == SandboxSource::kPrepared ? cold_starts : 0;
  }
};

INSTANTIATE_TEST_SUITE_P(Sandboxes, SandboxTest,
                         ::testing::Values(SandboxSource::kPrepared, SandboxSource::kOnDemand),
                         [](const auto& info) {
                           return info.param == SandboxSource::kPrepared ? "Prepared" : "OnDemand";
                         });

TEST_P(SandboxTest, HiddenPathsAreInvisibleTheRestReadOnlyAndOwnCodeStillRuns) {
  if (geteuid() != 0) GTEST_SKIP() << "namespaces need root";
  // A stand-in for the data directory, outside /tmp: another function's
  // code beside this one's.
  fs::path secret = fs::path("/var/tmp") / fmt::format("nimbus-hidden-{}", getpid());
  fs::remove_all(secret);
  fs::create_directories(secret / "other");
  std::ofstream(secret / "other" / "code.py") << "SECRET = 1\n";
  fs::create_directories(secret / "mine");
  std::ofstream(secret / "mine" / "app.py") << R"PY(
import os
def handler(event, context):
    root = event["secret"]
    try:
        open("/var/tmp/escape", "w").write("x")
        outside = "writable"
    except OSError:
        outside = "read-only"
    return {"listing": sorted(os.listdir(root)), "other": os.path.exists(root + "/other/code.py"),
            "outside": outside, "task_root": os.environ["LAMBDA_TASK_ROOT"]}
)PY";
  EngineOptions options;
  options.hidden_paths = {secret};
  start_sandboxed(options);
  if (HasFatalFailure()) fs::remove_all(secret);
  ASSERT_FALSE(HasFatalFailure());
  FunctionConfig config;
  config.name = "hidden";
  config.arn = "arn:aws:lambda:us-east-1:000000000000:function:hidden";
  config.runtime = "python3.11";
  config.handler = "app.handler";
  config.code_dir = secret / "mine";
  config.timeout = 5s;
  ASSERT_TRUE(engine_->put_function(config));
  auto result = invoke(config.key(), fmt::format(R"({{"secret":"{}"}})", secret.string()));
  fs::remove_all(secret);
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_EQ(result->function_error, "") << result->payload;
  auto body = parse(result->payload);
  EXPECT_EQ(json::serialize(body["listing"]), R"(["mine"])");  // nothing else of the hidden tree
  EXPECT_EQ(body["other"], false);
  EXPECT_EQ(body["outside"], "read-only");
  EXPECT_EQ(json::value_to<std::string>(body["task_root"]), (secret / "mine").string());
  EXPECT_EQ(engine_->stats().prepared_starts, expected_prepared_starts(1));
}

// --cgroups v2 on a machine whose memory controller is bound to v1 still
// puts every instance, prepared or not, in a v2 group of the server's pool,
// and each next tenant of a released group gets it made again.
TEST_P(SandboxTest, InstancesRunInCgroupV2GroupsWhenAskedFor) {
  EngineOptions options;
  options.cgroups = "v2";
  start_sandboxed(options);
  ASSERT_FALSE(HasFatalFailure());
  if (engine_->stats().cgroups != "v2") GTEST_SKIP() << "no writable cgroup v2 hierarchy";
  const std::string code = R"PY(
def handler(event, context):
    return [line[3:] for line in open("/proc/self/cgroup").read().splitlines()
            if line.startswith("0::")][0]
)PY";
  const std::string pool = fmt::format("/nimbus-{}/i", getpid());
  for (int tenant = 0; tenant < 3; ++tenant) {
    // The pool refills in the background: with two sandboxes for three
    // tenants, the third waits for a refill rather than racing it.
    ASSERT_NO_FATAL_FAILURE(wait_until_prepared());
    auto config = script(fmt::format("v2-{}", tenant), "python3.11", "app.handler", "app.py", code);
    ASSERT_TRUE(engine_->put_function(config));
    auto result = invoke(config.key(), "{}");
    ASSERT_TRUE(result) << result.error().message();
    ASSERT_EQ(result->function_error, "") << result->payload;
    const std::string group = json::value_to<std::string>(json::parse(result->payload));
    EXPECT_NE(group.find(pool), std::string::npos) << group;
    engine_->remove_function(config.key());
    for (int i = 0; i < 500 && engine_->stats().instances > 0; ++i)
      std::this_thread::sleep_for(10ms);
    ASSERT_EQ(engine_->stats().instances, 0U);
  }
  EXPECT_EQ(engine_->stats().prepared_starts, expected_prepared_starts(3));
}

TEST_P(SandboxTest, CodeIsReadOnlyAndTmpIsPrivate) {
  if (geteuid() != 0) GTEST_SKIP() << "namespaces need root";
  ASSERT_NO_FATAL_FAILURE(start_sandboxed());
  auto config = script("sandbox", "python3.11", "app.handler", "app.py", R"PY(
import os, resource, time
def handler(event, context):
    try:
        open(os.environ["LAMBDA_TASK_ROOT"] + "/written", "w").write("x")
        code = "writable"
    except OSError:
        code = "read-only"
    marker = "/tmp/marker"
    seen = os.path.exists(marker)
    open(marker, "w").write("x")
    time.sleep(0.5)  # hold this instance so the other invocation gets its own
    return {"code": code, "seen_marker": seen, "tmp": sorted(os.listdir("/tmp")),
            "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "pid": os.getpid(),
            "cwd": os.getcwd(), "nice": os.nice(0),
            "nofile": resource.getrlimit(resource.RLIMIT_NOFILE),
            "nproc": resource.getrlimit(resource.RLIMIT_NPROC),
            "core": resource.getrlimit(resource.RLIMIT_CORE)}
)PY");
  config.reserved_concurrency = 2;
  ASSERT_TRUE(engine_->put_function(config));
  auto results = invoke_many(config.key(), {"{}", "{}"});
  for (auto& result : results) {
    ASSERT_TRUE(result) << result.error().message();
    auto body = parse(result->payload);
    EXPECT_EQ(body["code"], "read-only");
    // Two instances at once: neither saw the other's /tmp.
    EXPECT_EQ(body["seen_marker"], false) << result->payload;
    // A user of its own, nothing of root's; the runtime is pid 2, under
    // nimbus-init; Lambda's limits; the server's own priority.
    EXPECT_GE(body["uid"].as_int64(), 2'000'000'000);
    EXPECT_EQ(body["gid"], body["uid"]);
    EXPECT_EQ(json::serialize(body["groups"]), "[]");
    EXPECT_EQ(body["pid"], 2);
    EXPECT_EQ(json::value_to<std::string>(body["cwd"]), config.code_dir.string());
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, 0);
    EXPECT_EQ(body["nice"], errno == 0 ? nice : 0);
    EXPECT_EQ(json::serialize(body["nofile"]), "[1024,1024]");
    EXPECT_EQ(json::serialize(body["nproc"]), "[1024,1024]");
    EXPECT_EQ(json::serialize(body["core"]), "[0,0]");
  }
  EXPECT_NE(json::serialize(parse(results[0]->payload)["uid"]),
            json::serialize(parse(results[1]->payload)["uid"]));
  EXPECT_EQ(engine_->stats().prepared_starts, expected_prepared_starts(2));
}

TEST_P(SandboxTest, ExitDuringInitFailsThePendingInvocation) {
  ASSERT_NO_FATAL_FAILURE(start_sandboxed());
  if (IsSkipped()) return;
  auto config =
      script("badinit", "provided.al2023", "x", "bootstrap", "#!/bin/sh\necho boom\nexit 3\n");
  ASSERT_TRUE(engine_->put_function(config));
  auto result = invoke(config.key(), "{}");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->function_error, "Unhandled");
  auto error = parse(result->payload);
  EXPECT_EQ(error["errorType"], "Runtime.ExitError");
  EXPECT_EQ(error["errorMessage"], "Runtime exited with error: exit status 3");
  EXPECT_EQ(engine_->stats().prepared_starts, expected_prepared_starts(1));
}

TEST_P(SandboxTest, MissingBootstrapIsAnInvalidEntrypoint) {
  ASSERT_NO_FATAL_FAILURE(start_sandboxed());
  if (IsSkipped()) return;
  auto config = native("nobootstrap");
  fs::remove(config.code_dir / "bootstrap");
  ASSERT_TRUE(engine_->put_function(config));
  auto result = invoke(config.key(), "{}");
  ASSERT_TRUE(result);
  EXPECT_EQ(parse(result->payload)["errorType"], "Runtime.InvalidEntrypoint");
  EXPECT_EQ(json::value_to<std::string>(parse(result->payload)["errorMessage"]),
            fmt::format("Couldn't find valid bootstrap(s): [{}]",
                        (config.code_dir / "bootstrap").string()));
  EXPECT_EQ(engine_->stats().prepared_starts, expected_prepared_starts(1));
  // A failed cold start still gives its prepared sandbox a replacement.
  ASSERT_NO_FATAL_FAILURE(wait_until_prepared());
}

TEST_F(EngineTest, ProcessIsolationSaysWhenTheFunctionsUserCannotReachItsCode) {
  if (geteuid() != 0) GTEST_SKIP() << "functions have a user of their own only under root";
  EngineOptions options;
  options.isolation = Isolation::kProcess;
  start(options);
  // The code behind a directory only its owner may pass, as under /root.
  auto config = native("closed");
  const fs::path closed = dir_.path() / "closed";
  fs::create_directories(closed);
  fs::rename(config.code_dir, closed / "code");
  config.code_dir = closed / "code";
  fs::permissions(closed, fs::perms::owner_all);
  ASSERT_TRUE(engine_->put_function(config));
  auto result = invoke(config.key(), "{}");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->function_error, "Unhandled");
  auto error = parse(result->payload);
  EXPECT_EQ(error["errorType"], "Runtime.Unknown");
  const auto message = json::value_to<std::string>(error["errorMessage"]);
  EXPECT_NE(message.find("cannot reach " + config.code_dir.string()), std::string::npos) << message;
  EXPECT_NE(message.find(closed.string() + " (mode 0700, owner 0)"), std::string::npos) << message;
  // Opened for others to pass, the same code runs.
  fs::permissions(closed, fs::perms::others_exec, fs::perm_options::add);
  auto echoed = invoke(config.key(), R"({"op":"echo"})");
  ASSERT_TRUE(echoed);
  EXPECT_EQ(echoed->function_error, "") << echoed->payload;
  EXPECT_EQ(echoed->payload, R"({"op":"echo"})");
}

TEST_P(SandboxTest, OutOfMemoryIsReportedAsLambdaDoes) {
  ASSERT_NO_FATAL_FAILURE(start_sandboxed());
  if (IsSkipped()) return;
  if (engine_->stats().cgroups == "none") GTEST_SKIP() << "no memory cgroup to enforce the limit";
  auto config = script("hungry", "python3.11", "app.handler", "app.py", R"PY(
def handler(event, context):
    hoard = []
    for _ in range(64):
        hoard.append(bytearray(16 * 1024 * 1024))  # 1 GiB in all, far past 128 MB
    return len(hoard)
)PY");
  config.timeout = 10s;
  ASSERT_TRUE(engine_->put_function(config));
  auto result = invoke(config.key(), "{}");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->function_error, "Unhandled");
  auto error = parse(result->payload);
  EXPECT_EQ(error["errorType"], "Runtime.OutOfMemory") << result->payload;
  EXPECT_EQ(
      json::value_to<std::string>(error["errorMessage"]),
      "RequestId: " + result->request_id + " Error: Runtime exited with error: signal: killed");
}

TEST_P(SandboxTest, AnInstanceCannotUseAnotherInstancesEndpoint) {
  if (geteuid() != 0) GTEST_SKIP() << "per-instance users need root";
  ASSERT_NO_FATAL_FAILURE(start_sandboxed());
  if (IsSkipped()) return;
  auto victim = native("victim");
  victim.environment = {{"NIMBUS_TEST_MARKER", "victim-marker"}};
  victim.provisioned_concurrency = 1;
  ASSERT_TRUE(engine_->put_function(victim));
  for (int i = 0; i < 200 && engine_->stats().idle < 1; ++i) std::this_thread::sleep_for(10ms);
  std::string endpoint =
      env_of_process_with("NIMBUS_TEST_MARKER=victim-marker", "AWS_LAMBDA_RUNTIME_API");
  ASSERT_FALSE(endpoint.empty());
  // The thief answers with what it got from the victim's endpoint.
  auto thief = script("thief", "provided", "x", "bootstrap", R"SH(#!/bin/bash
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  HEADERS="$(mktemp)"
  EVENT=$(curl -sS -LD "$HEADERS" "$API/invocation/next")
  ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  STOLEN=$(curl -s -m 2 -o /dev/null -w '%{http_code}' -d x "http://$EVENT/2018-06-01/runtime/invocation/some-id/response")
  curl -sS "$API/invocation/$ID/response" -d "got:$STOLEN" >/dev/null
done
)SH");
  ASSERT_TRUE(engine_->put_function(thief));
  auto results = invoke_many(thief.key(), {endpoint});
  ASSERT_TRUE(results[0]);
  // Refused outright (an accepted connection would answer 400 for the id).
  EXPECT_EQ(results[0]->payload, "got:000");
  // The victim still gets its own invocations.
  auto own = invoke(victim.key(), R"({"op":"echo"})");
  ASSERT_TRUE(own);
  EXPECT_EQ(own->payload, R"({"op":"echo"})");
}

// AWS's own runtime interface client (npm aws-lambda-ric, with its native
// Runtime API client) as a function's bootstrap, exactly as a user would ship
// it. scripts/test.sh builds it once into a cache and sets the variable.

}  // namespace
}  // namespace nimbus::engine

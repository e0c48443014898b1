#include "nimbus/cli/cli.h"

#include <signal.h>

#include <cstdio>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "nimbus/cli/client_commands.h"
#include "nimbus/core/logging.h"
#include "nimbus/core/strings.h"
#include "nimbus/server/server.h"

namespace nimbus::cli {
namespace {

// Options bind straight into the server's configuration, except those that
// need converting first.
struct ServerFlags {
  server::ServerConfig config;
  std::string listen = "127.0.0.1:4566";
  std::string data_dir = ".nimbus";
  std::string log_format = "text";
  std::string log_level = "info";
  double idle_timeout_seconds = 60;
  double shutdown_timeout_seconds = 10;
  std::string runtimes_dir;
  double function_idle_timeout_seconds = 300;
  double lambda_async_retry_delay_seconds = 60;
  double dynamodb_ttl_interval_seconds = 60;
};

// "HOST:PORT", "[v6]:PORT" or ":PORT".
Result<std::pair<std::string, std::uint16_t>> parse_listen(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return AwsError::validation(fmt::format("--listen '{}' must be HOST:PORT", text));
  }
  std::string host(text.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "127.0.0.1";
  const auto port = parse_uint(text.substr(colon + 1));
  if (!port || *port > 65535) {
    return AwsError::validation(fmt::format("--listen '{}' has no valid port", text));
  }
  return std::pair{host, static_cast<std::uint16_t>(*port)};
}

void add_server_options(CLI::App& command, ServerFlags& flags) {
  command
      .add_option("--listen", flags.listen,
                  "Address to serve the AWS endpoint on (HOST:PORT; port 0 picks a free one)")
      ->envname("NIMBUS_LISTEN")
      ->capture_default_str();
  command.add_option("--data-dir", flags.data_dir, "Directory holding all state")
      ->envname("NIMBUS_DATA_DIR")
      ->capture_default_str();
  command
      .add_option("--durability", flags.config.durability,
                  "When a write is acknowledged: wal (in the write-ahead log; survives a killed "
                  "server) or sync (also fsynced; survives an OS crash, slower)")
      ->envname("NIMBUS_DURABILITY")
      ->check(CLI::IsMember({"wal", "sync"}))
      ->capture_default_str();
  command
      .add_option("--auth", flags.config.auth,
                  "Request authentication: off (accept any credentials) or sigv4")
      ->envname("NIMBUS_AUTH")
      ->check(CLI::IsMember({"off", "sigv4"}))
      ->capture_default_str();
  command
      .add_option("--credentials-file", flags.config.credentials_file,
                  "Access keys accepted with --auth sigv4, in the AWS shared-credentials format "
                  "([user] aws_access_key_id = ... aws_secret_access_key = ...)")
      ->envname("NIMBUS_CREDENTIALS_FILE");
  command.add_option("--region", flags.config.region, "Region used when a request names none")
      ->envname("NIMBUS_REGION")
      ->capture_default_str();
  command
      .add_option("--account-id", flags.config.account_id, "The 12-digit AWS account id in ARNs")
      ->envname("NIMBUS_ACCOUNT_ID")
      ->capture_default_str();
  command.add_option("--log-format", flags.log_format, "Log lines as text or json")
      ->envname("NIMBUS_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  command.add_option("--log-level", flags.log_level, "trace, debug, info, warn, error or off")
      ->envname("NIMBUS_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  command.add_option("--io-threads", flags.config.io_threads, "HTTP I/O threads (0: one per core)")
      ->envname("NIMBUS_IO_THREADS")
      ->capture_default_str();
  command
      .add_option("--max-body-bytes", flags.config.max_body_bytes,
                  "Largest request body accepted (services may set lower limits); larger gets 413")
      ->envname("NIMBUS_MAX_BODY_BYTES")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command
      .add_option("--max-header-bytes", flags.config.max_header_bytes,
                  "Largest request head accepted; larger gets 431")
      ->envname("NIMBUS_MAX_HEADER_BYTES")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1024 * 1024}))
      ->capture_default_str();
  command
      .add_option("--idle-timeout", flags.idle_timeout_seconds,
                  "Seconds a keep-alive connection may sit idle before it is closed")
      ->envname("NIMBUS_IDLE_TIMEOUT")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command
      .add_option("--shutdown-timeout", flags.shutdown_timeout_seconds,
                  "Seconds in-flight requests get to finish on SIGINT/SIGTERM")
      ->envname("NIMBUS_SHUTDOWN_TIMEOUT")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command
      .add_option("--runtimes-dir", flags.runtimes_dir,
                  "Directory of the shipped runtime clients (default: the source tree's runtimes/)")
      ->envname("NIMBUS_RUNTIMES_DIR");
  command
      .add_option("--isolation", flags.config.isolation,
                  "Function sandbox: namespaces (needs root; falls back) or process")
      ->envname("NIMBUS_ISOLATION")
      ->check(CLI::IsMember({"namespaces", "process"}))
      ->capture_default_str();
  command
      .add_option("--max-concurrency", flags.config.max_concurrency,
                  "Function invocations running at once, across all functions")
      ->envname("NIMBUS_MAX_CONCURRENCY")
      ->check(CLI::Range(1u, 100000u))
      ->capture_default_str();
  command
      .add_option("--memory-budget-mb", flags.config.memory_budget_mb,
                  "Memory all function instances may reserve (0: three quarters of RAM)")
      ->envname("NIMBUS_MEMORY_BUDGET_MB")
      ->capture_default_str();
  command
      .add_option("--prepared-sandboxes", flags.config.prepared_sandboxes,
                  "Function sandboxes kept ready so cold starts skip making them "
                  "(namespaces isolation; 0: none)")
      ->envname("NIMBUS_PREPARED_SANDBOXES")
      ->check(CLI::Range(0u, 64u))
      ->capture_default_str();
  command
      .add_option("--cgroups", flags.config.cgroups,
                  "cgroup hierarchy for function instances' limits: auto (v1 where its memory "
                  "controller is mounted, else v2), v1, v2 or none")
      ->envname("NIMBUS_CGROUPS")
      ->check(CLI::IsMember({"auto", "v1", "v2", "none"}))
      ->capture_default_str();
  command
      .add_option("--lambda-code-storage", flags.config.lambda_code_storage_bytes,
                  "Bytes all Lambda deployment packages may take together (Lambda's 75 GB); "
                  "past it CreateFunction gets CodeStorageExceededException")
      ->envname("NIMBUS_LAMBDA_CODE_STORAGE")
      ->capture_default_str();
  command
      .add_option("--lambda-async-retry-delay", flags.lambda_async_retry_delay_seconds,
                  "Seconds before the first retry of a failed asynchronous invocation "
                  "(the second waits twice as long), as Lambda's one minute")
      ->envname("NIMBUS_LAMBDA_ASYNC_RETRY_DELAY")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command
      .add_option("--apigateway-rate-limit", flags.config.apigateway_rate_limit,
                  "Requests per second all API Gateway APIs may serve together (AWS's "
                  "account quota); past it they answer 429")
      ->envname("NIMBUS_APIGATEWAY_RATE_LIMIT")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command
      .add_option("--apigateway-burst-limit", flags.config.apigateway_burst_limit,
                  "Requests API Gateway APIs may serve at once above the rate (AWS's burst)")
      ->envname("NIMBUS_APIGATEWAY_BURST_LIMIT")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command
      .add_flag("--metering,!--no-metering", flags.config.metering,
                "Record usage for cost reports (nimbus cost); off only to measure its cost")
      ->envname("NIMBUS_METERING")
      ->capture_default_str();
  command
      .add_flag("--function-logs,!--no-function-logs", flags.config.function_logs,
                "Keep what functions print for CloudWatch Logs; off only to measure its cost")
      ->envname("NIMBUS_FUNCTION_LOGS")
      ->capture_default_str();
  command
      .add_option("--price-book", flags.config.price_book,
                  "The price book cost reports use (default: <data-dir>/price-book.yaml, "
                  "written from AWS's September 2023 prices when missing)")
      ->envname("NIMBUS_PRICE_BOOK");
  command
      .add_option("--dynamodb-ttl-interval", flags.dynamodb_ttl_interval_seconds,
                  "Seconds between searches for DynamoDB items whose time to live has passed "
                  "(DynamoDB deletes them within days; Nimbus within this)")
      ->envname("NIMBUS_DYNAMODB_TTL_INTERVAL")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command
      .add_option("--function-idle-timeout", flags.function_idle_timeout_seconds,
                  "Seconds an idle function instance stays warm before it is stopped")
      ->envname("NIMBUS_FUNCTION_IDLE_TIMEOUT")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

int run_server(const ServerFlags& flags) {
  const auto format = parse_log_format(flags.log_format);
  if (auto configured = configure_logging(*format, flags.log_level); !configured) {
    fmt::print(stderr, "nimbus: {}\n", configured.error().message());
    return 2;
  }
  auto listen = parse_listen(flags.listen);
  if (!listen) {
    fmt::print(stderr, "nimbus: {}\n", listen.error().message());
    return 2;
  }
  server::ServerConfig config = flags.config;
  config.host = listen->first;
  config.port = listen->second;
  config.data_dir = flags.data_dir;
  config.idle_timeout =
      std::chrono::milliseconds(static_cast<long>(flags.idle_timeout_seconds * 1000));
  config.shutdown_timeout =
      std::chrono::milliseconds(static_cast<long>(flags.shutdown_timeout_seconds * 1000));
  config.runtimes_dir = flags.runtimes_dir;
  config.function_idle_timeout =
      std::chrono::milliseconds(static_cast<long>(flags.function_idle_timeout_seconds * 1000));
  config.lambda_async_retry_delay =
      std::chrono::milliseconds(static_cast<long>(flags.lambda_async_retry_delay_seconds * 1000));
  config.dynamodb_ttl_interval =
      std::chrono::milliseconds(static_cast<long>(flags.dynamodb_ttl_interval_seconds * 1000));

  // Block the stop signals before any thread starts, so only sigwait() below
  // receives them and no I/O thread is interrupted.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto server = server::Server::start(config);
  if (!server) {
    fmt::print(stderr, "nimbus: {}\n", server.error().message());
    return 1;
  }
  // The one line on stdout: tools and tests read the endpoint from it.
  fmt::print("nimbus {} listening on {} (data dir {}, auth {})\n", NIMBUS_VERSION,
             (*server)->endpoint(), (*server)->data_dir().string(), flags.config.auth);
  std::fflush(stdout);

  int received = 0;
  sigwait(&stop_signals, &received);
  spdlog::info("received {}", received == SIGINT ? "SIGINT" : "SIGTERM");
  (*server)->stop();
  return 0;
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"Nimbus: the AWS serverless stack on your own machine", "nimbus"};
  app.set_version_flag("--version", std::string(NIMBUS_VERSION));
  app.require_subcommand(1);

  ServerFlags flags;
  // The config file belongs to the top-level app so that sections name the
  // subcommand ("[server]"); fallthrough lets it follow the subcommand.
  app.set_config("--config", "",
                 "Read options from a TOML/INI file: a [server] section with the long option "
                 "names as keys (listen = \"127.0.0.1:4566\")");
  auto* server = app.add_subcommand("server", "Serve the AWS endpoint");
  server->fallthrough();
  server->footer(
      "Configuration file:\n  --config FILE               TOML/INI file with a [server] section; "
      "keys are the\n"
      "                              long option names (account-id = \"111122223333\").\n"
      "Command-line flags override the file; the file overrides NIMBUS_* variables.");
  add_server_options(*server, flags);

  // Clients of a running server.
  ClientFlags client;
  if (const char* endpoint = std::getenv("NIMBUS_ENDPOINT"); endpoint && *endpoint) {
    client.endpoint = endpoint;
  }
  auto add_endpoint = [&client](CLI::App& command) {
    command.add_option("--endpoint", client.endpoint, "The server (NIMBUS_ENDPOINT)")
        ->capture_default_str();
  };
  InvokeFlags invoke_flags;
  auto* invoke =
      app.add_subcommand("invoke",
                         "Invoke a function and print its result (signed with AWS_ACCESS_KEY_ID/"
                         "AWS_SECRET_ACCESS_KEY when they are set)");
  invoke->add_option("function", invoke_flags.function, "Name, name:qualifier or ARN")->required();
  invoke->add_option("--payload", invoke_flags.payload, "The event: JSON, or @file");
  invoke->add_option("--qualifier", invoke_flags.qualifier, "Version or alias");
  invoke->add_flag("--event", invoke_flags.event, "Invoke asynchronously (InvocationType Event)");
  invoke->add_flag("--log", invoke_flags.show_log, "Print the invocation's log tail on stderr");
  add_endpoint(*invoke);
  auto* functions = app.add_subcommand("functions", "List the functions a server has");
  add_endpoint(*functions);
  LogsFlags logs_flags;
  auto* logs = app.add_subcommand(
      "logs", "Print a function's log from CloudWatch Logs (--follow for new lines as they come)");
  logs->add_option("function", logs_flags.function, "Function name, or a log group (/app/x)")
      ->required();
  logs->add_option("--since", logs_flags.since_minutes, "Minutes back to start from")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  logs->add_option("--filter", logs_flags.filter,
                   "A filter pattern (ERROR, { $.level = \"error\" })");
  logs->add_flag("--follow,-f", logs_flags.follow, "Keep printing new lines until interrupted");
  add_endpoint(*logs);
  CostFlags cost_flags;
  auto* cost = app.add_subcommand(
      "cost", "What the server's usage cost, priced with its price book (free tiers applied)");
  cost->add_option("--since", cost_flags.since,
                   "Start: 2026-11-01, 2026-11-01T10:00:00Z, or 7d / 12h ago (default: the "
                   "start of this month)");
  cost->add_option("--until", cost_flags.until, "End, in the same forms (default: now)");
  cost->add_option("--by", cost_flags.by, "Lines per function, service, day or meter")
      ->check(CLI::IsMember({"function", "resource", "service", "day", "meter"}))
      ->capture_default_str();
  cost->add_flag("--json", cost_flags.json, "Print the report as JSON (as /_nimbus/cost)");
  cost->add_option("--plot", cost_flags.plot, "Write an SVG chart of cost and requests per day");
  StatsFlags stats_flags;
  auto* stats = app.add_subcommand(
      "stats", "A function's invocations, errors and durations over time (--api: an API's)");
  stats->add_option("name", stats_flags.name, "Function name, or with --api an API id")->required();
  stats->add_flag("--api", stats_flags.api, "NAME is an API Gateway API id");
  stats->add_option("--since", stats_flags.since, "Start: 1h, 30m, 2d ago, or a time")
      ->capture_default_str();
  stats->add_option("--until", stats_flags.until, "End (default: now)");
  stats->add_option("--period", stats_flags.period,
                    "Seconds per row, a multiple of 60 (default: about sixty rows)");
  stats->add_flag("--json", stats_flags.json, "Print the series as JSON (as /_nimbus/stats)");
  stats->add_option("--plot", stats_flags.plot, "Write an SVG chart instead of the table");
  add_endpoint(*stats);
  add_endpoint(*cost);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (server->parsed()) return run_server(flags);
  if (invoke->parsed()) return run_invoke(client, invoke_flags);
  if (functions->parsed()) return run_functions(client);
  if (cost->parsed()) return run_cost(client, cost_flags);
  if (stats->parsed()) return run_stats(client, stats_flags);
  if (logs->parsed()) return run_logs(client, logs_flags);
  return 0;
}

}  // namespace nimbus::cli

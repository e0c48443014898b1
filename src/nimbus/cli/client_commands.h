#pragma once

// `nimbus invoke`, `functions`, `logs` and `cost`: thin clients of a running
// server's APIs over HTTP, signed with SigV4 when AWS credentials are in the
// environment (as the AWS CLI reads them).

#include <cstdint>
#include <string>

namespace nimbus::cli {

struct ClientFlags {
  std::string endpoint = "http://127.0.0.1:4566";
};

struct InvokeFlags {
  std::string function;
  std::string payload;  // JSON, or @file
  std::string qualifier;
  bool event = false;     // InvocationType=Event
  bool show_log = false;  // the log tail on stderr
};

struct CostFlags {
  std::string since;
  std::string until;
  std::string by = "function";
  bool json = false;
  std::string plot;  // an SVG file: cost and requests per day
};

struct StatsFlags {
  std::string name;  // a function, or with `api` an API id
  bool api = false;
  std::string since = "1h";
  std::string until;
  std::int64_t period = 0;  // seconds; 0: about sixty points
  bool json = false;
  std::string plot;  // an SVG file: invocations and errors, durations
};

int run_invoke(const ClientFlags& client, const InvokeFlags& flags);
struct LogsFlags {
  std::string function;  // a function name, or a log group ("/app/orders")
  double since_minutes = 10;
  std::string filter;
  bool follow = false;
};

int run_cost(const ClientFlags& client, const CostFlags& flags);
// A function's (or API's) invocations, errors and durations over time.
int run_stats(const ClientFlags& client, const StatsFlags& flags);
// Prints a function's log (CloudWatch Logs' FilterLogEvents), then new
// lines as they come with --follow.
int run_logs(const ClientFlags& client, const LogsFlags& flags);
int run_functions(const ClientFlags& client);

}  // namespace nimbus::cli

#pragma once

// `nimbus invoke` and `nimbus functions`: thin clients of a running server's
// Lambda API over HTTP, signed with SigV4 when AWS credentials are in the
// environment (as the AWS CLI reads them).

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
};

int run_invoke(const ClientFlags& client, const InvokeFlags& flags);
int run_cost(const ClientFlags& client, const CostFlags& flags);
int run_functions(const ClientFlags& client);

}  // namespace nimbus::cli

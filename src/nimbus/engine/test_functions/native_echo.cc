// A native function for the engine's tests and benchmarks, built on the
// shipped header-only runtime. What it does is chosen by the payload:
//   {"op":"echo",...}   returns the payload            (the default)
//   {"op":"fail"}       reports an error through the Runtime API
//   {"op":"print"}      writes two log lines, then echoes
//   {"op":"sleep"}      sleeps 10 s (longer than the tests' timeouts)
//   {"op":"crash"}      aborts
//   {"op":"big"}        answers with 7 MB (over the 6 MB limit)
//   {"op":"env"}        returns selected environment variables and the deadline
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include <nimbus/lambda_runtime.h>

namespace {

bool has(const std::string& payload, const char* op) {
  return payload.find(std::string("\"op\":\"") + op + "\"") != std::string::npos;
}

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

}  // namespace

int main() {
  using nimbus::lambda::Invocation;
  using nimbus::lambda::Outcome;
  return nimbus::lambda::run([](const Invocation& in) {
    const auto& p = in.payload;
    if (has(p, "fail")) return Outcome::failure("TestError", "failed on purpose");
    if (has(p, "crash")) std::abort();
    if (has(p, "sleep")) std::this_thread::sleep_for(std::chrono::seconds(10));
    if (has(p, "big")) return Outcome::success("\"" + std::string(7 * 1024 * 1024, 'x') + "\"");
    if (has(p, "print")) {
      std::cout << "first line from " << in.request_id << std::endl;
      std::cerr << "second line" << std::endl;
    }
    if (has(p, "env")) {
      std::string out = "{";
      for (const char* name : {"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
                               "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_LOG_GROUP_NAME",
                               "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_REGION", "LAMBDA_TASK_ROOT",
                               "_HANDLER", "TZ", "MY_SETTING", "HOME", "AWS_ENDPOINT_URL"}) {
        out += "\"" + std::string(name) + "\":\"" + env(name) + "\",";
      }
      out += "\"remaining\":" + std::to_string(in.remaining_ms()) + ",\"arn\":\"" +
             in.function_arn + "\",\"pid\":" + std::to_string(getpid()) +
             ",\"uid\":" + std::to_string(getuid()) + "}";
      return Outcome::success(out);
    }
    return Outcome::success(p);
  });
}

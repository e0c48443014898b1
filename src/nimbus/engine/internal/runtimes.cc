#include "nimbus/engine/internal/runtimes.h"

#include <array>
#include <string_view>

#include <fmt/format.h>

namespace nimbus::engine::internal {

constexpr std::array kProvided = {std::string_view("provided"), std::string_view("provided.al2"),
                                  std::string_view("provided.al2023")};
constexpr std::array kNode = {std::string_view("nodejs18.x"), std::string_view("nodejs20.x"),
                              std::string_view("nodejs22.x")};
constexpr std::array kPython = {std::string_view("python3.8"),  std::string_view("python3.9"),
                                std::string_view("python3.10"), std::string_view("python3.11"),
                                std::string_view("python3.12"), std::string_view("python3.13")};

namespace {

template <class List>
bool contains(const List& list, std::string_view value) {
  for (auto item : list) {
    if (item == value) return true;
  }
  return false;
}

AwsError invalid_runtime(const std::string& runtime) {
  return AwsError("InvalidRuntimeException",
                  fmt::format("The runtime parameter of {} is not supported by Nimbus.", runtime),
                  502, Fault::kServer);
}

}  // namespace

Result<RuntimeLaunch> runtime_launch(const FunctionConfig& function, const EngineOptions& options) {
  RuntimeLaunch launch;
  const std::string& runtime = function.runtime;
  if (contains(kProvided, runtime)) {
    launch.argv = {(function.code_dir / "bootstrap").string()};
    launch.runtime_dir = function.code_dir.string();
    return launch;
  }
  if (contains(kNode, runtime)) {
    launch.runtime_dir = (options.runtimes_dir / "node").string();
    // V8's heap sized from the function's memory as Lambda's Node.js
    // bootstrap sizes it: a tenth for the young generation (two
    // semi-spaces), the rest for the old one. Left to itself, V8 sizes the
    // young generation from the cgroup's limit so small that a warm
    // function spends much of its time in scavenges.
    const std::uint32_t new_space_mb = function.memory_mb / 10;
    launch.argv = {options.node_path, "--expose-gc",
                   fmt::format("--max-semi-space-size={}", new_space_mb / 2),
                   fmt::format("--max-old-space-size={}", function.memory_mb - new_space_mb),
                   launch.runtime_dir + "/bootstrap.mjs"};
    launch.execution_env = "AWS_Lambda_" + runtime;
    return launch;
  }
  if (contains(kPython, runtime)) {
    launch.runtime_dir = (options.runtimes_dir / "python").string();
    // -u: unbuffered, so print() lines reach the log as they happen.
    launch.argv = {options.python_path, "-u", launch.runtime_dir + "/bootstrap.py"};
    launch.execution_env = "AWS_Lambda_" + runtime;
    return launch;
  }
  return invalid_runtime(runtime);
}

}  // namespace nimbus::engine::internal

namespace nimbus::engine {

std::vector<std::string> supported_runtimes() {
  std::vector<std::string> out;
  for (auto runtime : internal::kProvided) out.emplace_back(runtime);
  for (auto runtime : internal::kNode) out.emplace_back(runtime);
  for (auto runtime : internal::kPython) out.emplace_back(runtime);
  return out;
}

}  // namespace nimbus::engine

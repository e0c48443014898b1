#pragma once

// The runtimes Nimbus knows, and how an instance of each is started.

#include <string>
#include <vector>

#include "nimbus/core/result.h"
#include "nimbus/engine/engine.h"

namespace nimbus::engine::internal {

struct RuntimeLaunch {
  std::vector<std::string> argv;
  std::string runtime_dir;    // LAMBDA_RUNTIME_DIR
  std::string execution_env;  // AWS_EXECUTION_ENV; empty for provided runtimes
};

// InvalidRuntimeException-shaped error for a runtime Nimbus cannot run.
Result<RuntimeLaunch> runtime_launch(const FunctionConfig& function, const EngineOptions& options);

}  // namespace nimbus::engine::internal

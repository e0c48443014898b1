#pragma once

#include <string>

namespace nimbus {

// A fresh request id in the UUID form most AWS services use
// ("c6104cbe-af31-11e0-8154-cbc7ccf896c7"), random (version 4). Thread-safe and
// lock-free: each thread keeps its own generator.
std::string new_request_id();

}  // namespace nimbus

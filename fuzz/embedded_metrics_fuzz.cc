// CloudWatch's embedded metric format (outside input: whatever a function
// prints to its log).

#include <cstdint>
#include <string_view>

#include "nimbus/services/cloudwatch/internal/embedded_metrics.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view message(reinterpret_cast<const char*>(data), size);
  (void)nimbus::services::cloudwatch::parse_embedded_metrics(message);
  return 0;
}

#include "nimbus/services/lambda/internal/catalog.h"

namespace nimbus::services::lambda::internal {

std::set<std::string> referenced_code(const Catalog& catalog) {
  std::vector<std::string> hashes;
  for (const auto& record : catalog.all()) record->code_hashes(hashes);
  return {hashes.begin(), hashes.end()};
}

}  // namespace nimbus::services::lambda::internal

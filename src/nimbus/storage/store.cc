#include "nimbus/storage/store.h"

namespace nimbus::storage {

WriteBatch& WriteBatch::put(const Keyspace& keyspace, std::string_view key,
                            std::string_view value) {
  writes_.push_back({Kind::kPut, keyspace.id, std::string(key), std::string(value)});
  return *this;
}

WriteBatch& WriteBatch::del(const Keyspace& keyspace, std::string_view key) {
  writes_.push_back({Kind::kDelete, keyspace.id, std::string(key), {}});
  return *this;
}

bool is_conflict(const AwsError& error) { return error.code() == kConflictCode; }

}  // namespace nimbus::storage

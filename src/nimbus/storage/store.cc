#include "nimbus/storage/store.h"

#include "nimbus/storage/key_encoding.h"

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

ScanOptions ScanOptions::with_prefix(std::string_view prefix) {
  ScanOptions options;
  if (prefix.empty()) return options;
  options.lower = Bound{std::string(prefix), true};
  if (auto successor = prefix_successor(prefix); !successor.empty()) {
    options.upper = Bound{std::move(successor), false};
  }
  return options;
}

bool is_conflict(const AwsError& error) { return error.code() == kConflictCode; }

bool is_would_block(const AwsError& error) { return error.code() == kWouldBlockCode; }

AwsError would_block() {
  return AwsError(std::string(kWouldBlockCode), "the read needs the disk", 503, Fault::kServer);
}

}  // namespace nimbus::storage

#pragma once

// Every function's record, kept in the store (keyspace "lambda.functions",
// one JSON document per function) and mirrored in memory so that invokes and
// reads never wait on the disk. Mutations are serialised, written to the
// store before they become visible, and reported in commit order to one
// listener (the engine's view of the functions).

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <variant>
#include <vector>

#include "nimbus/services/lambda/internal/model.h"
#include "nimbus/storage/store.h"

namespace nimbus::services::lambda::internal {

class Catalog {
 public:
  static constexpr std::string_view kKeyspace = "lambda.functions";

  // Loads every record. Blocks on disk.
  static Result<std::unique_ptr<Catalog>> open(storage::Store& store);

  using Listener = std::function<void(const FunctionRecord* before, const FunctionRecord* after)>;
  // Set once, before serving.
  void set_listener(Listener listener) { listener_ = std::move(listener); }

  std::shared_ptr<const FunctionRecord> find(const std::string& name) const;
  std::vector<std::shared_ptr<const FunctionRecord>> all() const;  // by name

  struct Remove {};
  using Outcome = std::variant<FunctionRecord, Remove>;
  using Mutation = std::function<Result<Outcome>(const FunctionRecord* current)>;

  // Runs `mutation` on the current record (nullptr if none) with every other
  // mutation excluded, stores the outcome, then publishes it. Blocks on disk:
  // call from a storage thread.
  Result<void> mutate(const std::string& name, const Mutation& mutation);

  // Every code hash any function uses, for code collection.
  std::set<std::string> referenced_code() const;

 private:
  Catalog(storage::Store& store, storage::Keyspace keyspace)
      : store_(store), keyspace_(std::move(keyspace)) {}

  storage::Store& store_;
  storage::Keyspace keyspace_;
  Listener listener_;
  std::mutex writer_;
  mutable std::shared_mutex mutex_;
  std::map<std::string, std::shared_ptr<const FunctionRecord>, std::less<>> records_;
};

}  // namespace nimbus::services::lambda::internal

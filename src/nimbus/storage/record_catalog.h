#pragma once

// A keyspace of small records (one per name) mirrored in memory, so that
// reads never wait on the disk: what services keep their configuration in
// (Lambda's functions, API Gateway's APIs). Mutations are serialised, written
// to the store before they become visible, and reported in commit order to
// one listener.
//
// `Record` is a value type with `std::string encode() const` and
// `static Result<Record> decode(std::string_view)`. find() and all() are
// safe from any thread; mutate() blocks on disk, so call it from a storage
// thread (AsyncStore::run).

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "nimbus/storage/store.h"

namespace nimbus::storage {

template <class Record>
class RecordCatalog {
 public:
  // Loads every record. Blocks on disk.
  static Result<std::unique_ptr<RecordCatalog>> open(Store& store, std::string_view keyspace_name) {
    auto keyspace = store.open_or_create_keyspace(keyspace_name);
    if (!keyspace) return keyspace.error();
    std::unique_ptr<RecordCatalog> catalog(new RecordCatalog(store, *keyspace));
    ScanOptions options;
    options.limit = 1000;
    for (;;) {
      auto page = store.scan(*keyspace, options);
      if (!page) return page.error();
      for (const auto& item : page->items) {
        auto record = Record::decode(item.value);
        if (!record) {
          return AwsError::internal(fmt::format("{} {} is unreadable: {}", keyspace_name, item.key,
                                                record.error().message()));
        }
        catalog->records_[item.key] = std::make_shared<const Record>(std::move(*record));
      }
      if (!page->cursor) break;
      options.cursor = page->cursor;
    }
    return catalog;
  }

  using Listener = std::function<void(const Record* before, const Record* after)>;
  // Set once, before serving.
  void set_listener(Listener listener) { listener_ = std::move(listener); }

  std::shared_ptr<const Record> find(const std::string& name) const {
    std::shared_lock lock(mutex_);
    const auto it = records_.find(name);
    return it == records_.end() ? nullptr : it->second;
  }

  std::vector<std::shared_ptr<const Record>> all() const {  // by name
    std::shared_lock lock(mutex_);
    std::vector<std::shared_ptr<const Record>> out;
    out.reserve(records_.size());
    for (const auto& [name, record] : records_) out.push_back(record);
    return out;
  }

  struct Remove {};
  using Outcome = std::variant<Record, Remove>;
  using Mutation = std::function<Result<Outcome>(const Record* current)>;

  // Runs `mutation` on the current record (nullptr if none) with every other
  // mutation excluded, stores the outcome, then publishes it.
  Result<void> mutate(const std::string& name, const Mutation& mutation) {
    std::lock_guard writer(writer_);
    const auto before = find(name);
    auto outcome = mutation(before.get());
    if (!outcome) return outcome.error();
    std::shared_ptr<const Record> after;
    if (auto* record = std::get_if<Record>(&*outcome)) {
      after = std::make_shared<const Record>(std::move(*record));
      if (auto stored = store_.put(keyspace_, name, after->encode()); !stored) {
        return stored.error();
      }
    } else if (before) {
      if (auto removed = store_.del(keyspace_, name); !removed) return removed.error();
    }
    {
      std::unique_lock lock(mutex_);
      if (after) {
        records_[name] = after;
      } else {
        records_.erase(name);
      }
    }
    if (listener_) listener_(before.get(), after.get());
    return ok();
  }

 private:
  RecordCatalog(Store& store, Keyspace keyspace) : store_(store), keyspace_(std::move(keyspace)) {}

  Store& store_;
  Keyspace keyspace_;
  Listener listener_;
  std::mutex writer_;
  mutable std::shared_mutex mutex_;
  std::map<std::string, std::shared_ptr<const Record>, std::less<>> records_;
};

}  // namespace nimbus::storage

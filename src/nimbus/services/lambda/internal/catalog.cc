#include "nimbus/services/lambda/internal/catalog.h"

#include <set>

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace nimbus::services::lambda::internal {

Result<std::unique_ptr<Catalog>> Catalog::open(storage::Store& store) {
  auto keyspace = store.open_or_create_keyspace(kKeyspace);
  if (!keyspace) return keyspace.error();
  std::unique_ptr<Catalog> catalog(new Catalog(store, *keyspace));
  storage::ScanOptions options;
  options.limit = 1000;
  for (;;) {
    auto page = store.scan(*keyspace, options);
    if (!page) return page.error();
    for (const auto& item : page->items) {
      boost::system::error_code error;
      auto json = boost::json::parse(item.value, error);
      if (error) return AwsError::internal(fmt::format("function {} is unreadable", item.key));
      auto record = FunctionRecord::from_json(json);
      if (!record) return record.error();
      catalog->records_[item.key] = std::make_shared<const FunctionRecord>(std::move(*record));
    }
    if (!page->cursor) break;
    options.cursor = page->cursor;
  }
  return catalog;
}

std::shared_ptr<const FunctionRecord> Catalog::find(const std::string& name) const {
  std::shared_lock lock(mutex_);
  const auto it = records_.find(name);
  return it == records_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const FunctionRecord>> Catalog::all() const {
  std::shared_lock lock(mutex_);
  std::vector<std::shared_ptr<const FunctionRecord>> out;
  out.reserve(records_.size());
  for (const auto& [name, record] : records_) out.push_back(record);
  return out;
}

Result<void> Catalog::mutate(const std::string& name, const Mutation& mutation) {
  std::lock_guard writer(writer_);
  const auto before = find(name);
  auto outcome = mutation(before.get());
  if (!outcome) return outcome.error();
  std::shared_ptr<const FunctionRecord> after;
  if (auto* record = std::get_if<FunctionRecord>(&*outcome)) {
    after = std::make_shared<const FunctionRecord>(std::move(*record));
    const std::string value = boost::json::serialize(after->to_json());
    if (auto stored = store_.put(keyspace_, name, value); !stored) return stored.error();
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

std::set<std::string> Catalog::referenced_code() const {
  std::vector<std::string> hashes;
  for (const auto& record : all()) record->code_hashes(hashes);
  return {hashes.begin(), hashes.end()};
}

}  // namespace nimbus::services::lambda::internal

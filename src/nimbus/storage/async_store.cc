#include "nimbus/storage/async_store.h"

#include <thread>

namespace nimbus::storage {

AsyncStore::AsyncStore(Store& store, AsyncStoreOptions options)
    : store_(store), options_(options), pool_(options.threads) {}

AsyncStore::~AsyncStore() { stop(); }

void AsyncStore::stop() { pool_.join(); }

AwsError AsyncStore::overloaded() {
  return AwsError("ThrottlingException", "Storage is overloaded; retry the request.", 503);
}

boost::asio::awaitable<Result<std::optional<std::string>>> AsyncStore::get(Keyspace keyspace,
                                                                           std::string key) {
  auto work = [keyspace = std::move(keyspace), key = std::move(key)](Store& store) {
    return store.get(keyspace, key);
  };
  co_return co_await run(std::move(work));
}

boost::asio::awaitable<Result<void>> AsyncStore::put(Keyspace keyspace, std::string key,
                                                     std::string value) {
  auto work = [keyspace = std::move(keyspace), key = std::move(key),
               value = std::move(value)](Store& store) { return store.put(keyspace, key, value); };
  co_return co_await run(std::move(work));
}

boost::asio::awaitable<Result<void>> AsyncStore::write(WriteBatch batch) {
  auto work = [batch = std::move(batch)](Store& store) { return store.write(batch); };
  co_return co_await run(std::move(work));
}

boost::asio::awaitable<Result<ScanPage>> AsyncStore::scan(Keyspace keyspace, ScanOptions options) {
  auto work = [keyspace = std::move(keyspace), options = std::move(options)](Store& store) {
    return store.scan(keyspace, options);
  };
  co_return co_await run(std::move(work));
}

}  // namespace nimbus::storage

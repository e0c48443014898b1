// The child of crash_test.cc: writes batches as fast as it can and reports
// each one on stdout only after the store acknowledged it, until killed.
//
//   storage_crash_child DIR CYCLE

#include <cstdio>
#include <random>
#include <string>

#include "nimbus/storage/store.h"

using namespace nimbus::storage;

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  StoreOptions options;
  options.path = argv[1];
  options.block_cache_bytes = 8 << 20;
  options.memtable_bytes = 4 << 20;  // small: flushes happen during the test
  auto store = Store::open(options);
  if (!store) {
    std::fprintf(stderr, "open: %s\n", store.error().message().c_str());
    return 1;
  }
  auto items = (*store)->open_or_create_keyspace("items").value();
  auto index = (*store)->open_or_create_keyspace("index").value();
  std::mt19937_64 rng(std::stoull(argv[2]));
  const std::string padding(200, 'p');
  std::printf("READY\n");
  std::fflush(stdout);
  for (std::uint64_t i = 0;; ++i) {
    const std::string id = std::string(argv[2]) + "-" + std::to_string(i);
    const int parts = 1 + static_cast<int>(rng() % 8);
    bool written = false;
    if (i % 4 == 3) {
      auto txn = (*store)->begin();
      for (int k = 0; k < parts; ++k) {
        (void)txn->put(items, id + "/" + std::to_string(k), padding);
      }
      (void)txn->put(index, id, std::to_string(parts));
      written = static_cast<bool>(txn->commit());
    } else {
      WriteBatch batch;
      for (int k = 0; k < parts; ++k) batch.put(items, id + "/" + std::to_string(k), padding);
      batch.put(index, id, std::to_string(parts));
      written = static_cast<bool>((*store)->write(batch));
    }
    if (!written) return 1;
    std::printf("ACK %s %d\n", id.c_str(), parts);
    std::fflush(stdout);
  }
}

#pragma once

// Test helper: a store in a fresh temporary directory, removed afterwards.

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "nimbus/storage/store.h"

namespace nimbus::storage {

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("nimbus-storage-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::unique_ptr<Store> open_store(const std::filesystem::path& path,
                                         Durability durability = Durability::kProcessCrash) {
  StoreOptions options;
  options.path = path;
  options.durability = durability;
  options.block_cache_bytes = 8 << 20;
  options.memtable_bytes = 8 << 20;
  auto store = Store::open(options);
  EXPECT_TRUE(store) << (store ? "" : store.error().message());
  return store ? std::move(*store) : nullptr;
}

}  // namespace nimbus::storage

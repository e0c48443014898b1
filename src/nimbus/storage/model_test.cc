// Model-based test: random operations applied to the store and to a plain
// in-memory model, compared after every step.

#include <map>
#include <random>

#include <gtest/gtest.h>

#include "nimbus/storage/test_store.h"

namespace nimbus::storage {
namespace {

using Model =
    std::map<std::string, std::map<std::string, std::string>>;  // keyspace -> key -> value

class ModelTest : public ::testing::Test {
 protected:
  std::string random_key() {
    static const char alphabet[] = {'\0', 'a', 'b', '\xff'};
    std::string key;
    const int length = static_cast<int>(rng_() % 5);
    for (int i = 0; i < length; ++i) key.push_back(alphabet[rng_() % 4]);
    return key;
  }
  std::string random_value() { return std::to_string(rng_() % 1000); }
  std::string random_keyspace() { return names_[rng_() % names_.size()]; }

  std::vector<KeyValue> model_scan(const std::map<std::string, std::string>& data,
                                   const ScanOptions& options) {
    std::vector<KeyValue> out;
    for (const auto& [key, value] : data) {
      if (options.lower &&
          (key < options.lower->key || (!options.lower->inclusive && key == options.lower->key)))
        continue;
      if (options.upper &&
          (key > options.upper->key || (!options.upper->inclusive && key == options.upper->key)))
        continue;
      out.push_back({key, value});
    }
    if (options.direction == Direction::kBackward) std::reverse(out.begin(), out.end());
    return out;
  }

  // Scans the whole range page by page and checks it against the model.
  void check_scan(const Keyspace& keyspace, const std::map<std::string, std::string>& data,
                  std::shared_ptr<const Snapshot> snapshot) {
    ScanOptions options;
    if (rng_() % 2) options.lower = Bound{random_key(), rng_() % 2 == 0};
    if (rng_() % 2) options.upper = Bound{random_key(), rng_() % 2 == 0};
    options.direction = rng_() % 2 ? Direction::kForward : Direction::kBackward;
    options.limit = rng_() % 4;
    options.snapshot = std::move(snapshot);
    std::vector<KeyValue> seen;
    for (int pages = 0; pages < 1000; ++pages) {
      auto page = store_->scan(keyspace, options);
      ASSERT_TRUE(page) << page.error().message();
      if (options.limit > 0) {
        ASSERT_LE(page->items.size(), options.limit);
      }
      seen.insert(seen.end(), page->items.begin(), page->items.end());
      if (!page->cursor) break;
      options.cursor = page->cursor;
    }
    EXPECT_EQ(seen, model_scan(data, options));
  }

  std::unique_ptr<Store> store_;
  std::mt19937_64 rng_{
      static_cast<std::uint64_t>(::testing::UnitTest::GetInstance()->random_seed()) + 20261126};
  std::vector<std::string> names_{"alpha", "beta", "gamma"};
};

TEST_F(ModelTest, RandomOperationsMatchTheModel) {
  TempDir dir;
  store_ = open_store(dir.path());
  ASSERT_TRUE(store_);
  Model model;
  std::map<std::string, Keyspace> keyspaces;
  for (const auto& name : names_) {
    keyspaces[name] = store_->create_keyspace(name).value();
    model[name];
  }
  std::vector<std::pair<std::shared_ptr<const Snapshot>, Model>> snapshots;

  constexpr int kSteps = 4000;
  for (int step = 0; step < kSteps; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    const auto name = random_keyspace();
    const auto& keyspace = keyspaces[name];
    auto& data = model[name];
    const int op = static_cast<int>(rng_() % 100);
    if (op < 25) {
      const auto key = random_key();
      const auto value = random_value();
      ASSERT_TRUE(store_->put(keyspace, key, value));
      data[key] = value;
    } else if (op < 35) {
      const auto key = random_key();
      ASSERT_TRUE(store_->del(keyspace, key));
      data.erase(key);
    } else if (op < 45) {
      WriteBatch batch;
      Model after = model;
      const int writes = 1 + static_cast<int>(rng_() % 6);
      for (int i = 0; i < writes; ++i) {
        const auto target = random_keyspace();
        const auto key = random_key();
        if (rng_() % 3) {
          const auto value = random_value();
          batch.put(keyspaces[target], key, value);
          after[target][key] = value;
        } else {
          batch.del(keyspaces[target], key);
          after[target].erase(key);
        }
      }
      ASSERT_TRUE(store_->write(batch));
      model = std::move(after);
    } else if (op < 60) {
      const auto key = random_key();
      const auto got = store_->get(keyspace, key);
      ASSERT_TRUE(got);
      const auto it = data.find(key);
      EXPECT_EQ(*got, it == data.end() ? std::nullopt : std::optional<std::string>(it->second));
    } else if (op < 75) {
      check_scan(keyspace, data, nullptr);
    } else if (op < 85) {
      // A read-modify-write transaction; sometimes another writer changes a
      // key it read first, and then it must fail and change nothing.
      auto txn = store_->begin();
      const auto read_key = random_key();
      const auto read = txn->get(keyspace, read_key);
      ASSERT_TRUE(read);
      const auto it = data.find(read_key);
      EXPECT_EQ(*read, it == data.end() ? std::nullopt : std::optional<std::string>(it->second));
      Model after = model;
      const int writes = 1 + static_cast<int>(rng_() % 4);
      for (int i = 0; i < writes; ++i) {
        const auto target = random_keyspace();
        const auto key = random_key();
        const auto value = random_value();
        ASSERT_TRUE(txn->put(keyspaces[target], key, value));
        after[target][key] = value;
      }
      const bool interfere = rng_() % 3 == 0;
      if (interfere) {
        const auto value = random_value();
        ASSERT_TRUE(store_->put(keyspace, read_key, value));
        data[read_key] = value;
      }
      const auto committed = txn->commit();
      if (interfere) {
        ASSERT_FALSE(committed);
        EXPECT_TRUE(is_conflict(committed.error()));
      } else {
        ASSERT_TRUE(committed) << committed.error().message();
        model = std::move(after);
      }
    } else if (op < 90) {
      if (snapshots.size() < 4) snapshots.emplace_back(store_->snapshot(), model);
    } else if (op < 95) {
      if (!snapshots.empty()) {
        const auto& [snapshot, then] = snapshots[rng_() % snapshots.size()];
        const auto key = random_key();
        const auto& then_data = then.at(name);
        const auto it = then_data.find(key);
        const auto got = store_->get(keyspace, key, snapshot.get());
        ASSERT_TRUE(got);
        EXPECT_EQ(*got,
                  it == then_data.end() ? std::nullopt : std::optional<std::string>(it->second));
        check_scan(keyspace, then_data, snapshot);
        if (rng_() % 2) snapshots.erase(snapshots.begin());
      }
    } else if (op < 98) {
      ASSERT_TRUE(store_->drop_keyspace(name));
      keyspaces[name] = store_->create_keyspace(name).value();
      data.clear();
      snapshots.clear();  // they refer to keyspace handles that are gone
    } else {
      snapshots.clear();
      store_.reset();
      store_ = open_store(dir.path());
      ASSERT_TRUE(store_);
      for (const auto& n : names_) EXPECT_EQ(store_->open_keyspace(n).value(), keyspaces[n]);
    }
  }
  // Final full comparison.
  for (const auto& name : names_) {
    std::map<std::string, std::string> actual;
    for (auto& item : store_->scan(keyspaces[name], {}).value().items)
      actual[item.key] = item.value;
    EXPECT_EQ(actual, model[name]) << name;
  }
}

}  // namespace
}  // namespace nimbus::storage

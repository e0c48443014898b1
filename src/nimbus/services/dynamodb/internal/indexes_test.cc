#include "nimbus/services/dynamodb/internal/indexes.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace nimbus::services::dynamodb {
namespace {

Item item_of(std::string_view json) { return parse_item(boost::json::parse(json)).value(); }
// Items compare by their stored form (AttributeValue has no ==).
std::string stored(const Item& item) { return encode_item(item); }

// pk/sk table; "byDue" (status S, due N) keeps KEYS_ONLY, "byOwner"
// (owner S) keeps everything.
TableRecord table_with_indexes() {
  TableRecord table;
  table.name = "t";
  table.id = "id";
  table.hash = {"pk", ValueType::kS};
  table.range = KeyAttribute{"sk", ValueType::kS};
  SecondaryIndex by_due;
  by_due.name = "byDue";
  by_due.hash = {"status", ValueType::kS};
  by_due.range = KeyAttribute{"due", ValueType::kN};
  by_due.projection_type = "KEYS_ONLY";
  SecondaryIndex by_owner;
  by_owner.name = "byOwner";
  by_owner.hash = {"owner", ValueType::kS};
  table.indexes = {by_due, by_owner};
  return table;
}

const std::vector<storage::Keyspace> kKeyspaces = {{"due", 1}, {"owner", 2}};

TEST(Indexes, EntriesOrderByTheIndexKeyThenTheTableKeyAndSkipItemsWithoutIt) {
  const TableRecord table = table_with_indexes();
  const SecondaryIndex& by_due = table.indexes[0];
  auto entry = [&](std::string_view json) {
    const Item item = item_of(json);
    return index_entry_key(by_due, item,
                           storage_key(table, key_of(table, item), KeySource::kKey).value());
  };
  const auto due_2_b =
      entry(R"({"pk":{"S":"b"},"sk":{"S":"1"},"status":{"S":"s"},"due":{"N":"2"}})");
  const auto due_2_a =
      entry(R"({"pk":{"S":"a"},"sk":{"S":"9"},"status":{"S":"s"},"due":{"N":"2"}})");
  const auto due_10 =
      entry(R"({"pk":{"S":"a"},"sk":{"S":"1"},"status":{"S":"s"},"due":{"N":"10"}})");
  ASSERT_TRUE(due_2_b && due_2_a && due_10);
  EXPECT_NE(*due_2_a, *due_2_b);  // one index key, two items: two entries
  EXPECT_LT(std::max(*due_2_a, *due_2_b), *due_10);
  const std::string prefix = partition_prefix(item_of(R"({"v":{"S":"s"}})").at("v"));
  EXPECT_TRUE(due_2_a->starts_with(prefix));
  // Sparse: no due, or a due of another type, is no entry.
  EXPECT_FALSE(entry(R"({"pk":{"S":"a"},"sk":{"S":"1"},"status":{"S":"s"}})"));
  EXPECT_FALSE(entry(R"({"pk":{"S":"a"},"sk":{"S":"1"},"status":{"S":"s"},"due":{"S":"2"}})"));
}

TEST(Indexes, ProjectionsKeepTheKeysAndWhatTheyName) {
  TableRecord table = table_with_indexes();
  const Item item = item_of(
      R"({"pk":{"S":"a"},"sk":{"S":"1"},"status":{"S":"s"},"due":{"N":"2"},"x":{"S":"x"}})");
  EXPECT_EQ(index_projection(table, table.indexes[0], item).size(), 4u);
  EXPECT_EQ(stored(index_projection(table, table.indexes[1], item)), stored(item));
  table.indexes[0].projection_type = "INCLUDE";
  table.indexes[0].non_key_attributes = {"x", "absent"};
  EXPECT_EQ(stored(index_projection(table, table.indexes[0], item)), stored(item));
}

TEST(Indexes, WritesTouchOnlyTheEntriesThatChange) {
  const TableRecord table = table_with_indexes();
  const std::string key = "k";
  const Item old_item = item_of(
      R"({"pk":{"S":"a"},"sk":{"S":"1"},"status":{"S":"s"},"due":{"N":"2"},"owner":{"S":"o"}})");

  // A new item: one put per index it has keys for.
  storage::WriteBatch added;
  EXPECT_EQ(add_index_writes(table, kKeyspaces, key, nullptr, &old_item, added), 2);
  ASSERT_EQ(added.writes().size(), 2u);
  EXPECT_EQ(added.writes()[0].kind, storage::WriteBatch::Kind::kPut);

  // A non-key attribute changes: the KEYS_ONLY entry stays, the ALL one is rewritten.
  Item noted = old_item;
  noted["note"] = item_of(R"({"v":{"S":"n"}})").at("v");
  storage::WriteBatch rewritten;
  EXPECT_EQ(add_index_writes(table, kKeyspaces, key, &old_item, &noted, rewritten), 1);
  ASSERT_EQ(rewritten.writes().size(), 1u);
  EXPECT_EQ(rewritten.writes()[0].keyspace_id, 2u);

  // The index key changes: the old entry goes and a new one comes; the
  // ALL index's entry is rewritten with the new value.
  Item moved = old_item;
  moved["due"] = item_of(R"({"v":{"N":"3"}})").at("v");
  storage::WriteBatch moves;
  EXPECT_EQ(add_index_writes(table, kKeyspaces, key, &old_item, &moved, moves), 3);
  ASSERT_EQ(moves.writes().size(), 3u);
  EXPECT_EQ(moves.writes()[0].kind, storage::WriteBatch::Kind::kDelete);
  EXPECT_EQ(moves.writes()[1].kind, storage::WriteBatch::Kind::kPut);
  EXPECT_EQ(moves.writes()[0].keyspace_id, 1u);
  EXPECT_EQ(moves.writes()[1].keyspace_id, 1u);
  EXPECT_NE(moves.writes()[0].key, moves.writes()[1].key);
  EXPECT_EQ(moves.writes()[2].keyspace_id, 2u);
  // Each index's share, in the record's order.
  storage::WriteBatch shared;
  std::vector<std::int64_t> by_index;
  EXPECT_EQ(add_index_writes(table, kKeyspaces, key, &old_item, &moved, shared, &by_index), 3);
  EXPECT_EQ(by_index, (std::vector<std::int64_t>{2, 1}));

  // A deletion removes every entry.
  storage::WriteBatch removed;
  EXPECT_EQ(add_index_writes(table, kKeyspaces, key, &old_item, nullptr, removed), 2);
  for (const auto& write : removed.writes()) {
    EXPECT_EQ(write.kind, storage::WriteBatch::Kind::kDelete);
  }
}

TEST(Indexes, KeyAttributesOfTheWrongTypeOrEmptyAreRefused) {
  const TableRecord table = table_with_indexes();
  EXPECT_TRUE(check_index_keys(table, item_of(R"({"pk":{"S":"a"},"due":{"N":"1"}})")));
  const auto mismatch = check_index_keys(table, item_of(R"({"pk":{"S":"a"},"due":{"S":"1"}})"));
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().message(),
            "One or more parameter values were invalid: Type mismatch for Index Key due Expected: "
            "N Actual: S IndexName: byDue");
  const auto empty = check_index_keys(table, item_of(R"({"pk":{"S":"a"},"owner":{"S":""}})"));
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message().find("IndexName: byOwner, IndexKey: owner"), std::string::npos);
}

}  // namespace
}  // namespace nimbus::services::dynamodb

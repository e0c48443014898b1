#include "nimbus/services/dynamodb/internal/evaluate.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace nimbus::services::dynamodb {
namespace {

Item item_of(std::string_view json) { return parse_item(boost::json::parse(json)).value(); }
std::string json_of(const Item& item) { return boost::json::serialize(to_json(item)); }

constexpr std::string_view kValues =
    R"({":one":{"N":"1"},":x":{"S":"x"},":S":{"S":"S"},":l":{"L":[{"N":"9"}]},":ss":{"SS":["b","c"]}})";

bool holds(std::string_view condition, const Item& item) {
  boost::json::value values = boost::json::parse(kValues);
  auto attributes = ExpressionAttributes::make(nullptr, &values).value();
  auto parsed = parse_condition(condition, "ConditionExpression", attributes).value();
  return evaluate(parsed, item);
}

Result<Item> updated(std::string_view update, Item item) {
  boost::json::value values = boost::json::parse(kValues);
  auto attributes = ExpressionAttributes::make(nullptr, &values).value();
  auto actions = parse_update(update, attributes).value();
  if (auto applied = apply_update(actions, item); !applied) return applied.error();
  return item;
}

TEST(Evaluate, ComparesOnlyLikeTypes) {
  const Item item = item_of(R"({"n":{"N":"1"},"s":{"S":"x"},"m":{"M":{"k":{"N":"1"}}}})");
  EXPECT_TRUE(holds("n = :one", item));
  EXPECT_FALSE(holds("s = :one", item));
  EXPECT_FALSE(holds("s < :one", item));
  EXPECT_TRUE(holds("m.k <= :one", item));
  EXPECT_TRUE(holds("nothing <> :one", item));
  EXPECT_FALSE(holds("nothing = :one", item));
  EXPECT_TRUE(holds("n BETWEEN :one AND :one", item));
  EXPECT_TRUE(holds("s IN (:one, :x)", item));
}

TEST(Evaluate, Functions) {
  const Item item = item_of(R"({"s":{"S":"xyz"},"ss":{"SS":["a","b"]},"l":{"L":[{"N":"9"}]}})");
  EXPECT_TRUE(holds("begins_with(s, :x)", item));
  EXPECT_TRUE(holds("contains(s, :x)", item));
  EXPECT_FALSE(holds("contains(ss, :x)", item));
  EXPECT_TRUE(holds("size(ss) > :one", item));
  EXPECT_TRUE(holds("attribute_type(s, :S) OR attribute_exists(l[0])", item));
  EXPECT_FALSE(holds("attribute_exists(l[1])", item));
  EXPECT_TRUE(holds("attribute_not_exists(nope)", item));
}

TEST(Evaluate, UpdatesReadTheItemBeforeTheUpdate) {
  auto result = updated("SET a = :one, b = a", item_of(R"({"a":{"N":"5"}})"));
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(json_of(*result), R"({"a":{"N":"1"},"b":{"N":"5"}})");
}

TEST(Evaluate, ArithmeticAndListsAndSets) {
  auto result = updated(
      "SET n = n + :one, l = list_append(:l, l), m = if_not_exists(m, :one) ADD ss :ss, c :one",
      item_of(R"({"n":{"N":"1.5"},"l":{"L":[{"S":"a"}]},"ss":{"SS":["a","b"]}})"));
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(json_of(*result),
            R"({"c":{"N":"1"},"l":{"L":[{"N":"9"},{"S":"a"}]},"m":{"N":"1"},"n":{"N":"2.5"},)"
            R"("ss":{"SS":["a","b","c"]}})");
}

TEST(Evaluate, RemovesListElementsByTheirOriginalIndexes) {
  auto result = updated("REMOVE l[0], l[2]",
                        item_of(R"({"l":{"L":[{"N":"0"},{"N":"1"},{"N":"2"},{"N":"3"}]}})"));
  ASSERT_TRUE(result);
  EXPECT_EQ(json_of(*result), R"({"l":{"L":[{"N":"1"},{"N":"3"}]}})");
}

TEST(Evaluate, DeletingTheLastMembersRemovesTheSet) {
  auto result = updated("DELETE ss :ss", item_of(R"({"ss":{"SS":["b","c"]}})"));
  ASSERT_TRUE(result);
  EXPECT_EQ(json_of(*result), "{}");
}

TEST(Evaluate, UpdateErrorsAsDynamoDb) {
  auto missing = updated("SET a = b + :one", item_of("{}"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(),
            "The provided expression refers to an attribute that does not exist in the item");
  auto wrong = updated("SET a = a + :one", item_of(R"({"a":{"S":"x"}})"));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().message(),
            "An operand in the update expression has an incorrect data type");
  auto path = updated("SET a.b = :one", item_of("{}"));
  ASSERT_FALSE(path);
  EXPECT_EQ(path.error().message(),
            "The document path provided in the update expression is invalid for update");
}

TEST(Evaluate, ProjectsNestedPaths) {
  const Item item = item_of(
      R"({"a":{"M":{"b":{"N":"1"},"c":{"N":"2"}}},"l":{"L":[{"N":"0"},{"N":"1"},{"N":"2"}]},"z":{"N":"3"}})");
  auto attributes = ExpressionAttributes::make(nullptr, nullptr).value();
  auto paths = parse_projection("a.c, l[2], l[0], nothing", attributes).value();
  EXPECT_EQ(json_of(project(item, paths)),
            R"({"a":{"M":{"c":{"N":"2"}}},"l":{"L":[{"N":"0"},{"N":"2"}]}})");
}

}  // namespace
}  // namespace nimbus::services::dynamodb

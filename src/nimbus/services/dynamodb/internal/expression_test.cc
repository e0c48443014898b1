#include "nimbus/services/dynamodb/internal/expression.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace nimbus::services::dynamodb {
namespace {

struct Attributes {
  boost::json::value names;
  boost::json::value values;
  ExpressionAttributes make() { return ExpressionAttributes::make(&names, &values).value(); }
};

Attributes with(std::string_view names, std::string_view values) {
  return {boost::json::parse(names), boost::json::parse(values)};
}

std::string condition_error(std::string_view text, std::string_view names = "null",
                            std::string_view values = R"({":v":{"N":"1"},":s":{"S":"x"}})") {
  auto attributes = with(names, values).make();
  auto parsed = parse_condition(text, "ConditionExpression", attributes);
  return parsed ? "" : parsed.error().message();
}

std::string update_error(std::string_view text,
                         std::string_view values = R"({":v":{"N":"1"},":s":{"S":"x"}})") {
  auto attributes = with("null", values).make();
  auto parsed = parse_update(text, attributes);
  return parsed ? "" : parsed.error().message();
}

TEST(ConditionExpression, ParsesPrecedenceAndFunctions) {
  auto attributes = with(R"({"#n":"name"})", R"({":v":{"N":"1"},":s":{"S":"x"}})").make();
  auto parsed = parse_condition("a = :v OR NOT attribute_exists(#n) AND begins_with(b.c[2], :s)",
                                "ConditionExpression", attributes);
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(parsed->kind, Condition::Kind::kOr);
  EXPECT_EQ(parsed->children[1].kind, Condition::Kind::kAnd);
  EXPECT_EQ(parsed->children[1].children[0].kind, Condition::Kind::kNot);
  const auto& begins = parsed->children[1].children[1];
  EXPECT_EQ(begins.kind, Condition::Kind::kBeginsWith);
  EXPECT_EQ(begins.operands[0].path.describe(), "[b, c, [2]]");
  EXPECT_TRUE(attributes.check_all_used());
}

TEST(ConditionExpression, ReportsSyntaxErrorsAsDynamoDb) {
  // As DynamoDB reports them: the previous token through the next one.
  EXPECT_EQ(condition_error("a = "),
            "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"=\"");
  EXPECT_EQ(condition_error("a = = :v"),
            "Invalid ConditionExpression: Syntax error; token: \"=\", near: \"= = :v\"");
  EXPECT_EQ(condition_error("a-b"),
            "Invalid ConditionExpression: Syntax error; token: \"-\", near: \"a-b\"");
  EXPECT_EQ(condition_error("a !! b"),
            "Invalid ConditionExpression: Syntax error; token: \"!\", near: \"a !!\"");
  auto attributes = with("null", R"({":incr":{"N":"1"}})").make();
  auto update = parse_update("ADD hits : incr", attributes);
  ASSERT_FALSE(update);
  EXPECT_EQ(update.error().message(),
            "Invalid UpdateExpression: Syntax error; token: \":\", near: \"hits : incr\"");
  auto invalid = parse_update("INVALID SYNTAX HERE", attributes);
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().message(),
            "Invalid UpdateExpression: Syntax error; token: \"INVALID\", near: \"INVALID SYNTAX\"");
  EXPECT_EQ(condition_error(""), "Invalid ConditionExpression: The expression can not be empty;");
}

TEST(ConditionExpression, ReportsSemanticErrorsAsDynamoDb) {
  EXPECT_EQ(condition_error("status = :v"),
            "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: "
            "status");
  EXPECT_EQ(condition_error("a = :missing"),
            "Invalid ConditionExpression: An expression attribute value used in expression is "
            "not defined; attribute value: :missing");
  EXPECT_EQ(condition_error("#missing = :v"),
            "Invalid ConditionExpression: An expression attribute name used in the document path "
            "is not defined; attribute name: #missing");
  EXPECT_EQ(condition_error("foo(a)"),
            "Invalid ConditionExpression: Invalid function name; function: foo");
  EXPECT_EQ(condition_error("attribute_exists(a, b)"),
            "Invalid ConditionExpression: Incorrect number of operands for operator or function; "
            "operator or function: attribute_exists, number of operands: 2");
  EXPECT_EQ(condition_error("begins_with(a, :v)"),
            "Invalid ConditionExpression: Incorrect operand type for operator or function; "
            "operator or function: begins_with, operand type: N");
  EXPECT_EQ(condition_error("size(a)"),
            "Invalid ConditionExpression: The function is not allowed to be used this way in an "
            "expression; function: size");
  EXPECT_EQ(condition_error("a = a"),
            "Invalid ConditionExpression: The first operand must be distinct from the remaining "
            "operands for this operator or function; operator: =, first operand: [a]");
  EXPECT_EQ(condition_error("((a = :v))"),
            "Invalid ConditionExpression: The expression has redundant parentheses;");
  EXPECT_EQ(condition_error("(a = :v) AND (b = :s)"), "");
  EXPECT_EQ(condition_error("a BETWEEN :s AND :v"),
            "Invalid ConditionExpression: The BETWEEN operator requires same data type for lower "
            "and upper bounds; lower bound operand: AttributeValue: {S:x}, upper bound operand: "
            "AttributeValue: {N:1}");
}

TEST(ConditionExpression, RefusesNestingDeepEnoughToExhaustTheStack) {
  EXPECT_EQ(condition_error(std::string(2000, '(') + "a = :v" + std::string(2000, ')')),
            "Invalid ConditionExpression: The expression is nested more than 100 levels deep;");
  std::string nots;
  for (int i = 0; i < 1000; ++i) nots += "NOT ";
  EXPECT_EQ(condition_error(nots + "a = :v"),
            "Invalid ConditionExpression: The expression is nested more than 100 levels deep;");
  std::string sizes = "a";
  for (int i = 0; i < 600; ++i) sizes = "size(" + sizes + ")";
  EXPECT_EQ(condition_error(sizes + " = :v"),
            "Invalid ConditionExpression: The expression is nested more than 100 levels deep;");
  EXPECT_EQ(update_error("SET a = " + std::string(300, ' ') + ":v"), "");
}

TEST(ExpressionAttributes, RefusesUnusedNamesAndValues) {
  auto attributes = with(R"({"#a":"a","#b":"b"})", R"({":v":{"N":"1"}})").make();
  ASSERT_TRUE(parse_condition("#a = :v", "ConditionExpression", attributes));
  auto used = attributes.check_all_used();
  ASSERT_FALSE(used);
  EXPECT_EQ(used.error().message(),
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}");
}

TEST(UpdateExpression, ParsesEveryClause) {
  auto attributes = with("null", R"({":v":{"N":"1"},":l":{"L":[]},":ss":{"SS":["a"]}})").make();
  auto parsed = parse_update(
      "SET a = a + :v, b = list_append(if_not_exists(b, :l), :l) REMOVE c[1], d ADD e :v "
      "DELETE f :ss",
      attributes);
  ASSERT_TRUE(parsed) << parsed.error().message();
  ASSERT_EQ(parsed->size(), 6u);
  EXPECT_EQ((*parsed)[0].value.kind, Operand::Kind::kPlus);
  EXPECT_EQ((*parsed)[1].value.kind, Operand::Kind::kListAppend);
  EXPECT_EQ((*parsed)[2].kind, UpdateAction::Kind::kRemove);
  EXPECT_EQ((*parsed)[4].kind, UpdateAction::Kind::kAdd);
  EXPECT_EQ((*parsed)[5].kind, UpdateAction::Kind::kDelete);
}

TEST(UpdateExpression, ReportsDynamoDbErrors) {
  EXPECT_EQ(update_error("SET a = :v, a.b = :v"),
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove "
            "or rewrite one of these paths; path one: [a], path two: [a, b]");
  EXPECT_EQ(update_error("SET a.b = :v, a[1] = :v"),
            "Invalid UpdateExpression: Two document paths conflict with each other; must remove "
            "or rewrite one of these paths; path one: [a, b], path two: [a, [1]]");
  EXPECT_EQ(update_error("SET a = :v SET b = :v"),
            "Invalid UpdateExpression: The \"SET\" section can only be used once in an update "
            "expression;");
  EXPECT_EQ(update_error("ADD a :s"),
            "Invalid UpdateExpression: Incorrect operand type for operator or function; "
            "operator: ADD, operand type: STRING");
  EXPECT_EQ(update_error("SET a = size(b)"),
            "Invalid UpdateExpression: The function is not allowed to be used this way in an "
            "expression; function: size");
}

TEST(ProjectionExpression, RefusesOverlappingPaths) {
  auto attributes = with("null", "null").make();
  auto parsed = parse_projection("a, a.b", attributes);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message(),
            "Invalid ProjectionExpression: Two document paths overlap with each other; must "
            "remove or rewrite one of these paths; path one: [a], path two: [a, b]");
}

TEST(ReservedWords, AreCaseInsensitive) {
  EXPECT_TRUE(is_reserved_word("Name"));
  EXPECT_TRUE(is_reserved_word("ZONE"));
  EXPECT_FALSE(is_reserved_word("pk"));
}

}  // namespace
}  // namespace nimbus::services::dynamodb

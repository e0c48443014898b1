#include "nimbus/services/dynamodb/internal/attribute_value.h"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace nimbus::services::dynamodb {
namespace {

Result<AttributeValue> parse(std::string_view json) {
  boost::system::error_code error;
  auto wire = parse_json(json, error);
  if (error) return AwsError::serialization(error.message());
  return parse_value(wire);
}
std::string error_of(std::string_view json) {
  auto value = parse(json);
  return value ? "" : value.error().message();
}
std::string round_trip(std::string_view json) {
  return boost::json::serialize(to_json(parse(json).value()));
}

TEST(AttributeValue, WritesNumbersCanonically) {
  EXPECT_EQ(round_trip(R"({"N":"0012.500"})"), R"({"N":"12.5"})");
  EXPECT_EQ(round_trip(R"({"N":"-0"})"), R"({"N":"0"})");
  EXPECT_EQ(round_trip(R"({"N":"1E+3"})"), R"({"N":"1000"})");
}

TEST(AttributeValue, RefusesWhatDynamoDbRefuses) {
  EXPECT_EQ(error_of("{}"),
            "Supplied AttributeValue is empty, must contain exactly one of the supported "
            "datatypes");
  EXPECT_EQ(error_of(R"({"S":"a","N":"1"})"),
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one "
            "of the supported datatypes");
  EXPECT_EQ(error_of(R"({"NULL":false})"),
            "One or more parameter values were invalid: Null attribute value types must have the "
            "value of true");
  EXPECT_EQ(error_of(R"({"SS":[]})"),
            "One or more parameter values were invalid: An string set  may not be empty");
  EXPECT_EQ(error_of(R"({"SS":["a","a"]})"),
            "One or more parameter values were invalid: Input collection [a, a] contains "
            "duplicates.");
  EXPECT_EQ(error_of(R"({"N":"abc"})"),
            "The parameter cannot be converted to a numeric value: abc");
  EXPECT_NE(error_of(R"({"NS":["1","1.0"]})").find("contains duplicates"), std::string::npos);
}

TEST(AttributeValue, RefusesNestingDeeperThan32) {
  std::string deep = R"({"S":"x"})";
  for (int i = 0; i < 32; ++i) deep = R"({"L":[)" + deep + "]}";
  EXPECT_EQ(error_of(deep), "Nesting Levels have exceeded supported limits");
  std::string allowed = R"({"S":"x"})";
  for (int i = 0; i < 31; ++i) allowed = R"({"L":[)" + allowed + "]}";
  EXPECT_EQ(error_of(allowed), "");
}

TEST(AttributeValue, ComparesSetsAsSets) {
  EXPECT_TRUE(equal(parse(R"({"SS":["a","b"]})").value(), parse(R"({"SS":["b","a"]})").value()));
  EXPECT_FALSE(equal(parse(R"({"SS":["a"]})").value(), parse(R"({"SS":["a","b"]})").value()));
  EXPECT_TRUE(equal(parse(R"({"N":"1.0"})").value(), parse(R"({"N":"1"})").value()));
}

TEST(AttributeValue, OrdersBinaryAsUnsignedBytes) {
  auto low = AttributeValue::binary(std::string("\x01", 1));
  auto high = AttributeValue::binary(std::string("\xff", 1));
  EXPECT_LT(compare_scalars(low, high).value(), 0);
}

TEST(AttributeValue, SizesAsDynamoDbDocuments) {
  Item item;
  item["name"] = AttributeValue::string("abcd");  // 4 + 4
  auto number = storage::parse_decimal("12345").value();
  item["n"] = AttributeValue::number(number);  // 1 + (5 digits: 3 bytes + 1)
  EXPECT_EQ(item_size(item), 8u + 5u);
}

}  // namespace
}  // namespace nimbus::services::dynamodb

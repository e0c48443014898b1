#include "nimbus/services/dynamodb/internal/number.h"

#include "nimbus/services/dynamodb/internal/attribute_value.h"
#include "nimbus/services/dynamodb/internal/table.h"

#include <random>

#include <gtest/gtest.h>

namespace nimbus::services::dynamodb {
namespace {

Decimal number(std::string_view text) { return storage::parse_decimal(text).value(); }
std::string sum(std::string_view a, std::string_view b) {
  return add(number(a), number(b)).value().to_string();
}
std::string difference(std::string_view a, std::string_view b) {
  return subtract(number(a), number(b)).value().to_string();
}

TEST(DecimalArithmetic, AddsExactly) {
  EXPECT_EQ(sum("0.1", "0.2"), "0.3");
  EXPECT_EQ(sum("1", "-1"), "0");
  EXPECT_EQ(sum("999", "1"), "1000");
  EXPECT_EQ(sum("-5", "3"), "-2");
  EXPECT_EQ(sum("1E+20", "1"), "100000000000000000001");
  EXPECT_EQ(sum("0.001", "-0.0001"), "0.0009");
  EXPECT_EQ(difference("10", "0.5"), "9.5");
  EXPECT_EQ(difference("0", "7"), "-7");
}

TEST(DecimalArithmetic, RefusesMoreThan38Digits) {
  auto result = add(number("1E+38"), number("1"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message(),
            "Attempting to store more than 38 significant digits in a Number");
}

TEST(DecimalArithmetic, RefusesOverflow) {
  auto result = add(number("9.9E+125"), number("9.9E+125"));
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message().find("Number overflow"), std::string::npos);
}

TEST(DecimalArithmetic, ComparesNumerically) {
  EXPECT_LT(compare(number("-10"), number("-9")), 0);
  EXPECT_LT(compare(number("0.12"), number("0.123")), 0);
  EXPECT_GT(compare(number("0.2"), number("0.123")), 0);
  EXPECT_EQ(compare(number("1.50"), number("1.5")), 0);
  EXPECT_GT(compare(number("0"), number("-0.0001")), 0);
}

// Property: integer arithmetic agrees with int64 for values that fit.
TEST(DecimalArithmetic, AgreesWithIntegersAtRandom) {
  std::mt19937_64 random(42);
  std::uniform_int_distribution<std::int64_t> values(-1'000'000'000'000, 1'000'000'000'000);
  for (int i = 0; i < 2000; ++i) {
    const std::int64_t a = values(random);
    const std::int64_t b = values(random);
    EXPECT_EQ(sum(std::to_string(a), std::to_string(b)), std::to_string(a + b));
    EXPECT_EQ(difference(std::to_string(a), std::to_string(b)), std::to_string(a - b));
    const int order = compare(number(std::to_string(a)), number(std::to_string(b)));
    EXPECT_EQ(order < 0, a < b);
    EXPECT_EQ(order == 0, a == b);
  }
}

// Property: the storage encoding of sort keys orders numbers as compare()
// does, so a Query's range scan returns them in DynamoDB's order.
TEST(DecimalArithmetic, KeyEncodingOrdersAsNumbers) {
  std::mt19937_64 random(7);
  std::uniform_int_distribution<int> digit_count(1, 38);
  std::uniform_int_distribution<int> digit(0, 9);
  std::uniform_int_distribution<int> exponent(-90, 88);  // plus up to 38 digits: in range
  std::bernoulli_distribution negative(0.5);
  auto random_number = [&] {
    std::string text = negative(random) ? "-" : "";
    const int count = digit_count(random);
    for (int i = 0; i < count; ++i) text.push_back(static_cast<char>('0' + digit(random)));
    text += "E" + std::to_string(exponent(random));
    return number(text);
  };
  for (int i = 0; i < 5000; ++i) {
    const Decimal a = random_number();
    const Decimal b = i % 10 == 0 ? a : random_number();
    const std::string encoded_a = encode_key_value(AttributeValue::number(a));
    const std::string encoded_b = encode_key_value(AttributeValue::number(b));
    const int by_value = compare(a, b);
    const int by_bytes = encoded_a.compare(encoded_b);
    EXPECT_EQ(by_value < 0, by_bytes < 0) << a.to_string() << " vs " << b.to_string();
    EXPECT_EQ(by_value == 0, by_bytes == 0) << a.to_string() << " vs " << b.to_string();
  }
}

}  // namespace
}  // namespace nimbus::services::dynamodb

#include "nimbus/storage/key_encoding.h"

#include <algorithm>
#include <random>

#include <gtest/gtest.h>
#include <boost/multiprecision/cpp_dec_float.hpp>

namespace nimbus::storage {
namespace {

// Reference arithmetic: 100 decimal digits hold every DynamoDB number exactly.
using Reference = boost::multiprecision::number<boost::multiprecision::cpp_dec_float<100>>;

std::string encode_number(std::string_view text) {
  return KeyEncoder().number(parse_decimal(text).value()).take();
}

TEST(DecimalTest, ParsesAndCanonicalises) {
  const auto check = [](std::string_view text, std::string_view canonical) {
    const auto decimal = parse_decimal(text);
    ASSERT_TRUE(decimal) << text << ": " << decimal.error().message();
    EXPECT_EQ(decimal->to_string(), canonical) << text;
  };
  check("0", "0");
  check("-0", "0");
  check("000.000", "0");
  check("12", "12");
  check("+12.50", "12.5");
  check("-0.0012", "-0.0012");
  check("1.5E+3", "1500");
  check("1.5e-3", "0.0015");
  check("123.456e1", "1234.56");
  check("9.9999999999999999999999999999999999999E+125",
        "99999999999999999999999999999999999999" + std::string(88, '0'));
  check("1E-130", "0." + std::string(129, '0') + "1");
}

TEST(DecimalTest, RejectsWhatDynamoDbRejects) {
  for (const auto* bad : {"", "-", "abc", "1.2.3", "1e", "1e+", "12a", " 1", "1 ", "--1", ".e1"}) {
    const auto result = parse_decimal(bad);
    ASSERT_FALSE(result) << bad;
    EXPECT_EQ(result.error().code(), "ValidationException");
  }
  EXPECT_TRUE(parse_decimal(".5"));
  EXPECT_TRUE(parse_decimal("5."));
  const auto too_precise = parse_decimal("1.23456789012345678901234567890123456789");
  ASSERT_FALSE(too_precise);
  EXPECT_NE(too_precise.error().message().find("38 significant digits"), std::string::npos);
  EXPECT_TRUE(parse_decimal("1.2345678901234567890123456789012345678000000"));  // trailing zeros
  EXPECT_NE(parse_decimal("1E+126").error().message().find("overflow"), std::string::npos);
  EXPECT_NE(parse_decimal("1E-131").error().message().find("underflow"), std::string::npos);
}

std::string random_number_text(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> digits_count(1, 38), digit(0, 9), exponent(-125, 120),
      coin(0, 3);
  if (coin(rng) == 0) {
    // Small integers collide often, which exercises equality.
    return std::to_string(static_cast<int>(rng() % 21) - 10);
  }
  std::string digits;
  const int n = digits_count(rng);
  for (int i = 0; i < n; ++i) digits.push_back(static_cast<char>('0' + digit(rng)));
  if (digits.front() == '0') digits.front() = '1';
  return std::string(coin(rng) == 1 ? "-" : "") + "0." + digits + "E" +
         std::to_string(exponent(rng));
}

TEST(KeyEncodingTest, NumberOrderMatchesNumericOrder) {
  std::mt19937_64 rng(20261126);
  std::vector<std::string> texts;
  for (int i = 0; i < 3000; ++i) texts.push_back(random_number_text(rng));
  for (const auto* edge :
       {"0", "1E-130", "-1E-130", "9.9999999999999999999999999999999999999E+125",
        "-9.9999999999999999999999999999999999999E+125", "1", "-1", "0.1", "10"}) {
    texts.push_back(edge);
  }
  std::vector<std::pair<Reference, std::string>> pairs;
  for (const auto& text : texts) {
    const auto decimal = parse_decimal(text);
    ASSERT_TRUE(decimal) << text;
    pairs.emplace_back(Reference(text), KeyEncoder().number(*decimal).take());
  }
  for (std::size_t i = 0; i + 1 < pairs.size(); ++i) {
    for (std::size_t j = i + 1; j < std::min(pairs.size(), i + 40); ++j) {
      const auto& [a, ea] = pairs[i];
      const auto& [b, eb] = pairs[j];
      EXPECT_EQ(a < b, ea < eb) << texts[i] << " vs " << texts[j];
      EXPECT_EQ(a == b, ea == eb) << texts[i] << " vs " << texts[j];
    }
  }
  // And a full sort agrees.
  auto by_encoding = pairs;
  std::sort(by_encoding.begin(), by_encoding.end(),
            [](const auto& x, const auto& y) { return x.second < y.second; });
  for (std::size_t i = 0; i + 1 < by_encoding.size(); ++i) {
    EXPECT_LE(by_encoding[i].first, by_encoding[i + 1].first);
  }
}

TEST(KeyEncodingTest, StringAndBinaryOrderIsUnsignedByteOrder) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> length(0, 6);
  std::uniform_int_distribution<int> byte_choice(0, 5);
  const char alphabet[] = {'\x00', '\x01', 'a', 'b', '\x7f', '\xff'};
  std::vector<std::string> values;
  for (int i = 0; i < 2000; ++i) {
    std::string s;
    const int n = length(rng);
    for (int k = 0; k < n; ++k) s.push_back(alphabet[byte_choice(rng)]);
    values.push_back(s);
  }
  for (std::size_t i = 0; i + 1 < values.size(); ++i) {
    const auto& a = values[i];
    const auto& b = values[i + 1];
    const auto ea = KeyEncoder().string(a).take();
    const auto eb = KeyEncoder().string(b).take();
    EXPECT_EQ(a < b, ea < eb);
    EXPECT_EQ(a == b, ea == eb);
    // Composite keys order by the first component, then the second.
    const auto ca = KeyEncoder().binary(a).number(parse_decimal("5").value()).take();
    const auto cb = KeyEncoder().binary(b).number(parse_decimal("-5").value()).take();
    EXPECT_EQ(a < b, ca < cb) << "the first component decides before the second";
  }
}

TEST(KeyEncodingTest, RoundTrips) {
  const auto decimal = parse_decimal("-123.45").value();
  const std::string with_zero("a\0b", 3);
  const auto encoded =
      KeyEncoder().string(with_zero).number(decimal).binary("\xff").number({}).take();
  const auto decoded = decode_key(encoded);
  ASSERT_TRUE(decoded);
  ASSERT_EQ(decoded->size(), 4u);
  EXPECT_EQ((*decoded)[0].bytes, with_zero);
  EXPECT_EQ((*decoded)[1].number, decimal);
  EXPECT_EQ((*decoded)[1].number.to_string(), "-123.45");
  EXPECT_EQ((*decoded)[2].tag, KeyTag::kBinary);
  EXPECT_EQ((*decoded)[2].bytes, "\xff");
  EXPECT_EQ((*decoded)[3].tag, KeyTag::kZero);
  EXPECT_FALSE(decode_key(encoded.substr(0, encoded.size() - 3)));
  EXPECT_FALSE(decode_key("\x77"));
}

TEST(KeyEncodingTest, EncodingIsStableAcrossVersions) {
  // Persisted bytes: a change here breaks every existing data directory.
  EXPECT_EQ(KeyEncoder().string("a").take(), std::string("\x20"
                                                         "a\x00\x01",
                                                         4));
  EXPECT_EQ(encode_number("0"), "\x31");
  EXPECT_EQ(encode_number("12.5"), std::string("\x32\x03\xea\x02\x03\x06\x00", 7));
  EXPECT_EQ(encode_number("-12.5"), std::string("\x30\xfc\x15\x09\x08\x05\xff", 7));
}

TEST(KeyEncodingTest, PrefixSuccessor) {
  EXPECT_EQ(prefix_successor("ab"), "ac");
  EXPECT_EQ(prefix_successor(std::string("a\xff", 2)), "b");
  EXPECT_EQ(prefix_successor("\xff\xff"), "");
}

}  // namespace
}  // namespace nimbus::storage

#pragma once

// DynamoDB's AttributeValue and items: parsed from the wire with DynamoDB's
// validation and messages, written back in canonical form, compared, sized
// as DynamoDB sizes them for limits and capacity units, and stored as
// docs/formats/dynamodb.md describes.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "nimbus/core/result.h"
#include "nimbus/storage/key_encoding.h"

namespace nimbus::services::dynamodb {

enum class ValueType : std::uint8_t { kS, kN, kB, kBool, kNull, kM, kL, kSS, kNS, kBS };

// "S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS".
std::string_view type_name(ValueType type);
std::optional<ValueType> type_from_name(std::string_view name);

class AttributeValue;
using AttributeMap = std::map<std::string, AttributeValue, std::less<>>;
using Item = AttributeMap;

class AttributeValue {
 public:
  ValueType type = ValueType::kNull;
  std::string scalar;                // S: text; N: canonical text; B: raw bytes
  bool boolean = false;              // BOOL
  std::vector<std::string> set;      // SS, NS (canonical), BS (raw bytes); unique
  std::vector<AttributeValue> list;  // L
  AttributeMap map;                  // M

  static AttributeValue string(std::string text);
  static AttributeValue number(const storage::Decimal& value);
  static AttributeValue binary(std::string bytes);
  static AttributeValue boolean_value(bool value);
  static AttributeValue null();

  bool is_set() const {
    return type == ValueType::kSS || type == ValueType::kNS || type == ValueType::kBS;
  }
  bool is_scalar_key_type() const {
    return type == ValueType::kS || type == ValueType::kN || type == ValueType::kB;
  }
  // The number of an N (canonical text always parses).
  storage::Decimal decimal() const;
};

// Parses one wire AttributeValue ({"S": "x"}), validating as DynamoDB does.
Result<AttributeValue> parse_value(const boost::json::value& wire);
// A wire item: an object of attribute names to AttributeValues.
Result<Item> parse_item(const boost::json::value& wire);

// The canonical wire form: numbers canonical, binary base64.
boost::json::value to_json(const AttributeValue& value);
boost::json::object to_json(const Item& item);

// Deep equality; sets compare as sets, numbers numerically.
bool equal(const AttributeValue& a, const AttributeValue& b);
// Order of two values of the same scalar type (S, N, B); nullopt otherwise.
std::optional<int> compare_scalars(const AttributeValue& a, const AttributeValue& b);

// Sizes as DynamoDB counts them against the 400 KB item limit and for
// capacity units.
std::size_t value_size(const AttributeValue& value);
std::size_t item_size(const Item& item);

// "{S:abc}", "{N:12}": how DynamoDB quotes a value in error messages.
std::string describe(const AttributeValue& value);

inline constexpr std::size_t kMaxItemBytes = 400 * 1024;

// Parses item JSON as deep as 32 levels of attribute values nest.
boost::json::value parse_json(std::string_view text, boost::system::error_code& error);

}  // namespace nimbus::services::dynamodb

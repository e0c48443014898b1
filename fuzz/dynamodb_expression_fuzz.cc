// DynamoDB expressions (outside input: ConditionExpression, UpdateExpression,
// ProjectionExpression, FilterExpression, KeyConditionExpression) parsed and
// applied to a fixed item. Input layout: the first byte picks the kind
// (condition, update, projection); the rest is the expression. Names #a..#c
// and values :n, :s, :l, :ss, :m are defined.

#include <cstdint>
#include <string_view>

#include <boost/json/parse.hpp>

#include "nimbus/services/dynamodb/internal/evaluate.h"
#include "nimbus/services/dynamodb/internal/expression.h"

namespace dynamodb = nimbus::services::dynamodb;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  static const boost::json::value names = boost::json::parse(R"({"#a":"a","#b":"b","#c":"c"})");
  static const boost::json::value values = boost::json::parse(
      R"({":n":{"N":"1.5"},":s":{"S":"x"},":l":{"L":[{"N":"1"}]},":ss":{"SS":["x","y"]},)"
      R"(":m":{"M":{"k":{"BOOL":true}}}})");
  static const dynamodb::Item item =
      dynamodb::parse_item(
          boost::json::parse(R"({"a":{"N":"2"},"b":{"L":[{"S":"x"},{"M":{"c":{"NS":["1","2"]}}}]},)"
                             R"("c":{"M":{"d":{"B":"AAE="}}},"s":{"SS":["x"]}})"))
          .value();
  auto attributes = dynamodb::ExpressionAttributes::make(&names, &values).value();
  switch (data[0] % 3) {
    case 0: {
      auto condition = dynamodb::parse_condition(text, "ConditionExpression", attributes);
      if (condition) (void)dynamodb::evaluate(*condition, item);
      break;
    }
    case 1: {
      auto actions = dynamodb::parse_update(text, attributes);
      if (actions) {
        dynamodb::Item copy = item;
        (void)dynamodb::apply_update(*actions, copy);
      }
      break;
    }
    default: {
      auto paths = dynamodb::parse_projection(text, attributes);
      if (paths) (void)dynamodb::project(item, *paths);
      break;
    }
  }
  (void)attributes.check_all_used();
  return 0;
}

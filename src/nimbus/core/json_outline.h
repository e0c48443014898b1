#pragma once

// What a JSON text holds at its top level, learnt in one pass without
// building a document. Checks that need no document (is this JSON? is it an
// object with this member?) cost a fraction of json::parse this way: no
// allocation per key and value, nothing to free afterwards.

#include <optional>
#include <string_view>

#include <boost/json/kind.hpp>
#include <boost/system/error_code.hpp>

namespace nimbus {

struct JsonOutline {
  boost::json::kind kind = boost::json::kind::null;
  // The top-level value is an object with the member asked about.
  bool has_member = false;
};

// nullopt unless `text` is exactly one JSON value by json::parse's own rules
// (its default options: no comments, valid UTF-8, the same depth limit), so
// that the two always agree on what is JSON.
std::optional<JsonOutline> outline_json(std::string_view text, std::string_view member = {});

// The same, giving json::parse's error for text that is not JSON.
std::optional<JsonOutline> outline_json(std::string_view text, std::string_view member,
                                        boost::system::error_code& error);

}  // namespace nimbus

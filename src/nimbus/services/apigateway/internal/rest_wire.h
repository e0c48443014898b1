#pragma once

// What the REST API model's operations share on the wire: epoch-second
// timestamps, hand-checked members, and the JSON Patch their Update
// operations take.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "nimbus/core/result.h"

namespace nimbus::services::apigateway::internal {

// Now, as REST APIs put timestamps on the wire.
std::int64_t epoch_seconds();

// The string member `key` of a request body: "" when absent and not
// required, BadRequestException when required and absent or not a string.
Result<std::string> string_member(const boost::json::object& body, std::string_view key,
                                  bool required);

// Copies the members named `keys` that `body` has (and are not null).
void copy_members(boost::json::object& into, const boost::json::object& body,
                  std::initializer_list<std::string_view> keys);

// Applies body.patchOperations (replace, add, remove on "/member" and
// "/map/key" paths whose first segment is one of `paths`) to `target`.
Result<void> apply_patch(boost::json::object& target, const boost::json::object& body,
                         std::initializer_list<std::string_view> paths);

// A patch path's segment with its "~1" read back as '/' (resource paths,
// content types).
std::string unescape_path_segment(std::string_view segment);

// A patch value that sets a limit: a number of at least 0, kept as a
// double if `fractional` (rates), else as an integer (bursts, quotas).
// BadRequestException "Invalid value for <path>: <value>" otherwise.
Result<boost::json::value> patch_limit(std::string_view path, std::string_view value,
                                       bool fractional);

}  // namespace nimbus::services::apigateway::internal

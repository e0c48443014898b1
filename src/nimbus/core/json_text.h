#pragma once

// Writing JSON text directly, for documents built on every request where a
// json::value built only to be serialised would cost several times as much.
// Strings are escaped exactly as Boost.JSON's serializer escapes them.

#include <charconv>
#include <string>
#include <string_view>

namespace nimbus {

// Appends `text` as a quoted JSON string.
void append_json_string(std::string& out, std::string_view text);

// Appends a number as JSON writes it (shortest round trip for a double,
// which must be finite).
template <typename Number>
void append_json_number(std::string& out, Number number) {
  char digits[32];
  const auto written = std::to_chars(digits, digits + sizeof digits, number);
  out.append(digits, written.ptr);
}

}  // namespace nimbus

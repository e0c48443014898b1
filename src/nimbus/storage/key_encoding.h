#pragma once

// Order-preserving, self-delimiting encoding of composite keys
// (docs/formats/storage-keys.md): the bytewise order of encoded keys is the
// order DynamoDB gives the values — strings and binary by unsigned bytes,
// numbers by numeric value — so a Query on a sort key is a range scan.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nimbus/core/result.h"

namespace nimbus::storage {

// A DynamoDB number: up to 38 significant digits, magnitude 1e-130 to
// 9.99...e+125, or zero. value = sign * 0.d1d2d3... * 10^exponent.
struct Decimal {
  bool negative = false;
  std::string digits;  // significant digits, no leading or trailing zeros; empty for zero
  int exponent = 0;

  // Canonical text as DynamoDB returns numbers ("-12.5", "1E+30" is "1000...0").
  std::string to_string() const;
  friend bool operator==(const Decimal&, const Decimal&) = default;
};

// Parses DynamoDB number text ("12", "-0.5", "1.5E+3", "  " is invalid).
// Errors are ValidationExceptions with DynamoDB's wording.
Result<Decimal> parse_decimal(std::string_view text);

// Tags that begin each encoded component. Persisted: never renumber.
enum class KeyTag : std::uint8_t {
  kBinary = 0x10,
  kString = 0x20,
  kNegativeNumber = 0x30,
  kZero = 0x31,
  kPositiveNumber = 0x32,
};

class KeyEncoder {
 public:
  KeyEncoder& string(std::string_view value);
  KeyEncoder& binary(std::string_view value);
  KeyEncoder& number(const Decimal& value);
  const std::string& bytes() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void escaped(std::string_view value);
  std::string out_;
};

// One decoded component.
struct KeyComponent {
  KeyTag tag;
  std::string bytes;  // strings and binary
  Decimal number;     // numbers
};

Result<std::vector<KeyComponent>> decode_key(std::string_view encoded);

// The smallest key greater than every key that starts with `prefix`; empty
// if there is none (all 0xff). For prefix scans.
std::string prefix_successor(std::string_view prefix);

}  // namespace nimbus::storage

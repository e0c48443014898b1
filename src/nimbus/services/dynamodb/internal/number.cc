#include "nimbus/services/dynamodb/internal/number.h"

#include <algorithm>

namespace nimbus::services::dynamodb {
namespace {

constexpr std::size_t kMaxDigits = 38;
constexpr int kMinExponent = -129;
constexpr int kMaxExponent = 126;

// |a| against |b|.
int compare_magnitude(const Decimal& a, const Decimal& b) {
  if (a.digits.empty() || b.digits.empty()) {
    return static_cast<int>(!a.digits.empty()) - static_cast<int>(!b.digits.empty());
  }
  if (a.exponent != b.exponent) return a.exponent < b.exponent ? -1 : 1;
  // Same exponent: digits compare as fractions, a shorter one padded with zeros.
  const int order = a.digits.compare(b.digits);
  return order < 0 ? -1 : (order > 0 ? 1 : 0);
}

// The digits of |value| as an integer scaled by 10^scale, where scale is at
// most the value's own lowest digit position: value = digits * 10^scale.
std::string scaled_digits(const Decimal& value, int scale) {
  const int lowest = value.exponent - static_cast<int>(value.digits.size());
  std::string out = value.digits;
  out.append(static_cast<std::size_t>(lowest - scale), '0');
  return out;
}

std::string add_digits(const std::string& a, const std::string& b) {
  std::string out;
  int carry = 0;
  for (std::size_t i = 0; i < std::max(a.size(), b.size()) || carry != 0; ++i) {
    int sum = carry;
    if (i < a.size()) sum += a[a.size() - 1 - i] - '0';
    if (i < b.size()) sum += b[b.size() - 1 - i] - '0';
    out.push_back(static_cast<char>('0' + sum % 10));
    carry = sum / 10;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

// a - b with a >= b as integers.
std::string subtract_digits(const std::string& a, const std::string& b) {
  std::string out;
  int borrow = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    int difference = (a[a.size() - 1 - i] - '0') - borrow;
    if (i < b.size()) difference -= b[b.size() - 1 - i] - '0';
    borrow = difference < 0 ? 1 : 0;
    out.push_back(static_cast<char>('0' + difference + 10 * borrow));
  }
  std::reverse(out.begin(), out.end());
  return out;
}

Result<Decimal> normalise(bool negative, const std::string& integer, int scale) {
  Decimal out;
  const auto first = integer.find_first_not_of('0');
  if (first == std::string::npos) return out;  // zero
  const auto last = integer.find_last_not_of('0');
  out.negative = negative;
  out.digits = integer.substr(first, last - first + 1);
  out.exponent = static_cast<int>(integer.size() - first) + scale;
  if (out.exponent > kMaxExponent) {
    return AwsError::validation(
        "Number overflow. Attempting to store a number with magnitude larger than supported "
        "range");
  }
  if (out.exponent < kMinExponent) {
    return AwsError::validation(
        "Number underflow. Attempting to store a number with magnitude smaller than supported "
        "range");
  }
  if (out.digits.size() > kMaxDigits) {
    return AwsError::validation("Attempting to store more than 38 significant digits in a Number");
  }
  return out;
}

}  // namespace

int compare(const Decimal& a, const Decimal& b) {
  const int sign_a = a.digits.empty() ? 0 : (a.negative ? -1 : 1);
  const int sign_b = b.digits.empty() ? 0 : (b.negative ? -1 : 1);
  if (sign_a != sign_b) return sign_a < sign_b ? -1 : 1;
  if (sign_a == 0) return 0;
  const int magnitude = compare_magnitude(a, b);
  return sign_a > 0 ? magnitude : -magnitude;
}

Result<Decimal> add(const Decimal& a, const Decimal& b) {
  if (a.digits.empty()) return b;
  if (b.digits.empty()) return a;
  const int scale = std::min(a.exponent - static_cast<int>(a.digits.size()),
                             b.exponent - static_cast<int>(b.digits.size()));
  const std::string digits_a = scaled_digits(a, scale);
  const std::string digits_b = scaled_digits(b, scale);
  if (a.negative == b.negative) return normalise(a.negative, add_digits(digits_a, digits_b), scale);
  const int magnitude = compare_magnitude(a, b);
  if (magnitude == 0) return Decimal{};
  return magnitude > 0 ? normalise(a.negative, subtract_digits(digits_a, digits_b), scale)
                       : normalise(b.negative, subtract_digits(digits_b, digits_a), scale);
}

Result<Decimal> subtract(const Decimal& a, Decimal b) {
  if (!b.digits.empty()) b.negative = !b.negative;
  return add(a, b);
}

}  // namespace nimbus::services::dynamodb

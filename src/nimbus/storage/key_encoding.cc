#include "nimbus/storage/key_encoding.h"

#include <fmt/format.h>

namespace nimbus::storage {
namespace {

constexpr int kMaxDigits = 38;
constexpr int kMinExponent = -129;  // 1e-130 = 0.1e-129
constexpr int kMaxExponent = 126;   // 9.99..e125 = 0.999..e126
constexpr int kExponentBias = 1000;

// Strings and binary: 0x00 becomes 0x00 0xff; the component ends with 0x00 0x01,
// which sorts before any continuation, so a prefix sorts first.
constexpr char kEscape = '\x00';
constexpr char kEscapedZero = '\xff';
constexpr char kTerminator = '\x01';

// DynamoDB names the text only when it is not a number at all.
AwsError number_error(std::string_view text, std::string_view why) {
  if (why.starts_with("The parameter")) {
    return AwsError::validation(fmt::format("{}: {}", why, text));
  }
  return AwsError::validation(std::string(why));
}

void put_u16(std::string& out, std::uint16_t value) {
  out.push_back(static_cast<char>(value >> 8));
  out.push_back(static_cast<char>(value & 0xff));
}

}  // namespace

Result<Decimal> parse_decimal(std::string_view text) {
  const std::string_view original = text;
  Decimal decimal;
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
    decimal.negative = text.front() == '-';
    text.remove_prefix(1);
  }
  std::string mantissa;  // all digits, leading zeros included
  int point = -1;        // digits before the decimal point
  std::size_t i = 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      mantissa.push_back(c);
    } else if (c == '.' && point < 0) {
      point = static_cast<int>(mantissa.size());
    } else {
      break;
    }
  }
  if (mantissa.empty()) {
    return number_error(original, "The parameter cannot be converted to a numeric value");
  }
  if (point < 0) point = static_cast<int>(mantissa.size());
  long exponent_part = 0;
  if (i < text.size()) {
    if (text[i] != 'e' && text[i] != 'E') {
      return number_error(original, "The parameter cannot be converted to a numeric value");
    }
    ++i;
    bool exponent_negative = false;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) exponent_negative = text[i++] == '-';
    if (i == text.size()) {
      return number_error(original, "The parameter cannot be converted to a numeric value");
    }
    for (; i < text.size(); ++i) {
      if (text[i] < '0' || text[i] > '9') {
        return number_error(original, "The parameter cannot be converted to a numeric value");
      }
      exponent_part = exponent_part * 10 + (text[i] - '0');
      if (exponent_part > 100000) {
        return number_error(original,
                            "Number overflow. Attempting to store a number with magnitude larger "
                            "than supported range");
      }
    }
    if (exponent_negative) exponent_part = -exponent_part;
  }
  const auto first = mantissa.find_first_not_of('0');
  if (first == std::string::npos) {
    decimal.negative = false;
    return decimal;  // zero
  }
  const auto last = mantissa.find_last_not_of('0');
  decimal.digits = mantissa.substr(first, last - first + 1);
  const long exponent = static_cast<long>(point) - static_cast<long>(first) + exponent_part;
  if (decimal.digits.size() > kMaxDigits) {
    return number_error(original,
                        "Attempting to store more than 38 significant digits in a Number");
  }
  if (exponent > kMaxExponent) {
    return number_error(
        original,
        "Number overflow. Attempting to store a number with magnitude larger than supported range");
  }
  if (exponent < kMinExponent) {
    return number_error(original,
                        "Number underflow. Attempting to store a number with magnitude smaller "
                        "than supported range");
  }
  decimal.exponent = static_cast<int>(exponent);
  return decimal;
}

std::string Decimal::to_string() const {
  if (digits.empty()) return "0";
  std::string out = negative ? "-" : "";
  const int length = static_cast<int>(digits.size());
  if (exponent <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-exponent), '0');
    out += digits;
  } else if (exponent >= length) {
    out += digits;
    out.append(static_cast<std::size_t>(exponent - length), '0');
  } else {
    out += digits.substr(0, exponent);
    out.push_back('.');
    out += digits.substr(exponent);
  }
  return out;
}

void KeyEncoder::escaped(std::string_view value) {
  for (const char c : value) {
    out_.push_back(c);
    if (c == kEscape) out_.push_back(kEscapedZero);
  }
  out_.push_back(kEscape);
  out_.push_back(kTerminator);
}

KeyEncoder& KeyEncoder::string(std::string_view value) {
  out_.push_back(static_cast<char>(KeyTag::kString));
  escaped(value);
  return *this;
}

KeyEncoder& KeyEncoder::binary(std::string_view value) {
  out_.push_back(static_cast<char>(KeyTag::kBinary));
  escaped(value);
  return *this;
}

// Positive: tag, exponent + bias (2 bytes), each digit as 1..10 ('0' -> 1), 0x00.
// Negative: tag, complemented exponent, each digit as 10 - d... ('9' -> 1), 0xff:
// the larger the magnitude, the smaller the encoding.
KeyEncoder& KeyEncoder::number(const Decimal& value) {
  if (value.digits.empty()) {
    out_.push_back(static_cast<char>(KeyTag::kZero));
    return *this;
  }
  const auto biased = static_cast<std::uint16_t>(value.exponent + kExponentBias);
  if (!value.negative) {
    out_.push_back(static_cast<char>(KeyTag::kPositiveNumber));
    put_u16(out_, biased);
    for (const char d : value.digits) out_.push_back(static_cast<char>(d - '0' + 1));
    out_.push_back('\x00');
  } else {
    out_.push_back(static_cast<char>(KeyTag::kNegativeNumber));
    put_u16(out_, static_cast<std::uint16_t>(~biased));
    for (const char d : value.digits) out_.push_back(static_cast<char>(10 - (d - '0')));
    out_.push_back('\xff');
  }
  return *this;
}

Result<std::vector<KeyComponent>> decode_key(std::string_view encoded) {
  std::vector<KeyComponent> components;
  std::size_t i = 0;
  const auto malformed = [] { return AwsError::internal("malformed encoded key"); };
  while (i < encoded.size()) {
    const auto tag = static_cast<KeyTag>(static_cast<std::uint8_t>(encoded[i++]));
    KeyComponent component{tag, {}, {}};
    switch (tag) {
      case KeyTag::kString:
      case KeyTag::kBinary: {
        for (;;) {
          if (i >= encoded.size()) return malformed();
          const char c = encoded[i++];
          if (c != kEscape) {
            component.bytes.push_back(c);
            continue;
          }
          if (i >= encoded.size()) return malformed();
          const char next = encoded[i++];
          if (next == kTerminator) break;
          if (next != kEscapedZero) return malformed();
          component.bytes.push_back('\0');
        }
        break;
      }
      case KeyTag::kZero:
        break;
      case KeyTag::kPositiveNumber:
      case KeyTag::kNegativeNumber: {
        const bool negative = tag == KeyTag::kNegativeNumber;
        if (i + 2 > encoded.size()) return malformed();
        std::uint16_t biased =
            static_cast<std::uint16_t>((static_cast<std::uint8_t>(encoded[i]) << 8) |
                                       static_cast<std::uint8_t>(encoded[i + 1]));
        i += 2;
        if (negative) biased = static_cast<std::uint16_t>(~biased);
        component.number.negative = negative;
        component.number.exponent = static_cast<int>(biased) - kExponentBias;
        const char end = negative ? '\xff' : '\x00';
        for (;;) {
          if (i >= encoded.size()) return malformed();
          const char c = encoded[i++];
          if (c == end) break;
          const int d = negative ? 10 - static_cast<int>(c) : static_cast<int>(c) - 1;
          if (d < 0 || d > 9) return malformed();
          component.number.digits.push_back(static_cast<char>('0' + d));
        }
        break;
      }
      default:
        return malformed();
    }
    components.push_back(std::move(component));
  }
  return components;
}

std::string prefix_successor(std::string_view prefix) {
  std::string out(prefix);
  while (!out.empty()) {
    if (static_cast<unsigned char>(out.back()) != 0xff) {
      out.back() = static_cast<char>(static_cast<unsigned char>(out.back()) + 1);
      return out;
    }
    out.pop_back();
  }
  return out;
}

}  // namespace nimbus::storage

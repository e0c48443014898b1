#include "nimbus/services/logs/internal/filter_pattern.h"

#include <charconv>
#include <cmath>
#include <optional>
#include <variant>

#include <fmt/format.h>
#include <boost/json.hpp>

namespace nimbus::services::logs {

namespace json = boost::json;

namespace {

AwsError invalid(std::string_view why) {
  return AwsError("InvalidParameterException", fmt::format("Invalid filter pattern: {}", why), 400);
}

// One step of a selector: a member name or an array index.
struct Step {
  std::string member;
  long index = -1;  // >= 0: an index
};

enum class Op { kEq, kNe, kLt, kLe, kGt, kGe, kIsNull, kIsTrue, kIsFalse, kExists, kNotExists };

struct Value {
  std::string text;  // strings, with `*` as a wildcard
  bool quoted = false;
  std::optional<double> number;  // unquoted numbers
};

// `*` matches any run of characters; everything else literally.
bool wildcard_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace

struct FilterPattern::Node {
  enum class Kind { kAnd, kOr, kCompare } kind = Kind::kCompare;
  std::shared_ptr<const Node> left, right;
  std::vector<Step> selector;
  Op op = Op::kEq;
  Value value;

  bool eval(const json::value& root) const {
    switch (kind) {
      case Kind::kAnd:
        return left->eval(root) && right->eval(root);
      case Kind::kOr:
        return left->eval(root) || right->eval(root);
      case Kind::kCompare:
        break;
    }
    const json::value* at = &root;
    for (const auto& step : selector) {
      if (step.index >= 0) {
        const auto* array = at->if_array();
        if (array == nullptr || static_cast<std::size_t>(step.index) >= array->size()) {
          at = nullptr;
          break;
        }
        at = &(*array)[static_cast<std::size_t>(step.index)];
      } else {
        const auto* object = at->if_object();
        at = object == nullptr ? nullptr : object->if_contains(step.member);
        if (at == nullptr) break;
      }
    }
    switch (op) {
      case Op::kExists:
        return at != nullptr;
      case Op::kNotExists:
        return at == nullptr;
      case Op::kIsNull:
        return at != nullptr && at->is_null();
      case Op::kIsTrue:
        return at != nullptr && at->is_bool() && at->as_bool();
      case Op::kIsFalse:
        return at != nullptr && at->is_bool() && !at->as_bool();
      default:
        break;
    }
    if (at == nullptr) return false;
    if (value.number && !value.quoted) {
      if (!at->is_number()) {
        // `= 200` also matches the string "200", as AWS compares text then.
        if ((op == Op::kEq || op == Op::kNe) && at->is_string()) {
          bool equal = at->as_string() == value.text;
          return op == Op::kEq ? equal : !equal;
        }
        return false;
      }
      const double field = at->to_number<double>();
      const double wanted = *value.number;
      switch (op) {
        case Op::kEq:
          return field == wanted;
        case Op::kNe:
          return field != wanted;
        case Op::kLt:
          return field < wanted;
        case Op::kLe:
          return field <= wanted;
        case Op::kGt:
          return field > wanted;
        case Op::kGe:
          return field >= wanted;
        default:
          return false;
      }
    }
    if (op != Op::kEq && op != Op::kNe) return false;  // strings compare by = and != only
    std::string text;
    if (at->is_string()) {
      text = at->as_string();
    } else if (at->is_bool()) {
      text = at->as_bool() ? "true" : "false";
    } else if (at->is_number()) {
      text = json::serialize(*at);
    } else {
      return false;
    }
    const bool equal = wildcard_match(value.text, text);
    return op == Op::kEq ? equal : !equal;
  }
};

namespace {

class JsonPatternParser {
 public:
  explicit JsonPatternParser(std::string_view text) : text_(text) {}

  Result<std::shared_ptr<const FilterPattern::Node>> parse() {
    skip();
    if (!eat("{")) return invalid("a JSON pattern starts with '{'");
    auto expr = parse_or();
    if (!expr) return expr.error();
    skip();
    if (!eat("}")) return invalid(fmt::format("expected '}}' at position {}", pos_));
    skip();
    if (pos_ != text_.size()) return invalid("unexpected text after '}'");
    return expr;
  }

 private:
  using NodePtr = std::shared_ptr<const FilterPattern::Node>;

  Result<NodePtr> parse_or() {
    auto left = parse_and();
    if (!left) return left;
    for (;;) {
      skip();
      if (!eat("||")) return left;
      auto right = parse_and();
      if (!right) return right;
      left = combine(FilterPattern::Node::Kind::kOr, *left, *right);
    }
  }

  Result<NodePtr> parse_and() {
    auto left = parse_primary();
    if (!left) return left;
    for (;;) {
      skip();
      if (!eat("&&")) return left;
      auto right = parse_primary();
      if (!right) return right;
      left = combine(FilterPattern::Node::Kind::kAnd, *left, *right);
    }
  }

  static NodePtr combine(FilterPattern::Node::Kind kind, NodePtr left, NodePtr right) {
    auto node = std::make_shared<FilterPattern::Node>();
    node->kind = kind;
    node->left = std::move(left);
    node->right = std::move(right);
    return node;
  }

  Result<NodePtr> parse_primary() {
    if (++depth_ > 64) return invalid("nested too deeply");
    skip();
    if (eat("(")) {
      auto inner = parse_or();
      if (!inner) return inner;
      skip();
      if (!eat(")")) return invalid(fmt::format("expected ')' at position {}", pos_));
      --depth_;
      return inner;
    }
    auto node = std::make_shared<FilterPattern::Node>();
    if (!eat("$"))
      return invalid(fmt::format("expected a selector ($.field) at position {}", pos_));
    while (pos_ < text_.size()) {
      if (eat(".")) {
        std::size_t start = pos_;
        while (pos_ < text_.size() &&
               (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_' ||
                text_[pos_] == '-' || text_[pos_] == '@' || text_[pos_] == '$')) {
          ++pos_;
        }
        if (pos_ == start) return invalid(fmt::format("empty field name at position {}", pos_));
        node->selector.push_back({std::string(text_.substr(start, pos_ - start)), -1});
      } else if (eat("[")) {
        std::size_t start = pos_;
        while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
        long index = 0;
        auto [end, ec] = std::from_chars(text_.data() + start, text_.data() + pos_, index);
        if (ec != std::errc() || end != text_.data() + pos_ || !eat("]")) {
          return invalid(fmt::format("bad array index at position {}", start));
        }
        node->selector.push_back({{}, index});
      } else {
        break;
      }
    }
    skip();
    if (eat_word("IS")) {
      skip();
      if (eat_word("NULL")) {
        node->op = Op::kIsNull;
      } else if (eat_word("TRUE")) {
        node->op = Op::kIsTrue;
      } else if (eat_word("FALSE")) {
        node->op = Op::kIsFalse;
      } else {
        return invalid("IS must be followed by NULL, TRUE or FALSE");
      }
    } else if (eat_word("NOT")) {
      skip();
      if (!eat_word("EXISTS")) return invalid("NOT must be followed by EXISTS");
      node->op = Op::kNotExists;
    } else if (eat_word("EXISTS")) {
      node->op = Op::kExists;
    } else {
      if (eat("!=")) {
        node->op = Op::kNe;
      } else if (eat("<=")) {
        node->op = Op::kLe;
      } else if (eat(">=")) {
        node->op = Op::kGe;
      } else if (eat("=")) {
        node->op = Op::kEq;
      } else if (eat("<")) {
        node->op = Op::kLt;
      } else if (eat(">")) {
        node->op = Op::kGt;
      } else {
        return invalid(fmt::format("expected a comparison at position {}", pos_));
      }
      auto value = parse_value();
      if (!value) return value.error();
      node->value = std::move(*value);
      const bool numeric_op = node->op != Op::kEq && node->op != Op::kNe;
      if (numeric_op && (!node->value.number || node->value.quoted)) {
        return invalid("<, <=, > and >= compare numbers");
      }
    }
    --depth_;
    return NodePtr(std::move(node));
  }

  Result<Value> parse_value() {
    skip();
    Value value;
    if (eat("\"")) {
      value.quoted = true;
      while (pos_ < text_.size() && text_[pos_] != '"') {
        if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
        value.text.push_back(text_[pos_++]);
      }
      if (!eat("\"")) return invalid("unterminated string");
      return value;
    }
    std::size_t start = pos_;
    while (pos_ < text_.size() && !std::isspace(static_cast<unsigned char>(text_[pos_])) &&
           text_[pos_] != '}' && text_[pos_] != ')' && text_[pos_] != '&' && text_[pos_] != '|') {
      ++pos_;
    }
    if (pos_ == start) return invalid(fmt::format("expected a value at position {}", pos_));
    value.text = std::string(text_.substr(start, pos_ - start));
    double number = 0;
    auto [end, ec] =
        std::from_chars(value.text.data(), value.text.data() + value.text.size(), number);
    if (ec == std::errc() && end == value.text.data() + value.text.size() &&
        std::isfinite(number)) {
      value.number = number;
    }
    return value;
  }

  void skip() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool eat(std::string_view token) {
    if (text_.substr(pos_).starts_with(token)) {
      pos_ += token.size();
      return true;
    }
    return false;
  }
  // A keyword, not the start of a longer word.
  bool eat_word(std::string_view word) {
    if (!text_.substr(pos_).starts_with(word)) return false;
    std::size_t after = pos_ + word.size();
    if (after < text_.size() && std::isalnum(static_cast<unsigned char>(text_[after])))
      return false;
    pos_ = after;
    return true;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Result<FilterPattern> FilterPattern::parse(std::string_view text) {
  FilterPattern pattern;
  std::size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  if (i < text.size() && text[i] == '{') {
    auto tree = JsonPatternParser(text).parse();
    if (!tree) return tree.error();
    pattern.json_ = std::move(*tree);
    return pattern;
  }
  if (i < text.size() && text[i] == '[') {
    return invalid("space-delimited patterns ([a, b, ...]) are not supported");
  }
  while (i < text.size()) {
    if (std::isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    char kind = 0;
    if (text[i] == '?' || text[i] == '-') kind = text[i++];
    std::string term;
    if (i < text.size() && text[i] == '"') {
      ++i;
      bool closed = false;
      while (i < text.size()) {
        if (text[i] == '\\' && i + 1 < text.size()) {
          term.push_back(text[i + 1]);
          i += 2;
          continue;
        }
        if (text[i] == '"') {
          closed = true;
          ++i;
          break;
        }
        term.push_back(text[i++]);
      }
      if (!closed) return invalid("unterminated quoted phrase");
    } else {
      while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) {
        term.push_back(text[i++]);
      }
    }
    if (term.empty()) {
      if (kind == 0) continue;  // `""` matches everything
      return invalid(fmt::format("'{}' must be followed by a term", kind));
    }
    (kind == '?'   ? pattern.any_of_
     : kind == '-' ? pattern.excluded_
                   : pattern.required_)
        .push_back(std::move(term));
  }
  return pattern;
}

bool FilterPattern::matches_everything() const {
  return !json_ && required_.empty() && any_of_.empty() && excluded_.empty();
}

bool FilterPattern::matches(std::string_view message) const {
  if (json_) {
    boost::system::error_code ec;
    auto value = json::parse(message, ec);
    if (ec || !value.is_object()) return false;
    return json_->eval(value);
  }
  for (const auto& term : required_) {
    if (message.find(term) == std::string_view::npos) return false;
  }
  for (const auto& term : excluded_) {
    if (message.find(term) != std::string_view::npos) return false;
  }
  if (!any_of_.empty()) {
    bool any = false;
    for (const auto& term : any_of_) any = any || message.find(term) != std::string_view::npos;
    if (!any) return false;
  }
  return true;
}

}  // namespace nimbus::services::logs

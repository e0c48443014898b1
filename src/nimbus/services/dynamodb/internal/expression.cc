#include "nimbus/services/dynamodb/internal/expression.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>

#include <fmt/format.h>

namespace nimbus::services::dynamodb {
namespace {

namespace json = boost::json;

constexpr std::string_view kReservedWords[] = {
#include "nimbus/services/dynamodb/internal/reserved_words.inc"
};

constexpr std::size_t kMaxInOperands = 100;
constexpr std::size_t kMaxExpressionBytes = 4096;
constexpr int kMaxNesting = 100;

struct Token {
  enum class Kind { kEnd, kIdentifier, kName, kValue, kNumber, kSymbol };
  Kind kind = Kind::kEnd;
  std::string text;
  std::size_t begin = 0;
  std::size_t end = 0;
};

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Thrown-free recursive descent: every parse step returns Result.
class Parser {
 public:
  Parser(std::string_view text, std::string_view label, ExpressionAttributes& attributes)
      : text_(text), label_(label), attributes_(attributes) {}

  Result<void> tokenize() {
    std::size_t i = 0;
    while (i < text_.size()) {
      const char c = text_[i];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++i;
        continue;
      }
      Token token;
      token.begin = i;
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        token.kind = Token::Kind::kIdentifier;
        while (i < text_.size() && is_word_char(text_[i])) ++i;
      } else if (c == '#' || c == ':') {
        token.kind = c == '#' ? Token::Kind::kName : Token::Kind::kValue;
        ++i;
        while (i < text_.size() && is_word_char(text_[i])) ++i;
        // A lone '#' or ':' is a token of its own that no rule accepts.
        if (i == token.begin + 1) token.kind = Token::Kind::kSymbol;
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        token.kind = Token::Kind::kNumber;
        while (i < text_.size() && std::isdigit(static_cast<unsigned char>(text_[i]))) ++i;
      } else if (c == '<' && i + 1 < text_.size() && (text_[i + 1] == '=' || text_[i + 1] == '>')) {
        token.kind = Token::Kind::kSymbol;
        i += 2;
      } else if (c == '>' && i + 1 < text_.size() && text_[i + 1] == '=') {
        token.kind = Token::Kind::kSymbol;
        i += 2;
      } else {
        // Punctuation, and any other character: the parser reports the
        // ones no rule accepts as syntax errors, with their context.
        token.kind = Token::Kind::kSymbol;
        ++i;
      }
      token.end = i;
      token.text = std::string(text_.substr(token.begin, token.end - token.begin));
      tokens_.push_back(std::move(token));
    }
    Token end;
    end.begin = end.end = text_.size();
    tokens_.push_back(std::move(end));
    return ok();
  }

  const Token& peek(std::size_t ahead = 0) const {
    return tokens_[std::min(position_ + ahead, tokens_.size() - 1)];
  }
  const Token& next() {
    const Token& token = peek();
    if (position_ + 1 < tokens_.size()) ++position_;
    return token;
  }
  bool at_end() const { return peek().kind == Token::Kind::kEnd; }
  bool is_symbol(std::string_view symbol, std::size_t ahead = 0) const {
    return peek(ahead).kind == Token::Kind::kSymbol && peek(ahead).text == symbol;
  }
  bool is_keyword(std::string_view keyword, std::size_t ahead = 0) const {
    return peek(ahead).kind == Token::Kind::kIdentifier && upper(peek(ahead).text) == keyword;
  }

  AwsError error(std::string_view message) const {
    return AwsError::validation(fmt::format("Invalid {}: {}", label_, message));
  }

  // DynamoDB's syntax error: the offending token and the text around it.
  AwsError syntax_error() const {
    const std::size_t index = std::min(position_, tokens_.size() - 1);
    const Token& token = tokens_[index];
    // The previous token through the next one, as written.
    const std::size_t from = index > 0 ? tokens_[index - 1].begin : token.begin;
    std::size_t to = index + 1 < tokens_.size() ? tokens_[index + 1].end : token.end;
    if (token.kind == Token::Kind::kEnd) to = index > 0 ? tokens_[index - 1].end : token.end;
    const std::string shown = token.kind == Token::Kind::kEnd ? "<EOF>" : token.text;
    return error(fmt::format("Syntax error; token: \"{}\", near: \"{}\"", shown,
                             text_.substr(from, to - from)));
  }

  Result<void> expect_symbol(std::string_view symbol) {
    if (!is_symbol(symbol)) return syntax_error();
    next();
    return ok();
  }

  // A name as written or through ExpressionAttributeNames.
  Result<std::string> attribute_name() {
    const Token& token = peek();
    if (token.kind == Token::Kind::kName) {
      auto resolved = attributes_.name(token.text);
      if (!resolved) {
        return error(fmt::format(
            "An expression attribute name used in the document path is not defined; attribute "
            "name: {}",
            token.text));
      }
      next();
      return std::move(*resolved);
    }
    if (token.kind == Token::Kind::kIdentifier) {
      if (is_reserved_word(token.text)) {
        return error(
            fmt::format("Attribute name is a reserved keyword; reserved keyword: {}", token.text));
      }
      next();
      return token.text;
    }
    return syntax_error();
  }

  Result<Path> path() {
    Path out;
    auto first = attribute_name();
    if (!first) return first.error();
    out.elements.push_back({std::move(*first), std::nullopt});
    for (;;) {
      if (is_symbol(".")) {
        next();
        auto name = attribute_name();
        if (!name) return name.error();
        out.elements.push_back({std::move(*name), std::nullopt});
      } else if (is_symbol("[")) {
        next();
        if (peek().kind != Token::Kind::kNumber) return syntax_error();
        const std::string digits = next().text;
        if (digits.size() > 9) {
          return error("List index is too large; index: " + digits);
        }
        out.elements.push_back({"", static_cast<std::size_t>(std::stoul(digits))});
        if (auto closed = expect_symbol("]"); !closed) return closed.error();
      } else {
        return out;
      }
    }
  }

  Result<Operand> value_operand() {
    const Token& token = peek();
    const AttributeValue* value = attributes_.value(token.text);
    if (value == nullptr) {
      return error(fmt::format(
          "An expression attribute value used in expression is not defined; attribute value: {}",
          token.text));
    }
    next();
    Operand out;
    out.kind = Operand::Kind::kValue;
    out.value = *value;
    out.value_name = token.text;
    return out;
  }

  // A ":value" or a document path: the operand every expression kind takes.
  Result<Operand> path_or_value() {
    if (peek().kind == Token::Kind::kValue) return value_operand();
    if (peek().kind != Token::Kind::kIdentifier && peek().kind != Token::Kind::kName) {
      return syntax_error();
    }
    auto path = this->path();
    if (!path) return path.error();
    Operand out;
    out.kind = Operand::Kind::kPath;
    out.path = std::move(*path);
    return out;
  }

  bool at_function() const { return peek().kind == Token::Kind::kIdentifier && is_symbol("(", 1); }

  // The arguments of name(...), each parsed by `argument`.
  template <class Parse>
  Result<std::vector<Operand>> arguments(Parse argument) {
    if (auto open = expect_symbol("("); !open) return open.error();
    std::vector<Operand> out;
    if (is_symbol(")")) return syntax_error();
    for (;;) {
      auto operand = argument();
      if (!operand) return operand.error();
      out.push_back(std::move(*operand));
      if (is_symbol(",")) {
        next();
        continue;
      }
      if (auto close = expect_symbol(")"); !close) return close.error();
      return out;
    }
  }

  AwsError operand_count(std::string_view function, std::size_t count) const {
    return error(fmt::format(
        "Incorrect number of operands for operator or function; operator or function: {}, number "
        "of operands: {}",
        function, count));
  }
  AwsError needs_path(std::string_view function) const {
    return error(fmt::format(
        "Operator or function requires a document path; operator or function: {}", function));
  }
  AwsError operand_type(std::string_view function, const Operand& operand) const {
    return error(fmt::format(
        "Incorrect operand type for operator or function; operator or function: {}, operand "
        "type: {}",
        function, type_name(operand.value.type)));
  }
  AwsError misused(std::string_view function) const {
    return error(fmt::format(
        "The function is not allowed to be used this way in an expression; function: {}",
        function));
  }

  // Bounds the recursion of nested parentheses, NOTs and function calls, so
  // no expression can exhaust a thread's stack.
  Result<void> descend() {
    if (++depth_ > kMaxNesting) {
      return error(fmt::format("The expression is nested more than {} levels deep;", kMaxNesting));
    }
    return ok();
  }
  void ascend() { --depth_; }

  std::string_view label() const { return label_; }
  std::size_t position() const { return position_; }
  std::size_t text_size() const { return text_.size(); }

 private:
  std::string_view text_;
  std::string_view label_;
  ExpressionAttributes& attributes_;
  std::vector<Token> tokens_;
  std::size_t position_ = 0;
  int depth_ = 0;
};

// Holds one level of Parser::descend() for a scope.
class Nesting {
 public:
  explicit Nesting(Parser& parser) : parser_(parser), entered_(parser.descend()) {}
  ~Nesting() { parser_.ascend(); }
  Nesting(const Nesting&) = delete;
  Nesting& operator=(const Nesting&) = delete;
  const Result<void>& entered() const { return entered_; }

 private:
  Parser& parser_;
  Result<void> entered_;
};

bool is_function_name(std::string_view name) {
  constexpr std::array<std::string_view, 8> kFunctions = {
      "attribute_exists", "attribute_not_exists",
      "attribute_type",   "begins_with",
      "contains",         "size",
      "if_not_exists",    "list_append"};
  return std::find(kFunctions.begin(), kFunctions.end(), name) != kFunctions.end();
}

// ---- Conditions -----------------------------------------------------------

class ConditionParser {
 public:
  explicit ConditionParser(Parser& parser) : p_(parser) {}

  Result<Condition> parse() {
    auto condition = disjunction();
    if (!condition) return condition.error();
    if (!p_.at_end()) return p_.syntax_error();
    return condition;
  }

 private:
  Result<Condition> disjunction() {
    return chain("OR", Condition::Kind::kOr, &ConditionParser::conjunction);
  }
  Result<Condition> conjunction() {
    return chain("AND", Condition::Kind::kAnd, &ConditionParser::negation);
  }

  // operand (KEYWORD operand)*, grouped from the left.
  Result<Condition> chain(std::string_view keyword, Condition::Kind kind,
                          Result<Condition> (ConditionParser::*operand)()) {
    auto left = (this->*operand)();
    if (!left) return left;
    while (p_.is_keyword(keyword)) {
      p_.next();
      auto right = (this->*operand)();
      if (!right) return right;
      Condition both;
      both.kind = kind;
      both.children.push_back(std::move(*left));
      both.children.push_back(std::move(*right));
      left = std::move(both);
      wrapped_ = false;
    }
    return left;
  }

  Result<Condition> negation() {
    if (p_.is_keyword("NOT")) {
      p_.next();
      Nesting nesting(p_);
      if (!nesting.entered()) return nesting.entered().error();
      auto inner = negation();
      if (!inner) return inner;
      Condition out;
      out.kind = Condition::Kind::kNot;
      out.children.push_back(std::move(*inner));
      wrapped_ = false;
      return out;
    }
    return primary();
  }

  Result<Condition> primary() {
    if (p_.is_symbol("(")) {
      p_.next();
      Nesting nesting(p_);
      if (!nesting.entered()) return nesting.entered().error();
      auto inner = disjunction();
      if (!inner) return inner;
      if (auto close = p_.expect_symbol(")"); !close) return close.error();
      if (wrapped_) return p_.error("The expression has redundant parentheses;");
      wrapped_ = true;
      return inner;
    }
    wrapped_ = false;
    if (p_.at_function()) {
      const std::string name = p_.peek().text;
      if (!is_function_name(name)) {
        return p_.error(fmt::format("Invalid function name; function: {}", name));
      }
      if (name != "size") return boolean_function(name);
    }
    auto left = operand();
    if (!left) return left.error();
    if (p_.is_keyword("BETWEEN")) {
      p_.next();
      auto low = operand();
      if (!low) return low.error();
      if (!p_.is_keyword("AND")) return p_.syntax_error();
      p_.next();
      auto high = operand();
      if (!high) return high.error();
      Condition out;
      out.kind = Condition::Kind::kBetween;
      out.operands = {std::move(*left), std::move(*low), std::move(*high)};
      if (auto checked = check_between(out); !checked) return checked.error();
      return out;
    }
    if (p_.is_keyword("IN")) {
      p_.next();
      if (auto open = p_.expect_symbol("("); !open) return open.error();
      Condition out;
      out.kind = Condition::Kind::kIn;
      out.operands.push_back(std::move(*left));
      for (;;) {
        auto candidate = operand();
        if (!candidate) return candidate.error();
        out.operands.push_back(std::move(*candidate));
        if (p_.is_symbol(",")) {
          p_.next();
          continue;
        }
        if (auto close = p_.expect_symbol(")"); !close) return close.error();
        break;
      }
      if (out.operands.size() - 1 > kMaxInOperands) {
        return p_.error(fmt::format(
            "The IN operator is provided with too many operands; number of operands: {}",
            out.operands.size() - 1));
      }
      return out;
    }
    const Token& comparator = p_.peek();
    static constexpr std::array<std::string_view, 6> kComparators = {"=",  "<>", "<",
                                                                     "<=", ">",  ">="};
    if (comparator.kind != Token::Kind::kSymbol ||
        std::find(kComparators.begin(), kComparators.end(), comparator.text) ==
            kComparators.end()) {
      if (left->kind == Operand::Kind::kSize) return p_.misused("size");
      return p_.syntax_error();
    }
    Condition out;
    out.kind = Condition::Kind::kCompare;
    out.op = p_.next().text;
    auto right = operand();
    if (!right) return right.error();
    out.operands = {std::move(*left), std::move(*right)};
    if (auto checked = check_compare(out); !checked) return checked.error();
    return out;
  }

  Result<Operand> operand() {
    if (p_.at_function()) {
      const std::string name = p_.peek().text;
      if (!is_function_name(name)) {
        return p_.error(fmt::format("Invalid function name; function: {}", name));
      }
      if (name != "size") return p_.misused(name);
      p_.next();
      Nesting nesting(p_);
      if (!nesting.entered()) return nesting.entered().error();
      auto args = p_.arguments([this] { return operand(); });
      if (!args) return args.error();
      if (args->size() != 1) return p_.operand_count("size", args->size());
      Operand& arg = args->front();
      if (arg.kind == Operand::Kind::kValue) {
        return p_.operand_type("size", arg);
      }
      if (arg.kind != Operand::Kind::kPath) return p_.needs_path("size");
      Operand out;
      out.kind = Operand::Kind::kSize;
      out.path = std::move(arg.path);
      return out;
    }
    return p_.path_or_value();
  }

  Result<Condition> boolean_function(const std::string& name) {
    p_.next();
    Nesting nesting(p_);
    if (!nesting.entered()) return nesting.entered().error();
    auto args = p_.arguments([this] { return operand(); });
    if (!args) return args.error();
    Condition out;
    out.operands = std::move(*args);
    const std::size_t count = out.operands.size();
    if (name == "attribute_exists" || name == "attribute_not_exists") {
      if (count != 1) return p_.operand_count(name, count);
      if (out.operands[0].kind != Operand::Kind::kPath) return p_.needs_path(name);
      out.kind = name == "attribute_exists" ? Condition::Kind::kAttributeExists
                                            : Condition::Kind::kAttributeNotExists;
      return out;
    }
    if (count != 2) return p_.operand_count(name, count);
    const Operand& first = out.operands[0];
    const Operand& second = out.operands[1];
    if (name == "attribute_type") {
      if (first.kind != Operand::Kind::kPath) return p_.needs_path(name);
      if (second.kind != Operand::Kind::kValue || second.value.type != ValueType::kS) {
        if (second.kind == Operand::Kind::kValue) return p_.operand_type(name, second);
        return p_.operand_type(name, second);
      }
      if (!type_from_name(second.value.scalar)) {
        return p_.error(
            fmt::format("Invalid attribute type name found; type: {}, valid types: {{ "
                        "B,NULL,SS,BOOL,L,BS,N,NS,S,M }}",
                        second.value.scalar));
      }
      out.kind = Condition::Kind::kAttributeType;
      return out;
    }
    if (name == "begins_with") {
      for (const Operand* operand : {&first, &second}) {
        if (operand->kind == Operand::Kind::kValue && operand->value.type != ValueType::kS &&
            operand->value.type != ValueType::kB) {
          return p_.operand_type(name, *operand);
        }
      }
      if (first.kind == Operand::Kind::kValue && second.kind == Operand::Kind::kValue) {
        return p_.needs_path(name);
      }
      out.kind = Condition::Kind::kBeginsWith;
      return out;
    }
    // contains
    if (first.kind == Operand::Kind::kValue && second.kind == Operand::Kind::kValue) {
      return p_.needs_path(name);
    }
    out.kind = Condition::Kind::kContains;
    return out;
  }

  Result<void> check_distinct(const Condition& condition, std::string_view op) {
    const Operand& first = condition.operands[0];
    for (std::size_t i = 1; i < condition.operands.size(); ++i) {
      const Operand& other = condition.operands[i];
      const bool same_path = first.kind == Operand::Kind::kPath &&
                             other.kind == Operand::Kind::kPath && first.path == other.path;
      const bool same_value = first.kind == Operand::Kind::kValue &&
                              other.kind == Operand::Kind::kValue &&
                              first.value_name == other.value_name;
      if (same_path || same_value) {
        return p_.error(fmt::format(
            "The first operand must be distinct from the remaining operands for this operator or "
            "function; operator: {}, first operand: {}",
            op, same_path ? first.path.describe() : describe(first.value)));
      }
    }
    return ok();
  }

  Result<void> check_compare(const Condition& condition) {
    if (condition.op != "=" && condition.op != "<>") {
      for (const Operand& operand : condition.operands) {
        if (operand.kind == Operand::Kind::kValue && !operand.value.is_scalar_key_type()) {
          return p_.operand_type(condition.op, operand);
        }
      }
    }
    return check_distinct(condition, condition.op);
  }

  Result<void> check_between(const Condition& condition) {
    const Operand& low = condition.operands[1];
    const Operand& high = condition.operands[2];
    for (const Operand* operand : {&condition.operands[0], &low, &high}) {
      if (operand->kind == Operand::Kind::kValue && !operand->value.is_scalar_key_type()) {
        return p_.operand_type("BETWEEN", *operand);
      }
    }
    if (low.kind == Operand::Kind::kValue && high.kind == Operand::Kind::kValue) {
      if (low.value.type != high.value.type) {
        return p_.error(fmt::format(
            "The BETWEEN operator requires same data type for lower and upper bounds; lower "
            "bound operand: AttributeValue: {}, upper bound operand: AttributeValue: {}",
            describe(low.value), describe(high.value)));
      }
      if (compare_scalars(low.value, high.value).value_or(0) > 0) {
        return p_.error(fmt::format(
            "The BETWEEN operator requires upper bound to be greater than or equal to lower "
            "bound; lower bound operand: AttributeValue: {}, upper bound operand: "
            "AttributeValue: {}",
            describe(low.value), describe(high.value)));
      }
    }
    return check_distinct(condition, "BETWEEN");
  }

  Parser& p_;
  // The condition just parsed is a parenthesised one and nothing more:
  // wrapping it in parentheses again is DynamoDB's "redundant parentheses".
  bool wrapped_ = false;
};

// ---- Updates ----------------------------------------------------------------

class UpdateParser {
 public:
  explicit UpdateParser(Parser& parser) : p_(parser) {}

  Result<std::vector<UpdateAction>> parse() {
    std::vector<UpdateAction> actions;
    std::set<std::string> sections;
    if (p_.at_end()) return p_.syntax_error();
    while (!p_.at_end()) {
      if (p_.peek().kind != Token::Kind::kIdentifier) return p_.syntax_error();
      const std::string section = upper(p_.peek().text);
      UpdateAction::Kind kind;
      if (section == "SET") {
        kind = UpdateAction::Kind::kSet;
      } else if (section == "REMOVE") {
        kind = UpdateAction::Kind::kRemove;
      } else if (section == "ADD") {
        kind = UpdateAction::Kind::kAdd;
      } else if (section == "DELETE") {
        kind = UpdateAction::Kind::kDelete;
      } else {
        return p_.syntax_error();
      }
      p_.next();
      if (!sections.insert(section).second) {
        return p_.error(fmt::format(
            "The \"{}\" section can only be used once in an update expression;", section));
      }
      for (;;) {
        auto action = this->action(kind);
        if (!action) return action.error();
        actions.push_back(std::move(*action));
        if (!p_.is_symbol(",")) break;
        p_.next();
      }
    }
    if (auto checked = check_paths(actions); !checked) return checked.error();
    return actions;
  }

 private:
  Result<UpdateAction> action(UpdateAction::Kind kind) {
    UpdateAction out;
    out.kind = kind;
    auto path = p_.path();
    if (!path) return path.error();
    out.path = std::move(*path);
    switch (kind) {
      case UpdateAction::Kind::kRemove:
        return out;
      case UpdateAction::Kind::kSet: {
        if (auto equals = p_.expect_symbol("="); !equals) return equals.error();
        auto value = set_value();
        if (!value) return value.error();
        out.value = std::move(*value);
        return out;
      }
      case UpdateAction::Kind::kAdd:
      case UpdateAction::Kind::kDelete: {
        const std::string_view op = kind == UpdateAction::Kind::kAdd ? "ADD" : "DELETE";
        if (p_.peek().kind != Token::Kind::kValue) {
          if (p_.peek().kind == Token::Kind::kIdentifier || p_.peek().kind == Token::Kind::kName) {
            return p_.error(fmt::format(
                "Incorrect operand type for operator or function; operator: {}, operand type: "
                "PATH",
                op));
          }
          return p_.syntax_error();
        }
        auto value = p_.value_operand();
        if (!value) return value.error();
        const ValueType type = value->value.type;
        const bool allowed =
            value->value.is_set() || (kind == UpdateAction::Kind::kAdd && type == ValueType::kN);
        if (!allowed) {
          return p_.error(fmt::format(
              "Incorrect operand type for operator or function; operator: {}, operand type: {}", op,
              long_type_name(type)));
        }
        out.value = std::move(*value);
        return out;
      }
    }
    return out;
  }

  static std::string_view long_type_name(ValueType type) {
    switch (type) {
      case ValueType::kS:
        return "STRING";
      case ValueType::kN:
        return "NUMBER";
      case ValueType::kB:
        return "BINARY";
      case ValueType::kNull:
        return "NULL";
      case ValueType::kBool:
        return "BOOLEAN";
      case ValueType::kL:
        return "LIST";
      case ValueType::kM:
        return "MAP";
      default:
        return type_name(type);
    }
  }

  Result<Operand> set_value() {
    auto left = set_operand();
    if (!left) return left;
    if (p_.is_symbol("+") || p_.is_symbol("-")) {
      Operand out;
      out.kind = p_.next().text == "+" ? Operand::Kind::kPlus : Operand::Kind::kMinus;
      auto right = set_operand();
      if (!right) return right;
      out.args = {std::move(*left), std::move(*right)};
      return out;
    }
    return left;
  }

  Result<Operand> set_operand() {
    if (p_.at_function()) {
      const std::string name = p_.next().text;
      if (!is_function_name(name)) {
        return p_.error(fmt::format("Invalid function name; function: {}", name));
      }
      if (name != "if_not_exists" && name != "list_append") return p_.misused(name);
      Nesting nesting(p_);
      if (!nesting.entered()) return nesting.entered().error();
      auto args = p_.arguments([this] { return set_operand(); });
      if (!args) return args.error();
      if (args->size() != 2) return p_.operand_count(name, args->size());
      Operand out;
      if (name == "if_not_exists") {
        if ((*args)[0].kind != Operand::Kind::kPath) return p_.needs_path(name);
        out.kind = Operand::Kind::kIfNotExists;
        out.path = std::move((*args)[0].path);
        out.args.push_back(std::move((*args)[1]));
        return out;
      }
      for (const Operand& arg : *args) {
        if (arg.kind == Operand::Kind::kValue && arg.value.type != ValueType::kL) {
          return p_.operand_type(name, arg);
        }
      }
      out.kind = Operand::Kind::kListAppend;
      out.args = std::move(*args);
      return out;
    }
    return p_.path_or_value();
  }

  // No two actions may touch the same path or one inside another.
  Result<void> check_paths(const std::vector<UpdateAction>& actions) {
    for (std::size_t i = 0; i < actions.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (auto checked = check_pair(actions[j].path, actions[i].path); !checked) return checked;
      }
    }
    return ok();
  }

  Result<void> check_pair(const Path& one, const Path& two) {
    const std::size_t common = std::min(one.elements.size(), two.elements.size());
    for (std::size_t k = 0; k < common; ++k) {
      const PathElement& a = one.elements[k];
      const PathElement& b = two.elements[k];
      if (a == b) continue;
      if (a.index.has_value() != b.index.has_value()) {
        return p_.error(fmt::format(
            "Two document paths conflict with each other; must remove or rewrite one of these "
            "paths; path one: {}, path two: {}",
            one.describe(), two.describe()));
      }
      return ok();
    }
    return p_.error(fmt::format(
        "Two document paths overlap with each other; must remove or rewrite one of these paths; "
        "path one: {}, path two: {}",
        one.describe(), two.describe()));
  }

  Parser& p_;
};

Result<void> check_length(std::string_view text, std::string_view label) {
  if (text.empty()) {
    return AwsError::validation(fmt::format("Invalid {}: The expression can not be empty;", label));
  }
  if (text.size() > kMaxExpressionBytes) {
    return AwsError::validation(fmt::format(
        "Invalid {}: Expression size has exceeded the maximum allowed size; expression size: {}",
        label, text.size()));
  }
  return ok();
}

// ExpressionAttributeNames or ExpressionAttributeValues: null when absent,
// else a non-empty map whose keys are `sigil` and a word.
Result<const json::object*> attribute_map(const json::value* wire, std::string_view parameter,
                                          char sigil) {
  if (wire == nullptr || wire->is_null()) return static_cast<const json::object*>(nullptr);
  if (!wire->is_object()) {
    return AwsError::serialization(fmt::format("{} must be a map", parameter));
  }
  if (wire->get_object().empty()) {
    return AwsError::validation(fmt::format("{} must not be empty", parameter));
  }
  for (const auto& [key, value] : wire->get_object()) {
    (void)value;
    if (key.size() < 2 || key[0] != sigil ||
        !std::all_of(key.begin() + 1, key.end(), is_word_char)) {
      return AwsError::validation(fmt::format("{} contains invalid key: Syntax error; key: \"{}\"",
                                              parameter, std::string_view(key)));
    }
  }
  return &wire->get_object();
}

}  // namespace

std::string Path::describe() const {
  std::string out = "[";
  for (std::size_t i = 0; i < elements.size(); ++i) {
    if (i > 0) out += ", ";
    out += elements[i].index ? fmt::format("[{}]", *elements[i].index) : elements[i].name;
  }
  return out + "]";
}

bool is_reserved_word(std::string_view word) {
  const std::string key = upper(word);
  return std::binary_search(std::begin(kReservedWords), std::end(kReservedWords), key);
}

Result<ExpressionAttributes> ExpressionAttributes::make(const json::value* names,
                                                        const json::value* values) {
  ExpressionAttributes out;
  auto name_map = attribute_map(names, "ExpressionAttributeNames", '#');
  if (!name_map) return name_map.error();
  if (*name_map != nullptr) {
    out.names_present_ = true;
    for (const auto& [key, value] : **name_map) {
      if (!value.is_string()) return AwsError::serialization("Unexpected value type in payload");
      if (value.get_string().empty()) {
        return AwsError::validation(fmt::format(
            "ExpressionAttributeNames contains invalid value: Empty attribute name; key: \"{}\"",
            std::string_view(key)));
      }
      out.names_.emplace(std::string(key), std::string(value.get_string()));
    }
  }
  auto value_map = attribute_map(values, "ExpressionAttributeValues", ':');
  if (!value_map) return value_map.error();
  if (*value_map != nullptr) {
    out.values_present_ = true;
    for (const auto& [key, wire] : **value_map) {
      auto value = parse_value(wire);
      if (!value) {
        return AwsError::validation(
            fmt::format("ExpressionAttributeValues contains invalid value: {} for key {}",
                        value.error().message(), std::string_view(key)));
      }
      out.values_.emplace(std::string(key), std::move(*value));
    }
  }
  return out;
}

std::optional<std::string> ExpressionAttributes::name(const std::string& token) {
  const auto it = names_.find(token);
  if (it == names_.end()) return std::nullopt;
  used_names_.insert(token);
  return it->second;
}

const AttributeValue* ExpressionAttributes::value(const std::string& token) {
  const auto it = values_.find(token);
  if (it == values_.end()) return nullptr;
  used_values_.insert(token);
  return &it->second;
}

Result<void> ExpressionAttributes::check_all_used() const {
  std::vector<std::string> unused;
  for (const auto& [key, name] : names_) {
    if (!used_names_.contains(key)) unused.push_back(key);
  }
  if (!unused.empty()) {
    return AwsError::validation(fmt::format(
        "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{}}}",
        fmt::join(unused, ", ")));
  }
  for (const auto& [key, value] : values_) {
    if (!used_values_.contains(key)) unused.push_back(key);
  }
  if (!unused.empty()) {
    return AwsError::validation(fmt::format(
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {{{}}}",
        fmt::join(unused, ", ")));
  }
  return ok();
}

Result<Condition> parse_condition(std::string_view text, std::string_view label,
                                  ExpressionAttributes& attributes) {
  if (auto checked = check_length(text, label); !checked) return checked.error();
  Parser parser(text, label, attributes);
  if (auto tokens = parser.tokenize(); !tokens) return tokens.error();
  return ConditionParser(parser).parse();
}

Result<std::vector<UpdateAction>> parse_update(std::string_view text,
                                               ExpressionAttributes& attributes) {
  if (auto checked = check_length(text, "UpdateExpression"); !checked) return checked.error();
  Parser parser(text, "UpdateExpression", attributes);
  if (auto tokens = parser.tokenize(); !tokens) return tokens.error();
  return UpdateParser(parser).parse();
}

Result<std::vector<Path>> parse_projection(std::string_view text,
                                           ExpressionAttributes& attributes) {
  if (auto checked = check_length(text, "ProjectionExpression"); !checked) {
    return checked.error();
  }
  Parser parser(text, "ProjectionExpression", attributes);
  if (auto tokens = parser.tokenize(); !tokens) return tokens.error();
  std::vector<Path> paths;
  for (;;) {
    auto path = parser.path();
    if (!path) return path.error();
    paths.push_back(std::move(*path));
    if (parser.at_end()) break;
    if (auto comma = parser.expect_symbol(","); !comma) return comma.error();
  }
  for (std::size_t i = 0; i < paths.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      const Path& one = paths[j];
      const Path& two = paths[i];
      const std::size_t common = std::min(one.elements.size(), two.elements.size());
      bool diverged = false;
      for (std::size_t k = 0; k < common && !diverged; ++k) {
        if (one.elements[k] == two.elements[k]) continue;
        if (one.elements[k].index.has_value() != two.elements[k].index.has_value()) {
          return parser.error(fmt::format(
              "Two document paths conflict with each other; must remove or rewrite one of these "
              "paths; path one: {}, path two: {}",
              one.describe(), two.describe()));
        }
        diverged = true;
      }
      if (!diverged) {
        return parser.error(fmt::format(
            "Two document paths overlap with each other; must remove or rewrite one of these "
            "paths; path one: {}, path two: {}",
            one.describe(), two.describe()));
      }
    }
  }
  return paths;
}

}  // namespace nimbus::services::dynamodb

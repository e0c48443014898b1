#include "nimbus/services/cloudwatch/internal/metric_math.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>

#include <fmt/format.h>

namespace nimbus::services::cloudwatch {

struct MathExpression::Node {
  enum class Kind { kNumber, kId, kString, kNegate, kBinary, kCall, kList };
  Kind kind = Kind::kNumber;
  double number = 0;
  std::string text;  // the id, the function's name, the string
  char op = 0;       // + - * / ^
  std::vector<std::shared_ptr<const Node>> children;
};

namespace {

using Node = MathExpression::Node;
using NodePtr = std::shared_ptr<const Node>;

// Deeper than this is refused: no expression can exhaust the stack.
constexpr int kMaxDepth = 100;
constexpr std::size_t kMaxLength = 2048;

AwsError invalid(std::string message) {
  return AwsError("ValidationError", std::move(message), 400);
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<NodePtr> parse() {
    auto root = expression(0);
    if (!root) return root;
    skip_spaces();
    if (pos_ != text_.size()) return unexpected();
    return root;
  }

 private:
  void skip_spaces() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool take(char c) {
    skip_spaces();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  AwsError unexpected() const {
    if (pos_ >= text_.size()) return invalid("Metric math: the expression ends too early.");
    return invalid(
        fmt::format("Metric math: unexpected '{}' at position {}.", text_[pos_], pos_ + 1));
  }

  Result<NodePtr> expression(int depth) {
    if (depth > kMaxDepth) return invalid("Metric math: the expression is nested too deeply.");
    return left_associative("+-", [&] { return term(depth); });
  }

  Result<NodePtr> term(int depth) {
    return left_associative("*/", [&] { return power(depth); });
  }

  // Operands `next` parses, joined by any of `ops`, grouped from the left.
  template <class Next>
  Result<NodePtr> left_associative(std::string_view ops, Next next) {
    // The running result is a plain pointer: GCC (with ASan) misreads
    // assignments to a Result as reading an uninitialised error.
    auto first = next();
    if (!first) return first;
    NodePtr left = std::move(*first);
    for (;;) {
      const auto op = std::find_if(ops.begin(), ops.end(), [this](char c) { return take(c); });
      if (op == ops.end()) return left;
      auto right = next();
      if (!right) return right.error();
      left = binary(*op, std::move(left), std::move(*right));
    }
  }

  // ^ binds tighter than * and /, and to the right.
  Result<NodePtr> power(int depth) {
    auto base = unary(depth);
    if (!base) return base;
    if (!take('^')) return base;
    auto exponent = power(depth + 1);
    if (!exponent) return exponent;
    return binary('^', *base, *exponent);
  }

  Result<NodePtr> unary(int depth) {
    if (depth > kMaxDepth) return invalid("Metric math: the expression is nested too deeply.");
    if (take('-')) {
      auto operand = unary(depth + 1);
      if (!operand) return operand;
      auto node = std::make_shared<Node>();
      node->kind = Node::Kind::kNegate;
      node->children.push_back(*operand);
      return NodePtr(node);
    }
    return primary(depth);
  }

  Result<NodePtr> primary(int depth) {
    skip_spaces();
    if (pos_ >= text_.size()) return unexpected();
    const char c = text_[pos_];
    if (c == '(') {
      ++pos_;
      auto inner = expression(depth + 1);
      if (!inner) return inner;
      if (!take(')')) return unexpected();
      return inner;
    }
    if (c == '[') {
      ++pos_;
      auto node = std::make_shared<Node>();
      node->kind = Node::Kind::kList;
      auto items = arguments(depth, ']', node->children);
      if (!items) return items.error();
      if (node->children.empty()) return invalid("Metric math: a list [...] cannot be empty.");
      return NodePtr(node);
    }
    if (c == '"') {
      const auto close = text_.find('"', pos_ + 1);
      if (close == std::string_view::npos) return invalid("Metric math: a string is not closed.");
      auto node = std::make_shared<Node>();
      node->kind = Node::Kind::kString;
      node->text = std::string(text_.substr(pos_ + 1, close - pos_ - 1));
      pos_ = close + 1;
      return NodePtr(node);
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      std::size_t end = pos_;
      while (end < text_.size() &&
             (std::isdigit(static_cast<unsigned char>(text_[end])) || text_[end] == '.')) {
        ++end;
      }
      double value = 0;
      const auto [last, ec] = std::from_chars(text_.data() + pos_, text_.data() + end, value);
      if (ec != std::errc() || last != text_.data() + end) {
        return invalid(
            fmt::format("Metric math: '{}' is not a number.", text_.substr(pos_, end - pos_)));
      }
      pos_ = end;
      auto node = std::make_shared<Node>();
      node->kind = Node::Kind::kNumber;
      node->number = value;
      return NodePtr(node);
    }
    if (std::isalpha(static_cast<unsigned char>(c))) {
      std::size_t end = pos_;
      while (end < text_.size() &&
             (std::isalnum(static_cast<unsigned char>(text_[end])) || text_[end] == '_')) {
        ++end;
      }
      auto node = std::make_shared<Node>();
      node->text = std::string(text_.substr(pos_, end - pos_));
      pos_ = end;
      if (take('(')) {
        node->kind = Node::Kind::kCall;
        auto items = arguments(depth, ')', node->children);
        if (!items) return items.error();
        return NodePtr(node);
      }
      node->kind = Node::Kind::kId;
      return NodePtr(node);
    }
    return unexpected();
  }

  // Comma-separated expressions up to `close` (possibly none).
  Result<void> arguments(int depth, char close, std::vector<NodePtr>& out) {
    if (take(close)) return ok();
    for (;;) {
      auto item = expression(depth + 1);
      if (!item) return item.error();
      out.push_back(*item);
      if (take(close)) return ok();
      if (!take(',')) return unexpected();
    }
  }

  static NodePtr binary(char op, NodePtr left, NodePtr right) {
    auto node = std::make_shared<Node>();
    node->kind = Node::Kind::kBinary;
    node->op = op;
    node->children = {std::move(left), std::move(right)};
    return node;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// What an expression evaluates to: a number, one series, or several.
struct Value {
  enum class Kind { kScalar, kSeries, kList };
  Kind kind = Kind::kScalar;
  double scalar = 0;
  std::vector<TimeSeries> series;
};

Value scalar_value(double number) { return Value{Value::Kind::kScalar, number, {}}; }
Value series_value(TimeSeries series) {
  return Value{Value::Kind::kSeries, 0, {std::move(series)}};
}

double apply(char op, double a, double b) {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    default:
      return std::pow(a, b);
  }
}

// Non-finite results (a division by zero) leave no datapoint, as CloudWatch drops them.
void push_finite(TimeSeries& out, std::int64_t time, double value) {
  if (std::isfinite(value)) out.points.emplace_back(time, value);
}

TimeSeries combine(char op, const TimeSeries& a, const TimeSeries& b) {
  // Only the timestamps both have: FILL makes the others count.
  TimeSeries out;
  out.label = a.label;
  auto i = a.points.begin();
  auto j = b.points.begin();
  while (i != a.points.end() && j != b.points.end()) {
    if (i->first < j->first) {
      ++i;
    } else if (j->first < i->first) {
      ++j;
    } else {
      push_finite(out, i->first, apply(op, i->second, j->second));
      ++i;
      ++j;
    }
  }
  return out;
}

TimeSeries with_scalar(char op, const TimeSeries& series, double number, bool scalar_first) {
  TimeSeries out;
  out.label = series.label;
  for (const auto& [time, value] : series.points) {
    push_finite(out, time, scalar_first ? apply(op, number, value) : apply(op, value, number));
  }
  return out;
}

Result<Value> arithmetic(char op, const Value& a, const Value& b) {
  if (a.kind == Value::Kind::kScalar && b.kind == Value::Kind::kScalar) {
    return scalar_value(apply(op, a.scalar, b.scalar));
  }
  if (a.kind == Value::Kind::kList && b.kind == Value::Kind::kList) {
    return invalid("Metric math: an operator cannot combine two lists of time series.");
  }
  Value out;
  out.kind = a.kind == Value::Kind::kList || b.kind == Value::Kind::kList ? Value::Kind::kList
                                                                          : Value::Kind::kSeries;
  if (a.kind == Value::Kind::kScalar) {
    for (const auto& series : b.series)
      out.series.push_back(with_scalar(op, series, a.scalar, true));
  } else if (b.kind == Value::Kind::kScalar) {
    for (const auto& series : a.series) {
      out.series.push_back(with_scalar(op, series, b.scalar, false));
    }
  } else if (a.kind == Value::Kind::kList) {
    for (const auto& series : a.series) out.series.push_back(combine(op, series, b.series[0]));
  } else if (b.kind == Value::Kind::kList) {
    for (const auto& series : b.series) out.series.push_back(combine(op, a.series[0], series));
  } else {
    out.series.push_back(combine(op, a.series[0], b.series[0]));
  }
  return out;
}

// SUM, AVG, MIN or MAX of some values (at least one).
double aggregate(std::string_view function, const std::vector<double>& values) {
  if (function == "MIN") return *std::min_element(values.begin(), values.end());
  if (function == "MAX") return *std::max_element(values.begin(), values.end());
  double sum = 0;
  for (double value : values) sum += value;
  return function == "AVG" ? sum / static_cast<double>(values.size()) : sum;
}

// The function of the values at each timestamp any series has.
TimeSeries across(std::string_view function, const std::vector<TimeSeries>& list) {
  std::map<std::int64_t, std::vector<double>> at;
  for (const auto& series : list) {
    for (const auto& [time, value] : series.points) at[time].push_back(value);
  }
  TimeSeries out;
  out.label = std::string(function);
  for (const auto& [time, values] : at) push_finite(out, time, aggregate(function, values));
  return out;
}

// SUM(m1) and the like of one series: a number over all its values.
std::optional<double> reduce(std::string_view function, const TimeSeries& series) {
  if (series.points.empty()) return std::nullopt;
  std::vector<double> values;
  values.reserve(series.points.size());
  for (const auto& point : series.points) values.push_back(point.second);
  return aggregate(function, values);
}

class Evaluator {
 public:
  explicit Evaluator(const MathContext& context) : context_(context) {}

  Result<Value> evaluate(const Node& node) {
    switch (node.kind) {
      case Node::Kind::kNumber:
        return scalar_value(node.number);
      case Node::Kind::kString:
        return invalid(
            fmt::format("Metric math: the string \"{}\" is not a value here.", node.text));
      case Node::Kind::kId: {
        auto series = context_.series(node.text);
        if (!series) return series.error();
        Value value;
        value.kind = series->size() == 1 ? Value::Kind::kSeries : Value::Kind::kList;
        value.series = std::move(*series);
        return value;
      }
      case Node::Kind::kNegate: {
        auto operand = evaluate(*node.children[0]);
        if (!operand) return operand;
        return arithmetic('*', *operand, scalar_value(-1));
      }
      case Node::Kind::kBinary: {
        auto left = evaluate(*node.children[0]);
        if (!left) return left;
        auto right = evaluate(*node.children[1]);
        if (!right) return right;
        return arithmetic(node.op, *left, *right);
      }
      case Node::Kind::kList: {
        Value out;
        out.kind = Value::Kind::kList;
        for (const auto& child : node.children) {
          auto item = evaluate(*child);
          if (!item) return item;
          if (item->kind == Value::Kind::kScalar) {
            return invalid("Metric math: a list [...] holds time series, not numbers.");
          }
          for (auto& series : item->series) out.series.push_back(std::move(series));
        }
        return out;
      }
      case Node::Kind::kCall:
        return call(node);
    }
    return invalid("Metric math: unknown expression.");
  }

 private:
  Result<Value> call(const Node& node) {
    const std::string& name = node.text;
    const auto count = node.children.size();
    if (name == "METRICS") {
      if (count > 1 || (count == 1 && node.children[0]->kind != Node::Kind::kString)) {
        return invalid("Metric math: METRICS takes nothing or one string.");
      }
      const std::string filter = count == 1 ? node.children[0]->text : std::string();
      Value out;
      out.kind = Value::Kind::kList;
      for (const auto& [id, label] : context_.metric_queries) {
        if (!filter.empty() && id.find(filter) == std::string::npos &&
            label.find(filter) == std::string::npos) {
          continue;
        }
        auto series = context_.series(id);
        if (!series) return series.error();
        for (auto& one : *series) out.series.push_back(std::move(one));
      }
      return out;
    }
    if (name == "SUM" || name == "AVG" || name == "MIN" || name == "MAX") {
      if (count != 1) return invalid(fmt::format("Metric math: {} takes one argument.", name));
      auto argument = evaluate(*node.children[0]);
      if (!argument) return argument;
      if (argument->kind == Value::Kind::kList) return series_value(across(name, argument->series));
      if (argument->kind == Value::Kind::kScalar) return *argument;
      auto reduced = reduce(name, argument->series[0]);
      if (!reduced) return series_value(TimeSeries{name, {}});
      return scalar_value(*reduced);
    }
    if (name == "ABS") {
      if (count != 1) return invalid("Metric math: ABS takes one argument.");
      auto argument = evaluate(*node.children[0]);
      if (!argument) return argument;
      if (argument->kind == Value::Kind::kScalar) return scalar_value(std::abs(argument->scalar));
      for (auto& series : argument->series) {
        for (auto& point : series.points) point.second = std::abs(point.second);
      }
      return argument;
    }
    if (name == "DIFF" || name == "DIFF_TIME" || name == "RATE") {
      if (count != 1) return invalid(fmt::format("Metric math: {} takes one argument.", name));
      auto argument = evaluate(*node.children[0]);
      if (!argument) return argument;
      if (argument->kind == Value::Kind::kScalar) {
        return invalid(fmt::format("Metric math: {}'s argument must be a time series.", name));
      }
      for (auto& series : argument->series) series = changes(name, series);
      return argument;
    }
    if (name == "FILL") {
      if (count != 2) return invalid("Metric math: FILL takes a time series and a value.");
      auto argument = evaluate(*node.children[0]);
      if (!argument) return argument;
      if (argument->kind == Value::Kind::kScalar) {
        return invalid("Metric math: FILL's first argument must be a time series.");
      }
      const auto& how = *node.children[1];
      const bool repeat = how.kind == Node::Kind::kId && how.text == "REPEAT";
      std::optional<double> with;
      if (!repeat) {
        auto value = evaluate(how);
        if (!value) return value;
        if (value->kind != Value::Kind::kScalar) {
          return invalid("Metric math: FILL fills with a number or REPEAT.");
        }
        with = value->scalar;
      }
      for (auto& series : argument->series) series = fill(series, with);
      return argument;
    }
    return invalid(fmt::format("Metric math: the function {} is not supported by Nimbus.", name));
  }

  // Each value against the one before it: DIFF the difference, DIFF_TIME
  // the seconds between them, RATE the difference per second. The first
  // value has none before it and gives no datapoint.
  static TimeSeries changes(std::string_view function, const TimeSeries& series) {
    TimeSeries out;
    out.label = series.label;
    for (std::size_t i = 1; i < series.points.size(); ++i) {
      const auto& [time, value] = series.points[i];
      const auto& previous = series.points[i - 1];
      const auto seconds = static_cast<double>(time - previous.first);
      const double difference = value - previous.second;
      push_finite(out, time,
                  function == "DIFF"        ? difference
                  : function == "DIFF_TIME" ? seconds
                                            : difference / seconds);
    }
    return out;
  }

  // Every grid period gets a value: `with`, or else the one before it
  // (REPEAT; the first value for periods before any).
  TimeSeries fill(const TimeSeries& series, std::optional<double> with) const {
    TimeSeries out;
    out.label = series.label;
    std::map<std::int64_t, double> known(series.points.begin(), series.points.end());
    std::optional<double> last;
    if (!series.points.empty()) last = series.points.front().second;
    for (const std::int64_t time : context_.grid) {
      if (auto it = known.find(time); it != known.end()) {
        last = it->second;
        out.points.emplace_back(time, it->second);
      } else if (with) {
        out.points.emplace_back(time, *with);
      } else if (last) {
        out.points.emplace_back(time, *last);
      }
    }
    return out;
  }

  const MathContext& context_;
};

}  // namespace

Result<MathExpression> MathExpression::parse(std::string_view text) {
  if (text.empty()) return invalid("Metric math: the expression is empty.");
  if (text.size() > kMaxLength) {
    return invalid(fmt::format("Metric math: an expression is at most {} characters.", kMaxLength));
  }
  auto root = Parser(text).parse();
  if (!root) return root.error();
  return MathExpression(std::move(*root));
}

Result<std::vector<TimeSeries>> MathExpression::evaluate(const MathContext& context) const {
  Evaluator evaluator(context);
  auto value = evaluator.evaluate(*root_);
  if (!value) return value.error();
  if (value->kind == Value::Kind::kScalar) {
    return invalid("Metric math: the expression gives a number, not a time series.");
  }
  return std::move(value->series);
}

}  // namespace nimbus::services::cloudwatch

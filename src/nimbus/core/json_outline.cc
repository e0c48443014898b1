#include "nimbus/core/json_outline.h"

#include <boost/json/array.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/string.hpp>

namespace nimbus {
namespace json = boost::json;
namespace {

// A basic_parser handler that keeps only the top level's kind and whether a
// top-level key equals the member asked about. Keys may arrive in parts
// (escapes, buffer ends), so each part is compared where it falls.
class OutlineHandler {
 public:
  // The limits json::parse's own handler sets, so both refuse the same.
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();

  explicit OutlineHandler(std::string_view member) : member_(member) {}

  const JsonOutline& outline() const { return outline_; }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return open(json::kind::object); }
  bool on_object_end(std::size_t, json::error_code&) { return close(); }
  bool on_array_begin(json::error_code&) { return open(json::kind::array); }
  bool on_array_end(std::size_t, json::error_code&) { return close(); }
  bool on_key_part(json::string_view part, std::size_t size, json::error_code&) {
    if (depth_ == 1) compare_key(part, size);
    return true;
  }
  bool on_key(json::string_view part, std::size_t size, json::error_code&) {
    if (depth_ == 1) {
      compare_key(part, size);
      if (key_matches_ && size == member_.size()) outline_.has_member = true;
      key_matches_ = true;
    }
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, json::error_code&) {
    return scalar(json::kind::string);
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) {
    return scalar(json::kind::int64);
  }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) {
    return scalar(json::kind::uint64);
  }
  bool on_double(double, json::string_view, json::error_code&) {
    return scalar(json::kind::double_);
  }
  bool on_bool(bool, json::error_code&) { return scalar(json::kind::bool_); }
  bool on_null(json::error_code&) { return scalar(json::kind::null); }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  bool open(json::kind kind) {
    if (depth_++ == 0) outline_.kind = kind;
    return true;
  }
  bool close() {
    --depth_;
    return true;
  }
  bool scalar(json::kind kind) {
    if (depth_ == 0) outline_.kind = kind;
    return true;
  }
  // `size` counts the key so far, this part included.
  void compare_key(json::string_view part, std::size_t size) {
    const std::size_t at = size - part.size();
    if (!key_matches_ || size > member_.size() ||
        member_.substr(at, part.size()) != std::string_view(part.data(), part.size())) {
      key_matches_ = false;
    }
  }

  std::string_view member_;
  std::size_t depth_ = 0;
  bool key_matches_ = true;
  JsonOutline outline_;
};

}  // namespace

std::optional<JsonOutline> outline_json(std::string_view text, std::string_view member,
                                        boost::system::error_code& error) {
  error = {};
  json::basic_parser<OutlineHandler> parser(json::parse_options{}, member);
  // As json::parser::write does: one complete value, then nothing but space.
  const std::size_t used = parser.write_some(false, text.data(), text.size(), error);
  if (!error && used < text.size()) error = json::error::extra_data;
  if (error) return std::nullopt;
  return parser.handler().outline();
}

std::optional<JsonOutline> outline_json(std::string_view text, std::string_view member) {
  boost::system::error_code error;
  return outline_json(text, member, error);
}

}  // namespace nimbus

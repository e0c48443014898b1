#include "nimbus/aws/xml_writer.h"

namespace nimbus::aws {

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\r':
        out += "&#xD;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

XmlWriter& XmlWriter::declaration() {
  out_ += R"(<?xml version="1.0" encoding="UTF-8"?>)";
  out_.push_back('\n');
  return *this;
}

XmlWriter& XmlWriter::open(std::string_view name, std::string_view xmlns) {
  out_.push_back('<');
  out_ += name;
  if (!xmlns.empty()) {
    out_ += " xmlns=\"";
    out_ += xml_escape(xmlns);
    out_.push_back('"');
  }
  out_.push_back('>');
  open_.emplace_back(name);
  return *this;
}

XmlWriter& XmlWriter::close() {
  if (open_.empty()) return *this;
  out_ += "</";
  out_ += open_.back();
  out_.push_back('>');
  open_.pop_back();
  return *this;
}

XmlWriter& XmlWriter::element(std::string_view name, std::string_view text) {
  out_.push_back('<');
  out_ += name;
  out_.push_back('>');
  out_ += xml_escape(text);
  out_ += "</";
  out_ += name;
  out_.push_back('>');
  return *this;
}

XmlWriter& XmlWriter::raw(std::string_view xml) {
  out_ += xml;
  return *this;
}

std::string XmlWriter::finish() {
  while (!open_.empty()) close();
  return std::move(out_);
}

}  // namespace nimbus::aws

#pragma once

// A small streaming XML writer for awsQuery and restXml responses: elements
// and escaped text, nothing more.

#include <string>
#include <string_view>
#include <vector>

namespace nimbus::aws {

std::string xml_escape(std::string_view text);

class XmlWriter {
 public:
  XmlWriter& declaration();
  XmlWriter& open(std::string_view name, std::string_view xmlns = {});
  XmlWriter& close();
  XmlWriter& element(std::string_view name, std::string_view text);
  // Appends already-serialised XML (a fragment from another writer).
  XmlWriter& raw(std::string_view xml);
  // Closes what is still open and returns the document.
  std::string finish();

 private:
  std::string out_;
  std::vector<std::string> open_;
};

}  // namespace nimbus::aws

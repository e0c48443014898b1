#include "nimbus/core/json_text.h"

#include <boost/json/serializer.hpp>

namespace nimbus {

void append_json_string(std::string& out, std::string_view text) {
  // Most strings need no escape: quoted as they are. The rest go through
  // Boost.JSON's serializer, which escapes '"', '\' and control characters.
  bool plain = true;
  for (const char c : text) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      plain = false;
      break;
    }
  }
  if (plain) {
    out.reserve(out.size() + text.size() + 2);
    out += '"';
    out += text;
    out += '"';
    return;
  }
  boost::json::serializer serializer;
  serializer.reset(boost::json::string_view(text.data(), text.size()));
  char buffer[256];
  while (!serializer.done()) {
    const auto part = serializer.read(buffer, sizeof buffer);
    out.append(part.data(), part.size());
  }
}

}  // namespace nimbus

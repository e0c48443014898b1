#include "nimbus/aws/event_stream.h"

#include <cstdint>

#include <boost/crc.hpp>

namespace nimbus::aws {
namespace {

std::uint32_t crc32(std::string_view bytes) {
  boost::crc_32_type crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

void put32(std::string& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((value >> shift) & 0xff);
}

std::uint32_t get32(std::string_view bytes, std::size_t at) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i)
    value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
  return value;
}

constexpr char kStringType = 7;

}  // namespace

std::string encode_event_message(const EventHeaders& headers, std::string_view payload) {
  std::string encoded_headers;
  for (const auto& [name, value] : headers) {
    encoded_headers += static_cast<char>(name.size());
    encoded_headers += name;
    encoded_headers += kStringType;
    encoded_headers += static_cast<char>((value.size() >> 8) & 0xff);
    encoded_headers += static_cast<char>(value.size() & 0xff);
    encoded_headers += value;
  }
  const auto total = static_cast<std::uint32_t>(12 + encoded_headers.size() + payload.size() + 4);
  std::string out;
  out.reserve(total);
  put32(out, total);
  put32(out, static_cast<std::uint32_t>(encoded_headers.size()));
  put32(out, crc32(out));
  out += encoded_headers;
  out += payload;
  put32(out, crc32(out));
  return out;
}

std::string encode_event(std::string_view event_type, std::string_view content_type,
                         std::string_view payload) {
  return encode_event_message({{":event-type", std::string(event_type)},
                               {":content-type", std::string(content_type)},
                               {":message-type", "event"}},
                              payload);
}

std::vector<EventMessage> decode_event_messages(std::string_view bytes) {
  std::vector<EventMessage> out;
  std::size_t at = 0;
  while (at < bytes.size()) {
    if (bytes.size() - at < 16) return {};
    const std::uint32_t total = get32(bytes, at);
    const std::uint32_t headers_length = get32(bytes, at + 4);
    if (total < 16 || total > bytes.size() - at || headers_length > total - 16) return {};
    const auto message = bytes.substr(at, total);
    if (crc32(message.substr(0, 8)) != get32(message, 8)) return {};
    if (crc32(message.substr(0, total - 4)) != get32(message, total - 4)) return {};
    EventMessage decoded;
    std::size_t h = 12;
    const std::size_t headers_end = 12 + headers_length;
    while (h < headers_end) {
      const std::size_t name_length = static_cast<unsigned char>(message[h]);
      if (h + 1 + name_length + 3 > headers_end) return {};
      std::string name(message.substr(h + 1, name_length));
      h += 1 + name_length;
      if (message[h] != kStringType) return {};
      const std::size_t value_length =
          (static_cast<std::size_t>(static_cast<unsigned char>(message[h + 1])) << 8) |
          static_cast<unsigned char>(message[h + 2]);
      h += 3;
      if (h + value_length > headers_end) return {};
      decoded.headers.emplace_back(std::move(name), std::string(message.substr(h, value_length)));
      h += value_length;
    }
    decoded.payload = std::string(message.substr(headers_end, total - 4 - headers_end));
    out.push_back(std::move(decoded));
    at += total;
  }
  return out;
}

}  // namespace nimbus::aws

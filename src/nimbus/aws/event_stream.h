#pragma once

// The AWS event stream encoding (application/vnd.amazon.eventstream), as
// InvokeWithResponseStream answers and the SDKs decode: each message is
//   total length (4) | headers length (4) | CRC32 of those 8 bytes (4)
//   | headers | payload | CRC32 of everything before (4)
// all big-endian; a header is name length (1), name, type (1; 7 = string),
// value length (2), value.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nimbus::aws {

using EventHeaders = std::vector<std::pair<std::string, std::string>>;  // string-valued only

std::string encode_event_message(const EventHeaders& headers, std::string_view payload);

// An event of a modelled event stream: :message-type event, :event-type and
// :content-type set.
std::string encode_event(std::string_view event_type, std::string_view content_type,
                         std::string_view payload);

struct EventMessage {
  EventHeaders headers;
  std::string payload;
};

// Decodes messages back to back; for tests and clients. Empty on a
// malformed or truncated stream or a CRC mismatch.
std::vector<EventMessage> decode_event_messages(std::string_view bytes);

}  // namespace nimbus::aws

#include "nimbus/ledger/log_format.h"

#include <utility>

namespace nimbus::ledger {

void put_be64(std::string& out, std::uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}

std::uint64_t get_be64(std::string_view in) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | static_cast<unsigned char>(in[i]);
  return value;
}

std::string log_stream_key(std::string_view group, std::string_view stream) {
  std::string key;
  key.reserve(group.size() + stream.size() + 1);
  key += group;
  key.push_back('\0');
  key += stream;
  return key;
}

std::string log_group_prefix(std::string_view group) {
  std::string key(group);
  key.push_back('\0');
  return key;
}

std::string log_stream_events_prefix(std::string_view group, std::string_view stream) {
  std::string key = log_stream_key(group, stream);
  key.push_back('\0');
  return key;
}

std::string log_event_key(std::string_view group, std::string_view stream,
                          std::int64_t timestamp_ms) {
  std::string key = log_stream_events_prefix(group, stream);
  put_be64(key, sortable(timestamp_ms));
  return key;
}

std::string log_event_key(std::string_view group, std::string_view stream,
                          std::int64_t timestamp_ms, std::uint64_t sequence) {
  std::string key = log_event_key(group, stream, timestamp_ms);
  put_be64(key, sequence);
  return key;
}

std::string log_chunk_key(std::string_view group, std::string_view stream,
                          std::int64_t first_timestamp_ms, std::uint64_t first_sequence) {
  std::string key = log_event_key(group, stream, first_timestamp_ms, first_sequence);
  key.push_back(kLogChunkMark);
  return key;
}

std::optional<LogEventKey> parse_log_event_key(std::string_view key) {
  auto first = key.find('\0');
  if (first == std::string_view::npos) return std::nullopt;
  auto second = key.find('\0', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  const bool chunk = key.size() == second + 18 && key.back() == kLogChunkMark;
  if (key.size() != second + 17 && !chunk) return std::nullopt;
  LogEventKey parsed;
  parsed.chunk = chunk;
  parsed.group = key.substr(0, first);
  parsed.stream = key.substr(first + 1, second - first - 1);
  parsed.timestamp_ms = unsortable(get_be64(key.substr(second + 1)));
  parsed.sequence = get_be64(key.substr(second + 9));
  return parsed;
}

bool LogChunkWriter::accepts(std::int64_t timestamp_ms) const {
  return count_ == 0 || (timestamp_ms >= last_ms_ && timestamp_ms - first_ms_ <= kLogChunkSpanMs &&
                         value_.size() < kLogChunkBytes);
}

// Each event: varint(milliseconds after the first) varint(size) message.
void LogChunkWriter::add(std::int64_t timestamp_ms, std::string_view message) {
  if (count_ == 0) {
    first_ms_ = timestamp_ms;
    // A chunk mostly gathers a stream's lines of a whole group commit: room
    // for several at once, not a regrowth every few lines.
    value_.reserve(kLogChunkFirstRoom);
  }
  last_ms_ = timestamp_ms;
  ++count_;
  EntryWriter write(value_, EntryWriter::kMostVarint + EntryWriter::room(message));
  write.count(static_cast<std::uint64_t>(timestamp_ms - first_ms_));
  write.sized(message);
}

std::string LogChunkWriter::take() {
  count_ = 0;
  return std::exchange(value_, std::string());
}

std::optional<std::vector<StoredLogEvent>> decode_log_record(const LogEventKey& key,
                                                             std::string_view value) {
  std::vector<StoredLogEvent> events;
  if (!key.chunk) {
    events.push_back({key.timestamp_ms, key.sequence, value});
    return events;
  }
  while (!value.empty()) {
    const auto offset = get_varint(value);
    const auto message = get_sized(value);
    if (!offset || !message || *offset > static_cast<std::uint64_t>(kLogChunkSpanMs)) {
      return std::nullopt;
    }
    events.push_back({key.timestamp_ms + static_cast<std::int64_t>(*offset),
                      key.sequence + events.size(), *message});
  }
  return events;
}

std::optional<LogStreamKey> parse_log_stream_key(std::string_view key) {
  auto first = key.find('\0');
  if (first == std::string_view::npos || key.find('\0', first + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  return LogStreamKey{key.substr(0, first), key.substr(first + 1)};
}

}  // namespace nimbus::ledger

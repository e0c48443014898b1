#pragma once

// The keys of the log keyspaces (docs/formats/ledger.md), shared by the
// journal that writes function logs and the Logs service that serves and
// writes them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nimbus::ledger {

struct LogEvent {
  std::string group;   // "/aws/lambda/<name>"
  std::string stream;  // "2026/11/26/[$LATEST]<instance id>"
  std::int64_t timestamp_ms = 0;
  std::string message;
};

void put_be64(std::string& out, std::uint64_t value);
std::uint64_t get_be64(std::string_view in);  // in.size() >= 8

// Signed times as unsigned bits that sort in the same order.
constexpr std::uint64_t sortable(std::int64_t value) {
  return static_cast<std::uint64_t>(value) ^ (std::uint64_t{1} << 63);
}
constexpr std::int64_t unsortable(std::uint64_t bits) {
  return static_cast<std::int64_t>(bits ^ (std::uint64_t{1} << 63));
}

// group NUL stream: a logs.streams key, and the prefix of the stream's events.
std::string log_stream_key(std::string_view group, std::string_view stream);
// group NUL stream NUL: the prefix of every event of a stream.
std::string log_stream_events_prefix(std::string_view group, std::string_view stream);
// group NUL: the prefix of every stream and event of a group.
std::string log_group_prefix(std::string_view group);
// group NUL stream NUL be64(sortable(timestamp)) [be64(sequence)]: with the
// sequence, an event's key; without it, the first key at `timestamp_ms`.
std::string log_event_key(std::string_view group, std::string_view stream,
                          std::int64_t timestamp_ms);
std::string log_event_key(std::string_view group, std::string_view stream,
                          std::int64_t timestamp_ms, std::uint64_t sequence);

// Events of one stream written together share one key, a chunk: its
// first event's key followed by kLogChunkMark. Every event of a chunk is
// within kLogChunkSpanMs of the first and none is earlier, so the events
// at or after time t are all in records whose key time is at least
// t - kLogChunkSpanMs. Event i of a chunk has sequence first + i.
constexpr char kLogChunkMark = '\x01';
constexpr std::int64_t kLogChunkSpanMs = 1000;
// A chunk is closed once it holds this much (one event may be bigger).
constexpr std::size_t kLogChunkBytes = 64 * 1024;
// What a new chunk reserves.
constexpr std::size_t kLogChunkFirstRoom = 4 * 1024;
std::string log_chunk_key(std::string_view group, std::string_view stream,
                          std::int64_t first_timestamp_ms, std::uint64_t first_sequence);

struct LogEventKey {
  std::string_view group;
  std::string_view stream;
  std::int64_t timestamp_ms = 0;  // of the first event, for a chunk
  std::uint64_t sequence = 0;
  bool chunk = false;
};
// Views into `key`; nullopt for a key not in this format.
std::optional<LogEventKey> parse_log_event_key(std::string_view key);

// Builds a chunk's value: events in time order, none more than
// kLogChunkSpanMs after the first.
class LogChunkWriter {
 public:
  // Whether an event at `timestamp_ms` may join: always the first; later
  // ones in time order, within the span, until the chunk holds
  // kLogChunkBytes.
  bool accepts(std::int64_t timestamp_ms) const;
  void add(std::int64_t timestamp_ms, std::string_view message);
  bool empty() const { return count_ == 0; }
  std::size_t count() const { return count_; }
  std::int64_t first_timestamp_ms() const { return first_ms_; }
  // The value; the writer is empty again afterwards.
  std::string take();

 private:
  std::string value_;
  std::size_t count_ = 0;
  std::int64_t first_ms_ = 0;
  std::int64_t last_ms_ = 0;
};

struct StoredLogEvent {
  std::int64_t timestamp_ms = 0;
  std::uint64_t sequence = 0;
  std::string_view message;  // a view into the record's value
};
// The events of one logs.events record, in order: one for a single
// event, all of a chunk's. nullopt for a malformed chunk.
std::optional<std::vector<StoredLogEvent>> decode_log_record(const LogEventKey& key,
                                                             std::string_view value);

// LEB128, as chunks and usage batches encode lengths and offsets. Inline:
// the journal writes and reads several for every log line and record.
inline constexpr std::size_t kMostVarintBytes = 10;

// Writes one at `out`, which has room for kMostVarintBytes; returns the end.
inline char* write_varint(char* out, std::uint64_t value) {
  while (value >= 0x80) {
    *out++ = static_cast<char>((value & 0x7f) | 0x80);
    value >>= 7;
  }
  *out++ = static_cast<char>(value);
  return out;
}

inline void put_varint(std::string& out, std::uint64_t value) {
  char bytes[kMostVarintBytes];  // appended at once: one capacity check, not one a byte
  out.append(bytes, static_cast<std::size_t>(write_varint(bytes, value) - bytes));
}

// Reads one from the front of `in`, advancing it; nullopt if truncated.
inline std::optional<std::uint64_t> get_varint(std::string_view& in) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < in.size() && i < 10; ++i) {
    const auto byte = static_cast<unsigned char>(in[i]);
    value |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      in.remove_prefix(i + 1);
      return value;
    }
  }
  return std::nullopt;
}

// Reads varint(size) then that many bytes from the front of `in`, advancing
// it; nullopt if either is truncated.
inline std::optional<std::string_view> get_sized(std::string_view& in) {
  std::string_view rest = in;
  const auto size = get_varint(rest);
  if (!size || *size > rest.size()) return std::nullopt;
  in = rest.substr(*size);
  return rest.substr(0, *size);
}

struct LogStreamKey {
  std::string_view group;
  std::string_view stream;
};
std::optional<LogStreamKey> parse_log_stream_key(std::string_view key);

}  // namespace nimbus::ledger

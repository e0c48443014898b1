#pragma once

// The keys of the log keyspaces (docs/formats/ledger.md), shared by the
// journal that writes function logs and the Logs service that serves and
// writes them.

#include <cstdint>
#include <cstring>
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

// A log event whose group and stream are known from where it is kept.
struct LogLine {
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

// Reads one at `next`, not past `end`, advancing `next`; false (and
// `next` where it was) if it is cut short or longer than kMostVarintBytes.
inline bool read_varint(const char*& next, const char* end, std::uint64_t& value) {
  value = 0;
  const char* at = next;
  for (int shift = 0; at != end && shift < 7 * static_cast<int>(kMostVarintBytes); shift += 7) {
    const auto byte = static_cast<unsigned char>(*at++);
    value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if (byte < 0x80) {
      next = at;
      return true;
    }
  }
  return false;
}

// Reads one from the front of `in`, advancing it; nullopt if truncated.
inline std::optional<std::uint64_t> get_varint(std::string_view& in) {
  const char* next = in.data();
  std::uint64_t value = 0;
  if (!read_varint(next, in.data() + in.size(), value)) return std::nullopt;
  in.remove_prefix(static_cast<std::size_t>(next - in.data()));
  return value;
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

// Writes one entry (a log chunk's event, a usage batch's record, one of
// the journal's hand-off) at the end of `out` through a pointer into room
// made for it at once: an entry is up to two dozen small fields, and
// appending each through std::string had cost more than the copy of their
// bytes. The entry is complete when the writer goes.
class EntryWriter {
 public:
  // `most`: an upper bound on the entry's size.
  EntryWriter(std::string& out, std::size_t most) : out_(out) {
    const std::size_t used = out.size();
    out.resize(used + most);
    next_ = out.data() + used;
  }
  ~EntryWriter() { out_.resize(static_cast<std::size_t>(next_ - out_.data())); }
  EntryWriter(const EntryWriter&) = delete;
  EntryWriter& operator=(const EntryWriter&) = delete;

  // What a sized() field of `bytes` may take, at most.
  static constexpr std::size_t room(std::string_view bytes) { return kMostVarint + bytes.size(); }
  static constexpr std::size_t kMostVarint = kMostVarintBytes;

  void tag(char tag) { *next_++ = tag; }
  // A varint.
  void count(std::uint64_t value) { next_ = write_varint(next_, value); }
  // varint(size) bytes.
  void sized(std::string_view bytes) {
    count(bytes.size());
    if (bytes.empty()) return;  // (an empty view's data may be null)
    std::memcpy(next_, bytes.data(), bytes.size());
    next_ += bytes.size();
  }
  // The number's own bytes (for use within this process only).
  template <class Number>
  void native(Number value) {
    std::memcpy(next_, &value, sizeof(Number));
    next_ += sizeof(Number);
  }
  // A list of (name, number): its count, then each name and number.
  template <class Pairs>
  void named_numbers(const Pairs& pairs) {
    count(pairs.size());
    for (const auto& [name, number] : pairs) {
      sized(name);
      native(number);
    }
  }

 private:
  std::string& out_;
  char* next_;
};

struct LogStreamKey {
  std::string_view group;
  std::string_view stream;
};
std::optional<LogStreamKey> parse_log_stream_key(std::string_view key);

}  // namespace nimbus::ledger

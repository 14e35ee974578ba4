// The stream value type (XADD and friends, families/streams*.cc). Entries are kept one map
// node per entry with the fields packed into one string; beside them a model of Redis's
// listpack nodes (which entries share a node, how many are deleted in it) so that
// approximate trimming (`~`) removes exactly the entries Redis would. Consumer groups keep
// the group PEL and each consumer's PEL as ordered sets of ids.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace stratus::kv {

struct StreamId {
  uint64_t ms = 0;
  uint64_t seq = 0;

  auto operator<=>(const StreamId&) const = default;  // NOLINT(modernize-use-nullptr): clang-tidy misreads it
  bool IsZero() const { return ms == 0 && seq == 0; }
  std::string ToString() const { return std::to_string(ms) + "-" + std::to_string(seq); }
  static constexpr StreamId Max() { return {UINT64_MAX, UINT64_MAX}; }
  // The next id / the previous id; false at the end of the id space.
  bool Incr();
  bool Decr();
};

// What ParseStreamId understood.
struct ParsedStreamId {
  StreamId id;
  bool seq_given = true;   // false for `ms-*`
  bool exclusive = false;  // `(id` in a range
};

// Parses an id as Redis's streamGenericParseIDOrReply does: `ms-seq`, `ms` (the sequence is
// `missing_seq`), `-` and `+` unless strict, `ms-*` when allow_auto_seq, `(id` when
// allow_exclusive (an exclusive bound, parsed strictly). nullopt when invalid.
std::optional<ParsedStreamId> ParseStreamId(std::string_view s, uint64_t missing_seq, bool strict, bool allow_auto_seq,
                                            bool allow_exclusive);

inline constexpr std::string_view kInvalidStreamId = "ERR Invalid stream ID specified as stream command argument";

// Field/value pairs packed into one string: each string as a varint length and its bytes.
std::string PackFields(const std::vector<std::string>& argv, size_t first);
std::vector<std::string> UnpackFields(std::string_view packed);

struct StreamNack {
  int64_t delivery_time = 0;
  uint64_t delivery_count = 1;
  std::string consumer;
};

struct StreamConsumer {
  int64_t seen_time = 0;
  std::set<StreamId> pending;
};

inline constexpr int64_t kInvalidEntriesRead = -1;

struct StreamGroup {
  StreamId last_id;
  int64_t entries_read = kInvalidEntriesRead;
  std::map<StreamId, StreamNack> pel;
  std::map<std::string, StreamConsumer> consumers;
};

struct StreamValue {
  // One listpack node of Redis's radix tree: the entries from its master id up to the next
  // node's master id. `live` and `deleted` count its entries; `last` is the last id ever
  // appended to it (deleted or not); `bytes` estimates its listpack size.
  struct Node {
    uint32_t live = 0;
    uint32_t deleted = 0;
    StreamId last;
    size_t bytes = 0;
    std::string master_fields;  // the field names of its first entry, packed
  };

  std::map<StreamId, std::string> entries;  // id -> packed fields
  std::map<StreamId, Node> nodes;           // master id -> node
  StreamId last_id;
  StreamId first_id;
  StreamId max_deleted;
  uint64_t entries_added = 0;
  std::map<std::string, StreamGroup> groups;

  uint64_t length() const { return entries.size(); }
  // Appends (the id is known to be greater than last_id).
  void Append(StreamId id, const std::vector<std::string>& argv, size_t first);
  // Deletes one entry as XDEL does; false when absent.
  bool Delete(StreamId id);
  // Trims as Redis's streamTrim; `approx` removes whole nodes only; `limit` 0: none, else at most
  // that many entries (whole nodes when `approx`; exact trims then stop inside a node).
  int64_t TrimMaxLen(uint64_t maxlen, bool approx, int64_t limit);
  int64_t TrimMinId(StreamId minid, bool approx, int64_t limit);
  void UpdateFirstId();
  // Redis's consumer group bookkeeping helpers.
  bool RangeHasTombstones(StreamId start) const;
  int64_t EstimateDistance(StreamId id) const;
  std::optional<int64_t> Lag(const StreamGroup& g) const;

 private:
  std::map<StreamId, Node>::iterator NodeOf(StreamId id);
  int64_t Trim(bool by_maxlen, uint64_t maxlen, StreamId minid, bool approx, int64_t limit);
};

const char* TypeNameOf(const StreamValue&);
const char* ObjectEncoding(const StreamValue&);
size_t MemoryUsage(const StreamValue&);
void AppendSnapshot(const std::string& key, const StreamValue&, std::string* out);

}  // namespace stratus::kv

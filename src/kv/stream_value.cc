#include "kv/stream_value.h"

#include <cerrno>
#include <cstdlib>

#include "kv/memory_estimate.h"
#include "kv/reply.h"
#include "kv/util.h"

namespace stratus::kv {
namespace {

// Redis's string2ull: a strict integer first, else strtoull over the whole string (which
// allows leading spaces, a sign and leading zeros).
std::optional<uint64_t> ParseU64(std::string_view s) {
  if (auto v = ParseInt(s)) {
    if (*v < 0) return std::nullopt;
    return static_cast<uint64_t>(*v);
  }
  if (s.empty()) return std::nullopt;
  std::string buf(s);
  if (buf.find('\0') != std::string::npos) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(buf.c_str(), &end, 10);
  if (errno == EINVAL || errno == ERANGE || *end != '\0') return std::nullopt;
  return static_cast<uint64_t>(v);
}

void PutVarint(size_t n, std::string* out) {
  while (n >= 0x80) {
    out->push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out->push_back(static_cast<char>(n));
}

size_t LpBackLen(size_t n) {
  return n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4;
}

// Bytes a listpack spends on one integer element (encoding and back length).
size_t LpIntBytes(int64_t v) {
  size_t enc = (v >= 0 && v <= 127)                 ? 1
               : (v >= -4096 && v <= 4095)          ? 2
               : (v >= -32768 && v <= 32767)        ? 3
               : (v >= -8388608 && v <= 8388607)    ? 4
               : (v >= INT32_MIN && v <= INT32_MAX) ? 5
                                                    : 9;
  return enc + 1;
}

// One string element: stored as an integer when it is one, else with its length header.
size_t LpElementBytes(std::string_view s) {
  if (s.size() <= 20) {
    if (auto v = ParseInt(s)) return LpIntBytes(*v);
  }
  size_t header = s.size() < 64 ? 1 : s.size() < 4096 ? 2 : 5;
  return header + s.size() + LpBackLen(header + s.size());
}

int64_t Diff(uint64_t a, uint64_t b) {
  return static_cast<int64_t>(a - b);
}

}  // namespace

bool StreamId::Incr() {
  if (seq == UINT64_MAX) {
    if (ms == UINT64_MAX) return false;
    ++ms;
    seq = 0;
  } else {
    ++seq;
  }
  return true;
}

bool StreamId::Decr() {
  if (seq == 0) {
    if (ms == 0) return false;
    --ms;
    seq = UINT64_MAX;
  } else {
    --seq;
  }
  return true;
}

std::optional<ParsedStreamId> ParseStreamId(std::string_view s, uint64_t missing_seq, bool strict, bool allow_auto_seq,
                                            bool allow_exclusive) {
  ParsedStreamId out;
  if (allow_exclusive && s.size() > 1 && s[0] == '(') {
    out.exclusive = true;
    s.remove_prefix(1);
    strict = true;
  }
  if (s.size() > 127) return std::nullopt;
  if (s == "-" || s == "+") {
    if (strict) return std::nullopt;
    out.id = s == "-" ? StreamId{0, 0} : StreamId::Max();
    return out;
  }
  size_t dash = s.find('-');
  if (dash == std::string_view::npos) {
    auto ms = ParseU64(s);
    if (!ms) return std::nullopt;
    out.id = {*ms, missing_seq};
    return out;
  }
  auto ms = ParseU64(s.substr(0, dash));
  if (!ms) return std::nullopt;
  std::string_view seq = s.substr(dash + 1);
  if (allow_auto_seq && seq == "*") {
    out.id = {*ms, 0};
    out.seq_given = false;
    return out;
  }
  auto sq = ParseU64(seq);
  if (!sq) return std::nullopt;
  out.id = {*ms, *sq};
  return out;
}

std::string PackFields(const std::vector<std::string>& argv, size_t first) {
  size_t total = 0;
  for (size_t i = first; i < argv.size(); ++i) total += argv[i].size() + 2;
  std::string out;
  out.reserve(total);
  for (size_t i = first; i < argv.size(); ++i) {
    PutVarint(argv[i].size(), &out);
    out += argv[i];
  }
  return out;
}

std::vector<std::string> UnpackFields(std::string_view p) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < p.size()) {
    size_t n = 0;
    int shift = 0;
    for (;;) {
      auto b = static_cast<unsigned char>(p[i++]);
      n |= static_cast<size_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
      shift += 7;
    }
    out.emplace_back(p.substr(i, n));
    i += n;
  }
  return out;
}

void StreamValue::Append(StreamId id, const std::vector<std::string>& a, size_t first) {
  // Redis opens a new node when the tail node's listpack plus the new fields and values would
  // reach stream-node-max-bytes (4096), or it already holds stream-node-max-entries (100)
  // entries, deleted ones included. Node sizes follow the listpack encoding.
  constexpr size_t kNodeMaxBytes = 4096;
  constexpr uint32_t kNodeMaxEntries = 100;
  size_t fields = (a.size() - first) / 2;
  size_t totelelen = 0;
  for (size_t i = first; i < a.size(); ++i) totelelen += a[i].size();
  std::string names;
  for (size_t i = first; i < a.size(); i += 2) {
    PutVarint(a[i].size(), &names);
    names += a[i];
  }
  bool fresh = nodes.empty();
  if (!fresh) {
    Node& tail = nodes.rbegin()->second;
    fresh = tail.bytes + totelelen >= kNodeMaxBytes || tail.live + tail.deleted >= kNodeMaxEntries;
  }
  if (fresh) {
    Node n;
    n.bytes = 6 + 1 + LpIntBytes(0) * 2 + LpIntBytes(static_cast<int64_t>(fields)) + LpIntBytes(0);
    for (size_t i = first; i < a.size(); i += 2) n.bytes += LpElementBytes(a[i]);
    n.master_fields = names;
    nodes.emplace(id, std::move(n));
  }
  auto tail_it = std::prev(nodes.end());
  Node& tail = tail_it->second;
  StreamId master = tail_it->first;
  bool same = names == tail.master_fields;
  size_t b = LpIntBytes(same ? 2 : 0) + LpIntBytes(Diff(id.ms, master.ms)) + LpIntBytes(Diff(id.seq, master.seq));
  if (same) {
    for (size_t i = first + 1; i < a.size(); i += 2) b += LpElementBytes(a[i]);
    b += LpIntBytes(static_cast<int64_t>(fields + 3));
  } else {
    b += LpIntBytes(static_cast<int64_t>(fields));
    for (size_t i = first; i < a.size(); ++i) b += LpElementBytes(a[i]);
    b += LpIntBytes(static_cast<int64_t>(fields * 2 + 4));
  }
  ++tail.live;
  tail.last = id;
  tail.bytes += b;
  entries.emplace(id, PackFields(a, first));
  ++entries_added;
  last_id = id;
  if (entries.size() == 1) first_id = id;
}

std::map<StreamId, StreamValue::Node>::iterator StreamValue::NodeOf(StreamId id) {
  auto it = nodes.upper_bound(id);
  if (it == nodes.begin()) return nodes.end();
  return std::prev(it);
}

bool StreamValue::Delete(StreamId id) {
  auto e = entries.find(id);
  if (e == entries.end()) return false;
  entries.erase(e);
  auto n = NodeOf(id);
  if (n != nodes.end()) {
    if (n->second.live <= 1) {
      nodes.erase(n);
    } else {
      --n->second.live;
      ++n->second.deleted;
    }
  }
  return true;
}

void StreamValue::UpdateFirstId() {
  first_id = entries.empty() ? StreamId{} : entries.begin()->first;
}

int64_t StreamValue::Trim(bool by_maxlen, uint64_t maxlen, StreamId minid, bool approx, int64_t limit) {
  int64_t deleted = 0;
  auto it = nodes.begin();
  while (it != nodes.end()) {
    if (by_maxlen && length() <= maxlen) break;
    Node& node = it->second;
    int64_t live = node.live;
    bool capped = limit && deleted + live > limit;
    if (capped && approx) break;
    bool remove = !capped && (by_maxlen ? length() - live >= maxlen : node.last < minid);
    auto next = std::next(it);
    StreamId end = next == nodes.end() ? StreamId::Max() : next->first;
    if (remove) {
      auto from = entries.lower_bound(it->first);
      auto to = next == nodes.end() ? entries.end() : entries.lower_bound(end);
      entries.erase(from, to);
      deleted += live;
      it = nodes.erase(it);
      continue;
    }
    if (approx) break;
    for (auto e = entries.lower_bound(it->first); e != entries.end() && (next == nodes.end() || e->first < end);) {
      if ((by_maxlen ? length() <= maxlen : e->first >= minid) || (limit && deleted >= limit)) break;
      e = entries.erase(e);
      --node.live;
      ++node.deleted;
      ++deleted;
    }
    break;
  }
  UpdateFirstId();
  return deleted;
}

int64_t StreamValue::TrimMaxLen(uint64_t maxlen, bool approx, int64_t limit) {
  return Trim(true, maxlen, {}, approx, limit);
}

int64_t StreamValue::TrimMinId(StreamId minid, bool approx, int64_t limit) {
  return Trim(false, 0, minid, approx, limit);
}

bool StreamValue::RangeHasTombstones(StreamId start) const {
  if (entries.empty() || max_deleted.IsZero()) return false;
  if (first_id > max_deleted) return false;
  return start <= max_deleted;
}

int64_t StreamValue::EstimateDistance(StreamId id) const {
  if (!entries_added) return 0;
  if (entries.empty() && id <= last_id) return static_cast<int64_t>(entries_added);
  if (id == last_id) return static_cast<int64_t>(entries_added);
  if (id > last_id) return kInvalidEntriesRead;
  if (max_deleted.IsZero() || max_deleted < first_id) {
    if (id < first_id) return static_cast<int64_t>(entries_added - length());
    if (id == first_id) return static_cast<int64_t>(entries_added - length() + 1);
  }
  return kInvalidEntriesRead;
}

std::optional<int64_t> StreamValue::Lag(const StreamGroup& g) const {
  if (!entries_added) return 0;
  if (g.entries_read != kInvalidEntriesRead && !RangeHasTombstones(g.last_id)) {
    return static_cast<int64_t>(entries_added) - g.entries_read;
  }
  int64_t read = EstimateDistance(g.last_id);
  if (read == kInvalidEntriesRead) return std::nullopt;
  return static_cast<int64_t>(entries_added) - read;
}

const char* TypeNameOf(const StreamValue&) {
  return "stream";
}

const char* ObjectEncoding(const StreamValue&) {
  return "stream";
}

size_t MemoryUsage(const StreamValue& s) {
  using namespace mem;
  // The stream struct and its radix tree (about two tree nodes per listpack node), each
  // listpack, then the groups with their PELs (a NACK and a tree slot per entry, twice) and
  // consumers.
  size_t n = kObject + Alloc(104) + Alloc(24) + s.nodes.size() * 2 * Alloc(40);
  for (const auto& [id, node] : s.nodes) n += Alloc(node.bytes);
  for (const auto& [name, g] : s.groups) {
    n += Alloc(64) + SdsAlloc(name.size()) + Alloc(24) * 2;
    n += g.pel.size() * (Alloc(32) + 2 * 24);
    for (const auto& [cname, c] : g.consumers)
      n += Alloc(48) + SdsAlloc(cname.size()) + Alloc(24) + c.pending.size() * 24;
  }
  return n;
}

void AppendSnapshot(const std::string& key, const StreamValue& s, std::string* out) {
  // As Redis's own rewrite: every entry as XADD with its id, then XSETID for the ids and
  // counters, the groups with their read counters, every consumer, and every PEL entry as a
  // forced XCLAIM with its time and count. Unlike Redis's, a PEL entry whose stream entry is
  // gone survives too: a placeholder entry is added for it, claimed, then removed again (by
  // XTRIM when it lies before every live entry, so the max deleted id is untouched; by XDEL
  // otherwise, which only an XDEL-like deletion can have left).
  std::set<StreamId> placeholders;
  for (const auto& [name, g] : s.groups) {
    for (const auto& [id, nack] : g.pel) {
      if (!s.entries.count(id)) placeholders.insert(id);
    }
  }
  auto live = s.entries.begin();
  auto ph = placeholders.begin();
  while (live != s.entries.end() || ph != placeholders.end()) {
    std::vector<std::string> a{"XADD", key};
    if (ph == placeholders.end() || (live != s.entries.end() && live->first < *ph)) {
      a.push_back(live->first.ToString());
      for (auto& f : UnpackFields(live->second)) a.push_back(std::move(f));
      ++live;
    } else {
      a.insert(a.end(), {ph->ToString(), "x", "y"});
      ++ph;
    }
    AppendRespCommand(a, out);
  }
  if (s.entries.empty() && placeholders.empty()) AppendRespCommand({"XADD", key, "MAXLEN", "0", "0-1", "x", "y"}, out);
  for (const auto& [name, g] : s.groups) {
    AppendRespCommand(
        {"XGROUP", "CREATE", key, name, g.last_id.ToString(), "ENTRIESREAD", std::to_string(g.entries_read)}, out);
    for (const auto& [cname, c] : g.consumers) AppendRespCommand({"XGROUP", "CREATECONSUMER", key, name, cname}, out);
    for (const auto& [id, nack] : g.pel) {
      AppendRespCommand(
          {"XCLAIM", key, name, nack.consumer, "0", id.ToString(), "TIME", std::to_string(nack.delivery_time),
           "RETRYCOUNT", std::to_string(nack.delivery_count), "JUSTID", "FORCE"},
          out);
    }
  }
  if (!placeholders.empty()) {
    if (s.entries.empty()) {
      AppendRespCommand({"XTRIM", key, "MAXLEN", "0"}, out);
    } else {
      StreamId first = s.entries.begin()->first;
      if (*placeholders.begin() < first) AppendRespCommand({"XTRIM", key, "MINID", first.ToString()}, out);
      std::vector<StreamId> later(placeholders.upper_bound(first), placeholders.end());
      AppendChunked(
          "XDEL", key, later, [](StreamId id, std::vector<std::string>& a) { a.push_back(id.ToString()); }, out);
    }
  }
  AppendRespCommand({"XSETID", key, s.last_id.ToString(), "ENTRIESADDED", std::to_string(s.entries_added),
                     "MAXDELETEDID", s.max_deleted.ToString()},
                    out);
}

}  // namespace stratus::kv

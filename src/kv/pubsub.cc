#include "kv/pubsub.h"

#include <algorithm>

#include "kv/engine.h"
#include "kv/util.h"

namespace stratus::kv {

uint64_t PubSubHub::Subscribe(std::shared_ptr<PubSubSink> sink, const std::vector<std::string>& channels,
                              const std::vector<std::string>& patterns) {
  std::lock_guard lock(mu_);
  uint64_t id = next_id_++;
  PubSubSink* raw = sink.get();
  Subscriber& s = subscribers_[id];
  s.sink = std::move(sink);
  for (const auto& c : channels) {
    if (std::find(s.channels.begin(), s.channels.end(), c) != s.channels.end()) continue;
    s.channels.push_back(c);
    channels_[c][id] = raw;
  }
  for (const auto& p : patterns) {
    if (std::find(s.patterns.begin(), s.patterns.end(), p) != s.patterns.end()) continue;
    s.patterns.push_back(p);
    patterns_[p][id] = raw;
  }
  return id;
}

void PubSubHub::Unsubscribe(uint64_t id) {
  std::shared_ptr<PubSubSink> keep;  // released after the lock
  std::lock_guard lock(mu_);
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return;
  for (const auto& c : it->second.channels) {
    auto ci = channels_.find(c);
    if (ci == channels_.end()) continue;
    ci->second.erase(id);
    if (ci->second.empty()) channels_.erase(ci);
  }
  for (const auto& p : it->second.patterns) {
    auto pi = patterns_.find(p);
    if (pi == patterns_.end()) continue;
    pi->second.erase(id);
    if (pi->second.empty()) patterns_.erase(pi);
  }
  keep = std::move(it->second.sink);
  subscribers_.erase(it);
}

int64_t PubSubHub::Publish(std::string_view channel, std::string_view payload) {
  std::lock_guard lock(mu_);
  int64_t receivers = 0;
  auto ci = channels_.find(channel);
  if (ci != channels_.end()) {
    PubSubMessage m{"", std::string(channel), std::string(payload)};
    for (auto& [id, sink] : ci->second) {
      sink->Deliver(m);
      ++receivers;
    }
  }
  for (auto& [pattern, subs] : patterns_) {
    if (!GlobMatch(pattern, channel)) continue;
    PubSubMessage m{pattern, std::string(channel), std::string(payload)};
    for (auto& [id, sink] : subs) {
      sink->Deliver(m);
      ++receivers;
    }
  }
  return receivers;
}

std::vector<std::string> PubSubHub::Channels(std::optional<std::string_view> pattern) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [c, subs] : channels_) {
    if (!pattern || GlobMatch(*pattern, c)) out.push_back(c);
  }
  return out;
}

int64_t PubSubHub::NumSub(std::string_view channel) const {
  std::lock_guard lock(mu_);
  auto ci = channels_.find(channel);
  return ci == channels_.end() ? 0 : static_cast<int64_t>(ci->second.size());
}

int64_t PubSubHub::NumPat() const {
  std::lock_guard lock(mu_);
  return static_cast<int64_t>(patterns_.size());
}

size_t PubSubHub::subscribers() const {
  std::lock_guard lock(mu_);
  return subscribers_.size();
}

namespace {

void Publish(CommandContext& ctx) {
  ctx.reply = Reply::Integer(ctx.engine.pubsub()->Publish(ctx.argv[1], ctx.argv[2]));
}

// PUBSUB CHANNELS [pattern] | NUMSUB [channel ...] | NUMPAT | SHARDCHANNELS [pattern] |
// SHARDNUMSUB [channel ...] (no shard channels here: empty and zero).
void PubSubCommand(CommandContext& ctx) {
  const Argv& a = ctx.argv;
  std::string sub = ToLower(a[1]);
  const PubSubHub& hub = *ctx.engine.pubsub();
  if (sub == "channels" || sub == "shardchannels") {
    if (a.size() > 3) {  // past the table's arity check: Redis 7.0's subcommand syntax error
      return ctx.Error("ERR unknown subcommand or wrong number of arguments for '" + a[1] + "'. Try PUBSUB HELP.");
    }
    std::vector<Reply> out;
    if (sub == "channels") {
      std::optional<std::string_view> pattern;
      if (a.size() == 3) pattern = a[2];
      for (auto& c : hub.Channels(pattern)) out.push_back(Reply::Bulk(std::move(c)));
    }
    ctx.reply = Reply::Array(std::move(out));
  } else if (sub == "numsub" || sub == "shardnumsub") {
    std::vector<Reply> out;
    for (size_t i = 2; i < a.size(); ++i) {
      out.push_back(Reply::Bulk(a[i]));
      out.push_back(Reply::Integer(sub == "numsub" ? hub.NumSub(a[i]) : 0));
    }
    ctx.reply = Reply::Array(std::move(out));
  } else if (sub == "numpat") {
    if (a.size() != 2) return ctx.Error(ArityError("pubsub|numpat"));
    ctx.reply = Reply::Integer(hub.NumPat());
  } else {
    ctx.Error("ERR unknown subcommand '" + a[1] + "'. Try PUBSUB HELP.");
  }
}

}  // namespace

Status RegisterPubSubFamily(CommandTable& t) {
  for (const CommandSpec& spec : {
           // Changes no data (nothing is logged; EVAL_RO may publish, as in Redis), but the read-only token may not.
           CommandSpec{.name = "publish", .arity = 3, .flags = kReadOnly | kDenyReadOnlyToken, .handler = Publish},
           CommandSpec{.name = "pubsub", .arity = -2, .flags = kReadOnly, .handler = PubSubCommand},
       }) {
    STRATUS_RETURN_IF_ERROR(t.Add(spec));
  }
  return Status::Ok();
}

}  // namespace stratus::kv

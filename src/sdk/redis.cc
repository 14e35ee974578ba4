// HttpRedis: Upstash REST over the SDK's blocking HTTP. Every exchange is one POST of a JSON
// array (or an array of arrays for /pipeline and /multi-exec); network failures are retried
// with exponential backoff, HTTP and Redis errors are answered as they are.
#include "stratus/sdk/redis.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <thread>

#include "common/base64.h"
#include "sdk/http_sync.h"

namespace stratus::sdk {

using Json = nlohmann::json;

namespace {

// The largest backoff exponent: retry_base * 2^16 is already far beyond any useful wait.
constexpr int kMaxBackoffShift = 16;

// `base` with `suffix` appended to its path ("/prefix" + "pipeline" -> "/prefix/pipeline"),
// keeping any query string at the end.
http::Url WithPath(const http::Url& base, std::string_view suffix) {
  http::Url url = base;
  std::string path = base.target;
  std::string query;
  if (size_t q = path.find('?'); q != std::string::npos) {
    query = path.substr(q);
    path.resize(q);
  }
  if (!suffix.empty()) {
    if (path.empty() || path.back() != '/') path += '/';
    path += suffix;
  }
  url.target = path + query;
  return url;
}

// Printing must never throw: decoded replies may hold bytes that are not UTF-8.
std::string Printable(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Status Unexpected(std::string_view command, const Json& reply) {
  return Internal("unexpected reply to " + std::string(command) + ": " + Printable(reply).substr(0, 200));
}

// JSON text of a request body. JSON strings carry text only, so an argument that is not
// UTF-8 cannot be sent (nlohmann throws on it; that must not escape the SDK).
StatusOr<std::string> RequestBody(const Json& body) {
  try {
    return body.dump();
  } catch (const Json::exception&) {
    return InvalidArgument("a Redis argument is not valid UTF-8; the REST protocol carries text only");
  }
}

// Replaces every string in `value`, at any depth, by the bytes its base64 stands for.
Status DecodeStrings(Json& value) {
  if (value.is_string()) {
    auto bytes = Base64Decode(value.get_ref<const std::string&>());
    if (!bytes.ok()) return Internal("a base64 reply holds a string that is not base64: " + Printable(value));
    value = std::move(bytes).value();
  } else if (value.is_array() || value.is_object()) {
    for (auto& element : value) STRATUS_RETURN_IF_ERROR(DecodeStrings(element));
  }
  return Status::Ok();
}

// The `error` text of a reply body, or the raw body when it has none.
std::string ErrorText(const Json& doc, const http::ClientResult& res) {
  if (doc.is_object()) {
    auto it = doc.find("error");
    if (it != doc.end() && it->is_string()) return it->get<std::string>();
  }
  return "HTTP " + std::to_string(res.status) + ": " + res.body.substr(0, 200);
}

// Maps a non-200 answer to the SDK's codes (see redis.h).
Status HttpError(const Json& doc, const http::ClientResult& res) {
  std::string text = ErrorText(doc, res);
  switch (res.status) {
    case 400:
    case 413:
      return InvalidArgument(std::move(text));
    case 401:
      return Unauthenticated(std::move(text));
    case 403:
      return Status(Code::kPermissionDenied, std::move(text));
    case 502:
    case 503:
    case 504:
      return Unavailable(std::move(text));
    default:
      return Status(Code::kUnknown, "unexpected HTTP " + std::to_string(res.status) + ": " + text);
  }
}

std::string ScoreText(double score) {
  if (std::isinf(score)) return score > 0 ? "+inf" : "-inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, score);
  return std::string(buf, end);
}

StatusOr<int64_t> IntReply(StatusOr<Json> reply, std::string_view command) {
  STRATUS_ASSIGN_OR_RETURN(Json j, std::move(reply));
  if (!j.is_number_integer()) return Unexpected(command, j);
  return j.get<int64_t>();
}

// [cursor, [key...]] from SCAN; false when the reply has another shape.
bool ParseScanReply(const Json& reply, std::string* cursor, std::vector<std::string>* keys) {
  if (!reply.is_array() || reply.size() != 2 || !reply[0].is_string() || !reply[1].is_array()) return false;
  for (const auto& key : reply[1]) {
    if (!key.is_string()) return false;
    keys->push_back(key.get<std::string>());
  }
  *cursor = reply[0].get<std::string>();
  return true;
}

// Appends a key list to a command.
RedisCommand WithKeys(std::string name, const std::vector<std::string>& keys) {
  RedisCommand command{std::move(name)};
  command.insert(command.end(), keys.begin(), keys.end());
  return command;
}

}  // namespace

struct HttpRedis::Impl {
  RedisOptions options;
  http::Url root;
  http::Url pipeline;
  http::Url multi_exec;
  std::unique_ptr<internal::SyncHttp> http;

  http::Request BuildRequest(const std::string& body) const;
  http::ClientResult Exchange(const http::Url& url, const std::string& body, RedisDeadline deadline,
                              int* attempts) const;
  StatusOr<Json> Post(const http::Url& url, const Json& body, RedisDeadline deadline) const;
  StatusOr<Json> Entry(Json entry) const;
  StatusOr<std::vector<StatusOr<Json>>> Batch(const http::Url& url, const std::vector<RedisCommand>& commands,
                                              RedisDeadline deadline) const;
};

http::Request HttpRedis::Impl::BuildRequest(const std::string& body) const {
  auto req = internal::MakeRequest(http::Verb::post, body);
  req.set(beast::http::field::authorization, "Bearer " + options.token);
  if (options.base64) req.set("Upstash-Encoding", "base64");
  return req;
}

// One exchange, repeated after network failures only, and all of it before `deadline`.
http::ClientResult HttpRedis::Impl::Exchange(const http::Url& url, const std::string& body, RedisDeadline deadline,
                                             int* attempts) const {
  using Clock = std::chrono::steady_clock;
  const int retries = std::max(0, options.max_retries);
  http::ClientResult res;
  res.failure = http::ClientResult::Failure::kTimeout;
  res.error = "the deadline had passed before the request was sent";
  for (int attempt = 0;; ++attempt) {
    auto now = Clock::now();
    if (now >= deadline) return res;
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
    *attempts = attempt + 1;
    res = http->Fetch(url, BuildRequest(body), std::min(options.timeout, left));
    if (res.failure == http::ClientResult::Failure::kNone || attempt >= retries) return res;
    auto backoff = options.retry_base * (int64_t{1} << std::min(attempt, kMaxBackoffShift));
    if (deadline != kNoRedisDeadline && Clock::now() + backoff >= deadline) return res;
    std::this_thread::sleep_for(backoff);
  }
}

// The parsed body of a 200 answer, or the error the answer stands for.
StatusOr<Json> HttpRedis::Impl::Post(const http::Url& url, const Json& body, RedisDeadline deadline) const {
  STRATUS_ASSIGN_OR_RETURN(std::string text, RequestBody(body));
  int attempts = 0;
  http::ClientResult res = Exchange(url, text, deadline, &attempts);
  if (res.failure != http::ClientResult::Failure::kNone) {
    return Unavailable("Redis REST endpoint " + url.Origin() + " unreachable after " + std::to_string(attempts) +
                       " attempt(s): " + res.error);
  }
  Json doc = Json::parse(res.body, nullptr, false);
  if (res.status != 200) return HttpError(doc, res);
  if (doc.is_discarded()) return Internal("the Redis REST endpoint answered with invalid JSON");
  return doc;
}

// One {"result":...} or {"error":...} reply.
StatusOr<Json> HttpRedis::Impl::Entry(Json entry) const {
  if (!entry.is_object()) return Internal("malformed Redis REST reply: " + Printable(entry).substr(0, 200));
  if (auto error = entry.find("error"); error != entry.end()) {
    return InvalidArgument(error->is_string() ? error->get<std::string>() : Printable(*error));
  }
  auto result = entry.find("result");
  if (result == entry.end()) return Internal("Redis REST reply without a result: " + Printable(entry).substr(0, 200));
  Json value = std::move(*result);
  if (options.base64) STRATUS_RETURN_IF_ERROR(DecodeStrings(value));
  return value;
}

StatusOr<std::vector<StatusOr<Json>>> HttpRedis::Impl::Batch(const http::Url& url,
                                                             const std::vector<RedisCommand>& commands,
                                                             RedisDeadline deadline) const {
  std::vector<StatusOr<Json>> out;
  if (commands.empty()) return out;
  Json body = Json::array();
  for (const auto& command : commands) {
    if (command.empty()) return InvalidArgument("empty command in a batch");
    body.push_back(command);
  }
  STRATUS_ASSIGN_OR_RETURN(auto reply, Post(url, body, deadline));
  // A whole-transaction failure may also come as a single error object.
  if (reply.is_object() && reply.contains("error")) return Entry(std::move(reply)).status();
  if (!reply.is_array() || reply.size() != commands.size()) {
    return Internal("Redis REST batch reply does not have one entry per command");
  }
  out.reserve(commands.size());
  for (auto& entry : reply) out.push_back(Entry(std::move(entry)));
  return out;
}

HttpRedis::HttpRedis(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpRedis::~HttpRedis() = default;

StatusOr<std::unique_ptr<HttpRedis>> HttpRedis::Create(RedisOptions options) {
  STRATUS_ASSIGN_OR_RETURN(auto base, http::Url::Parse(options.url));
  auto impl = std::make_unique<Impl>();
  STRATUS_ASSIGN_OR_RETURN(impl->http, internal::SyncHttp::Create(options.ca_file));
  impl->root = WithPath(base, "");
  impl->pipeline = WithPath(base, "pipeline");
  impl->multi_exec = WithPath(base, "multi-exec");
  impl->options = std::move(options);
  return std::unique_ptr<HttpRedis>(new HttpRedis(std::move(impl)));
}

StatusOr<Json> HttpRedis::Command(const RedisCommand& args, RedisDeadline deadline) {
  if (args.empty()) return InvalidArgument("empty command");
  STRATUS_ASSIGN_OR_RETURN(auto reply, impl_->Post(impl_->root, Json(args), deadline));
  return impl_->Entry(std::move(reply));
}

StatusOr<std::vector<StatusOr<Json>>> HttpRedis::Pipeline(const std::vector<RedisCommand>& commands,
                                                          RedisDeadline deadline) {
  return impl_->Batch(impl_->pipeline, commands, deadline);
}

StatusOr<std::vector<StatusOr<Json>>> HttpRedis::MultiExec(const std::vector<RedisCommand>& commands,
                                                           RedisDeadline deadline) {
  return impl_->Batch(impl_->multi_exec, commands, deadline);
}

StatusOr<std::optional<std::string>> HttpRedis::Get(std::string_view key) {
  STRATUS_ASSIGN_OR_RETURN(auto reply, Command({"GET", std::string(key)}));
  if (reply.is_null()) return std::optional<std::string>();
  if (!reply.is_string()) return Unexpected("GET", reply);
  return std::optional<std::string>(reply.get<std::string>());
}

Status HttpRedis::Set(std::string_view key, std::string_view value, std::optional<std::chrono::milliseconds> ttl) {
  RedisCommand command{"SET", std::string(key), std::string(value)};
  if (ttl) command.insert(command.end(), {"PX", std::to_string(ttl->count())});
  return Command(command).status();
}

StatusOr<bool> HttpRedis::SetNx(std::string_view key, std::string_view value,
                                std::optional<std::chrono::milliseconds> ttl) {
  RedisCommand command{"SET", std::string(key), std::string(value), "NX"};
  if (ttl) command.insert(command.end(), {"PX", std::to_string(ttl->count())});
  STRATUS_ASSIGN_OR_RETURN(auto reply, Command(command));
  if (reply.is_null()) return false;
  if (reply == "OK") return true;
  return Unexpected("SET NX", reply);
}

StatusOr<int64_t> HttpRedis::Del(const std::vector<std::string>& keys) {
  if (keys.empty()) return int64_t{0};
  return IntReply(Command(WithKeys("DEL", keys)), "DEL");
}

StatusOr<int64_t> HttpRedis::Exists(const std::vector<std::string>& keys) {
  if (keys.empty()) return int64_t{0};
  return IntReply(Command(WithKeys("EXISTS", keys)), "EXISTS");
}

StatusOr<int64_t> HttpRedis::DeletePattern(std::string_view pattern) {
  int64_t deleted = 0;
  std::string cursor = "0";
  do {
    STRATUS_ASSIGN_OR_RETURN(auto reply, Command({"SCAN", cursor, "MATCH", std::string(pattern), "COUNT", "100"}));
    std::vector<std::string> keys;
    if (!ParseScanReply(reply, &cursor, &keys)) return Unexpected("SCAN", reply);
    STRATUS_ASSIGN_OR_RETURN(auto count, Del(keys));
    deleted += count;
  } while (cursor != "0");
  return deleted;
}

StatusOr<int64_t> HttpRedis::ZAdd(std::string_view key, double score, std::string_view member) {
  return IntReply(Command({"ZADD", std::string(key), ScoreText(score), std::string(member)}), "ZADD");
}

StatusOr<int64_t> HttpRedis::ZCard(std::string_view key) {
  return IntReply(Command({"ZCARD", std::string(key)}), "ZCARD");
}

StatusOr<int64_t> HttpRedis::ZRemRangeByScore(std::string_view key, std::string_view min, std::string_view max) {
  return IntReply(Command({"ZREMRANGEBYSCORE", std::string(key), std::string(min), std::string(max)}),
                  "ZREMRANGEBYSCORE");
}

StatusOr<bool> HttpRedis::Expire(std::string_view key, std::chrono::seconds ttl) {
  STRATUS_ASSIGN_OR_RETURN(auto set,
                           IntReply(Command({"EXPIRE", std::string(key), std::to_string(ttl.count())}), "EXPIRE"));
  return set == 1;
}

StatusOr<int64_t> HttpRedis::Incr(std::string_view key) {
  return IntReply(Command({"INCR", std::string(key)}), "INCR");
}

}  // namespace stratus::sdk

#include "cli/schedules_apply.h"

#include <cstdlib>
#include <iostream>

#include <yaml-cpp/yaml.h>

#include "common/base64.h"
#include "sdk/http_sync.h"
#include "stratus/sdk/canonical_json.h"

namespace stratus::cli {
namespace {

constexpr auto kTimeout = std::chrono::seconds(30);

nlohmann::json Scalar(const std::string& s) {
  if (s == "true" || s == "false") return s == "true";
  size_t used = 0;
  try {
    long long i = std::stoll(s, &used);
    if (used == s.size()) return i;
    double d = std::stod(s, &used);
    if (used == s.size()) return d;
  } catch (...) {
  }
  return s;
}

// YAML as JSON, read as queues.yaml is: unquoted numbers and booleans typed, quoted scalars strings.
nlohmann::json ToJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& kv : n) o[kv.first.as<std::string>()] = ToJson(kv.second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& v : n) a.push_back(ToJson(v));
      return a;
    }
    case YAML::NodeType::Scalar:
      return n.Tag() == "!" ? nlohmann::json(n.as<std::string>()) : Scalar(n.as<std::string>());
    default:
      return nullptr;
  }
}

Status Expand(nlohmann::json* v) {
  if (v->is_string()) {
    STRATUS_ASSIGN_OR_RETURN(std::string s, ExpandEnv(v->get<std::string>()));
    *v = s;
  } else if (v->is_object() || v->is_array()) {
    for (auto& child : *v) STRATUS_RETURN_IF_ERROR(Expand(&child));
  }
  return Status::Ok();
}

// The REST body of one job from its entry in the file.
StatusOr<nlohmann::json> JobBody(const std::string& id, nlohmann::json job, const std::string& project,
                                 const std::string& location) {
  if (!job.is_object()) return InvalidArgument("job " + id + ": expected a map of Job fields");
  STRATUS_RETURN_IF_ERROR(Expand(&job));
  const std::string parent = "projects/" + project + "/locations/" + location;
  job["name"] = parent + "/jobs/" + id;
  if (job.contains("stratusQueue") && job["stratusQueue"].is_string()) {
    std::string q = job["stratusQueue"];
    if (q.find('/') == std::string::npos) job["stratusQueue"] = parent + "/queues/" + q;
  }
  if (job.contains("httpTarget") && job["httpTarget"].is_object()) {
    auto& t = job["httpTarget"];
    if (t.contains("bodyText") + t.contains("bodyJson") + t.contains("stratusJob") > 1) {
      return InvalidArgument("job " + id + ": give one of httpTarget.bodyText, bodyJson and stratusJob");
    }
    if (t.contains("stratusJob")) {
      // A stratus JobServer's payload: {jobName, data, idempotencyKey} (stratus/sdk/job_server.h).
      const auto& j = t["stratusJob"];
      if (!j.is_object() || !j.contains("jobName") || !j["jobName"].is_string() ||
          (j.contains("data") && !j["data"].is_object())) {
        return InvalidArgument("job " + id + ": httpTarget.stratusJob needs a jobName string and a data map");
      }
      const std::string job_name = j["jobName"];
      const nlohmann::json data = j.value("data", nlohmann::json::object());
      auto key = sdk::IdempotencyKey(job_name, data);
      if (!key.ok()) return InvalidArgument("job " + id + ": httpTarget.stratusJob.data: " + key.status().message());
      t["bodyJson"] = {{"jobName", job_name}, {"data", data}, {"idempotencyKey", *key}};
      t.erase("stratusJob");
    }
    if (t.contains("bodyText")) {
      if (!t["bodyText"].is_string()) return InvalidArgument("job " + id + ": httpTarget.bodyText must be a string");
      t["body"] = Base64Encode(t["bodyText"].get<std::string>());
      t.erase("bodyText");
    } else if (t.contains("bodyJson")) {
      t["body"] = Base64Encode(t["bodyJson"].dump());
      t.erase("bodyJson");
      bool has_type = false;
      if (t.contains("headers") && t["headers"].is_object()) {
        for (const auto& [k, v] : t["headers"].items()) {
          std::string lower = k;
          for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          has_type = has_type || lower == "content-type";
        }
      }
      if (!has_type) t["headers"]["Content-Type"] = "application/json";
    }
  }
  return job;
}

// A google.rpc.Status error body as a Status; anything else keeps the HTTP status.
Status ErrorOf(const http::ClientResult& r) {
  if (r.failure != http::ClientResult::Failure::kNone) return Status(Code::kUnavailable, r.error);
  auto doc = nlohmann::json::parse(r.body, nullptr, false);
  if (doc.is_object() && doc.contains("error") && doc["error"].is_object()) {
    const auto& e = doc["error"];
    const std::string name = e.value("status", std::string());
    for (int c = 1; c <= 16; ++c) {
      if (CodeName(static_cast<Code>(c)) == name) return Status(static_cast<Code>(c), e.value("message", r.body));
    }
    return Status(Code::kUnknown, e.value("message", r.body));
  }
  return Status(Code::kUnknown, "HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, 200));
}

class Api {
 public:
  Api(std::unique_ptr<sdk::internal::SyncHttp> http, std::string server, std::string token)
      : http_(std::move(http)), server_(std::move(server)), token_(std::move(token)) {}

  http::ClientResult Call(http::Verb verb, const std::string& path, const std::string& body = {}) {
    auto url = http::Url::Parse(server_ + path);
    if (!url.ok()) {
      http::ClientResult r;
      r.failure = http::ClientResult::Failure::kRefused;
      r.error = url.status().message();
      return r;
    }
    http::Request req = sdk::internal::MakeRequest(verb, body);
    if (!token_.empty()) req.set(beast::http::field::authorization, "Bearer " + token_);
    return http_->Fetch(*url, std::move(req), kTimeout);
  }

 private:
  std::unique_ptr<sdk::internal::SyncHttp> http_;
  std::string server_;
  std::string token_;
};

// Creates the job, or updates the fields the file gives when it exists.
Status Apply(Api& api, const nlohmann::json& body) {
  const std::string name = body["name"];
  auto got = api.Call(http::Verb::get, "/v1/" + name);
  if (got.failure != http::ClientResult::Failure::kNone) return ErrorOf(got);
  if (got.status == 404) {
    const std::string parent = name.substr(0, name.rfind("/jobs/"));
    auto created = api.Call(http::Verb::post, "/v1/" + parent + "/jobs", body.dump());
    return created.status / 100 == 2 ? Status::Ok() : ErrorOf(created);
  }
  if (got.status / 100 != 2) return ErrorOf(got);
  std::string mask;
  for (const auto& [k, v] : body.items()) {
    if (k != "name") mask += (mask.empty() ? "" : ",") + k;
  }
  auto patched = api.Call(http::Verb::patch, "/v1/" + name + "?updateMask=" + mask, body.dump());
  return patched.status / 100 == 2 ? Status::Ok() : ErrorOf(patched);
}

}  // namespace

StatusOr<std::string> ExpandEnv(const std::string& text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t at = text.find("${", i);
    if (at == std::string::npos) {
      out += text.substr(i);
      break;
    }
    out += text.substr(i, at - i);
    size_t end = text.find('}', at);
    if (end == std::string::npos) return InvalidArgument("unclosed ${ in '" + text + "'");
    std::string inner = text.substr(at + 2, end - at - 2);
    std::optional<std::string> fallback;
    if (size_t d = inner.find(":-"); d != std::string::npos) {
      fallback = inner.substr(d + 2);
      inner = inner.substr(0, d);
    }
    const char* value = std::getenv(inner.c_str());
    if (value && *value) {
      out += value;
    } else if (fallback) {
      out += *fallback;
    } else {
      return InvalidArgument("environment variable " + inner + " is not set (write ${" + inner + ":-default})");
    }
    i = end + 1;
  }
  return out;
}

StatusOr<std::map<std::string, nlohmann::json>> LoadSchedules(const std::string& path, const std::string& project,
                                                              const std::string& location) {
  nlohmann::json doc;
  try {
    doc = ToJson(YAML::LoadFile(path));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(path + ": " + e.what());
  }
  if (!doc.is_object() || !doc.contains("jobs") || !doc["jobs"].is_object()) {
    return InvalidArgument(path + ": expected a 'jobs:' map of job id to Job fields");
  }
  std::string p = !project.empty() ? project : doc.value("project", std::string());
  if (p.empty()) {
    const char* env = std::getenv("STRATUS_PROJECT");
    p = env && *env ? env : "local";
  }
  const std::string l = !location.empty() ? location : doc.value("location", std::string("us-central1"));
  std::map<std::string, nlohmann::json> out;
  for (const auto& [id, job] : doc["jobs"].items()) {
    auto body = JobBody(id, job, p, l);
    if (!body.ok()) return Status(body.status().code(), path + ": " + body.status().message());
    out[id] = std::move(*body);
  }
  return out;
}

void AddSchedulesApplyOptions(CLI::App& cmd, SchedulesApplyOptions& o) {
  cmd.add_option("file", o.file, "schedules file to apply (examples/catchup/schedules.yaml)")->required();
  cmd.add_option("--server", o.server, "Base URL of the Cloud Scheduler API")->capture_default_str();
  cmd.add_option("--project", o.project, "Project (default: the file's, else $STRATUS_PROJECT)");
  cmd.add_option("--location", o.location, "Location (default: the file's)");
  cmd.add_option("--api-token", o.api_token, "Bearer token for the API");
}

int RunSchedulesApply(const SchedulesApplyOptions& o) {
  auto jobs = LoadSchedules(o.file, o.project, o.location);
  if (!jobs.ok()) {
    std::cerr << "stratus: " << jobs.status().message() << "\n";
    return 2;
  }
  auto http = sdk::internal::SyncHttp::Create("");
  if (!http.ok()) {
    std::cerr << "stratus: " << http.status().message() << "\n";
    return 2;
  }
  Api api(std::move(*http), o.server, o.api_token);
  int failed = 0;
  for (const auto& [id, body] : *jobs) {
    Status s = Apply(api, body);
    std::cout << (s.ok() ? "applied " : "FAILED  ") << body["name"].get<std::string>()
              << (s.ok() ? "" : ": " + s.ToString()) << "\n";
    failed += s.ok() ? 0 : 1;
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace stratus::cli

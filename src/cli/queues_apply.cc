#include "cli/queues_apply.h"

#include <iostream>

#include <yaml-cpp/yaml.h>

#include "stratus/sdk/task_queue.h"

namespace stratus::cli {

namespace {

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
      // Quoted scalars stay strings ("4xx", "!429").
      return n.Tag() == "!" ? nlohmann::json(n.as<std::string>()) : Scalar(n.as<std::string>());
    default:
      return nullptr;
  }
}

}  // namespace

StatusOr<nlohmann::json> LoadQueuesYaml(const std::string& path) {
  try {
    nlohmann::json doc = ToJson(YAML::LoadFile(path));
    if (!doc.is_object() || !doc.contains("queues") || !doc["queues"].is_object()) {
      return InvalidArgument(path + ": expected a 'queues:' map of queue id to fields");
    }
    return doc;
  } catch (const YAML::Exception& e) {
    return InvalidArgument(path + ": " + e.what());
  }
}

void AddQueuesApplyOptions(CLI::App& cmd, QueuesApplyOptions& o) {
  cmd.add_option("file", o.file, "queues.yaml to apply")->required();
  cmd.add_option("--server", o.server, "Base URL of the Cloud Tasks API")->capture_default_str();
  cmd.add_option("--project", o.project, "Project (default: the file's, else $STRATUS_PROJECT)");
  cmd.add_option("--location", o.location, "Location (default: the file's)");
  cmd.add_option("--api-token", o.api_token, "Bearer token for the API");
}

int RunQueuesApply(const QueuesApplyOptions& o) {
  auto doc = LoadQueuesYaml(o.file);
  if (!doc.ok()) {
    std::cerr << "stratus: " << doc.status().message() << "\n";
    return 2;
  }
  sdk::TaskQueueOptions tq;
  tq.base_url = o.server;
  tq.project = !o.project.empty() ? o.project : doc->value("project", sdk::DefaultProject());
  tq.location = !o.location.empty() ? o.location : doc->value("location", std::string("us-central1"));
  tq.service_url = "http://unused";  // queues only
  if (!o.api_token.empty()) tq.token_source = std::make_shared<sdk::StaticTokenSource>(o.api_token);
  auto client = sdk::TaskQueue::Create(tq);
  if (!client.ok()) {
    std::cerr << "stratus: " << client.status().message() << "\n";
    return 2;
  }
  int failed = 0;
  for (const auto& [id, fields] : (*doc)["queues"].items()) {
    Status s = (*client)->ApplyQueue(id, fields.is_null() ? nlohmann::json::object() : fields);
    std::cout << (s.ok() ? "applied " : "FAILED  ") << "projects/" << tq.project << "/locations/" << tq.location
              << "/queues/" << id << (s.ok() ? "" : ": " + s.ToString()) << "\n";
    failed += s.ok() ? 0 : 1;
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace stratus::cli

#include "cli/queues_apply.h"

#include <iostream>
#include <set>

#include <yaml-cpp/yaml.h>

#include "cli/commands.h"
#include "cli/output.h"
#include "common/time.h"
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

namespace {

// [422, "4xx", "!429"] as the server keeps it: the codes, classes expanded, exclusions applied.
nlohmann::json ExpandStatuses(const nlohmann::json& list) {
  if (!list.is_array()) return list;
  std::set<int> codes, excluded;
  for (const auto& v : list) {
    if (v.is_number_integer()) {
      codes.insert(v.get<int>());
    } else if (v.is_string()) {
      std::string s = v.get<std::string>();
      if (s.size() == 3 && s.substr(1) == "xx" && s[0] >= '1' && s[0] <= '5') {
        for (int c = (s[0] - '0') * 100; c < (s[0] - '0') * 100 + 100; ++c) codes.insert(c);
      } else if (s.size() == 4 && s[0] == '!') {
        excluded.insert(std::atoi(s.c_str() + 1));
      } else {
        return list;  // the server will say what is wrong with it
      }
    }
  }
  nlohmann::json out = nlohmann::json::array();
  for (int c : codes) {
    if (!excluded.count(c)) out.push_back(c);
  }
  return out;
}

bool SameValue(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
  if (a.is_string() && b.is_string()) {
    auto x = ParseDuration(a.get<std::string>());
    auto y = ParseDuration(b.get<std::string>());
    if (x.ok() && y.ok()) return *x == *y;
  }
  return a == b;
}

void Diff(const nlohmann::json& wanted, const nlohmann::json& current, const std::string& prefix,
          std::vector<std::string>* out) {
  for (const auto& [k, v] : wanted.items()) {
    if (k == "name") continue;
    std::string path = prefix.empty() ? k : prefix + "." + k;
    const nlohmann::json* have = current.is_object() && current.contains(k) ? &current[k] : nullptr;
    if (v.is_object()) {
      Diff(v, have ? *have : nlohmann::json::object(), path, out);
      continue;
    }
    nlohmann::json want = k == "permanentFailureStatuses" ? ExpandStatuses(v) : v;
    if (have && SameValue(want, *have)) continue;
    if (!have && k == "permanentFailureStatuses" && want.empty()) continue;
    out->push_back(path + ": " + (have ? Cell(*have) : std::string("(unset)")) + " -> " + Cell(want));
  }
}

int Apply(Args& a) {
  auto doc = LoadQueuesYaml(a.file);
  if (!doc.ok()) return UsageError(doc.status().message());
  Args with_file = a;
  if (with_file.client.project.empty() && doc->contains("project")) with_file.client.project = Cell((*doc)["project"]);
  if (with_file.client.location.empty() && doc->contains("location"))
    with_file.client.location = Cell((*doc)["location"]);
  int rc = 0;
  auto api = Connect(with_file, true, &rc);
  if (!api) return rc;
  const bool table = a.client.format == "table";
  nlohmann::json report = nlohmann::json::array();
  auto say = [&](const std::string& action, const std::string& name, const std::vector<std::string>& changes = {},
                 const std::string& error = "") {
    if (table) {
      std::cout << TerminalSafe(action + " " + name + (error.empty() ? "" : ": " + error)) << "\n";
      for (const auto& c : changes) std::cout << "    " << TerminalSafe(c) << "\n";
    } else {
      nlohmann::json entry = {{"name", name}, {"action", action}, {"changes", changes}};
      if (!error.empty()) entry["error"] = error;
      report.push_back(entry);
    }
  };
  std::set<std::string> named;
  const auto& queues = (*doc)["queues"];
  int failed = 0;
  std::unique_ptr<sdk::TaskQueue> client;
  if (!a.dry_run) {
    sdk::TaskQueueOptions tq;
    tq.base_url = api->server();
    tq.project = api->project();
    tq.location = api->location();
    tq.service_url = "http://unused";  // queues only
    std::string token =
        !a.client.token.empty() ? a.client.token : (std::getenv("STRATUS_TOKEN") ? std::getenv("STRATUS_TOKEN") : "");
    if (!token.empty()) tq.token_source = std::make_shared<sdk::StaticTokenSource>(token);
    auto c = sdk::TaskQueue::Create(tq);
    if (!c.ok()) return UsageError(c.status().message());
    client = std::move(c).value();
  }
  Progress bar(a.dry_run ? "comparing" : "applying", queues.size());
  uint64_t done = 0;
  for (const auto& [id, fields] : queues.items()) {
    std::string error, name = api->QueueName(id, &error);
    if (name.empty()) return UsageError(a.file + ": " + error);
    named.insert(name);
    nlohmann::json want = fields.is_null() ? nlohmann::json::object() : fields;
    if (a.dry_run) {
      Reply r = api->Get("/v2/" + EscapePath(name));
      if (!r.ok() && r.status != "NOT_FOUND") return ReportFailure(r, api->server());
      std::vector<std::string> changes;
      if (!r.ok()) {
        Diff(want, nlohmann::json::object(), "", &changes);
        say("create", name, changes);
      } else {
        nlohmann::json have = r.json;
        if (want.contains("stratus")) {
          Reply c = api->Get("/stratus/v1/" + EscapePath(name) + "/config");
          if (!c.ok()) return ReportFailure(c, api->server());
          have["stratus"] = c.json;
        }
        Diff(want, have, "", &changes);
        say(changes.empty() ? "unchanged" : "update", name, changes);
      }
    } else {
      Status s = client->ApplyQueue(id, want);
      if (s.code() == Code::kUnavailable && s.message().find("unreachable") != std::string::npos) {
        bar.Finish();
        return ReportFailure(Reply{kExitConnect, 0, "", s.message(), nullptr, ""}, api->server());
      }
      say(s.ok() ? "applied" : "FAILED ", name, {}, s.ok() ? "" : s.ToString());
      failed += s.ok() ? 0 : 1;
    }
    bar.Set(++done);
  }
  bar.Finish();
  if (a.prune) {
    std::vector<std::string> extra;
    Reply r =
        api->ForEachPage("/v2/" + EscapePath(api->Parent()) + "/queues", "queues", [&](const nlohmann::json& items) {
          for (const auto& q : items) {
            std::string name = q.value("name", std::string());
            if (!named.count(name)) extra.push_back(name);
          }
          return true;
        });
    if (!r.ok()) return ReportFailure(r, api->server());
    if (!a.dry_run && !extra.empty() &&
        !Confirm(a, "Delete " + std::to_string(extra.size()) + " queue(s) of " + api->Parent() + " not in " + a.file +
                        "?")) {
      std::cerr << "stratus: nothing pruned\n";
      return kExitUsage;
    }
    for (const auto& name : extra) {
      if (a.dry_run) {
        say("delete", name);
        continue;
      }
      Reply d = api->Send({http::Verb::delete_, "/v2/" + EscapePath(name), ""});
      if (!d.ok()) {
        ++failed;
        say("FAILED ", name, {}, (d.status.empty() ? "" : d.status + ": ") + d.message);
        if (d.exit == kExitConnect) return ReportFailure(d, api->server());
      } else {
        say("deleted", name);
      }
    }
  }
  if (!table) std::cout << Formatted(report, a.client.format);
  return failed == 0 ? kExitOk : kExitServer;
}

void ApplyFlags(CLI::App& cmd, Args& a) {
  cmd.add_option("file", a.file, "queues.yaml to apply")->required();
  cmd.add_flag("--dry-run", a.dry_run,
               "Print what would change (create, update with each field's old -> new, delete) and change nothing");
  cmd.add_flag("--prune", a.prune,
               "Also delete the location's queues that the file does not name (with --dry-run: list them)");
  cmd.add_flag("--yes,-y", a.yes, "Do not ask before pruning (never asked when stdin is not a terminal)");
  AddClientOptions(cmd, a.client);
}

}  // namespace

std::vector<std::string> QueueDiff(const nlohmann::json& wanted, const nlohmann::json& current) {
  std::vector<std::string> out;
  Diff(wanted, current, "", &out);
  return out;
}

const std::vector<Command>& ApplyCommands() {
  // clang-format off
  static const std::vector<Command> kRows = {
    {"queues", "apply", "Create or update the queues of a queues.yaml (project and location: the flags, else the file's)",
     "stratus queues apply queues.yaml --dry-run --prune", ApplyFlags, Apply},
  };
  // clang-format on
  return kRows;
}

}  // namespace stratus::cli

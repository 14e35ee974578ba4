// The /ui/ routes of the real binary: the built-in files with their content types, the
// security headers on every answer, ETag revalidation, what read-only and a token change in
// config.json, 404 for anything not built in (traversal included) and for all of /ui/ with
// --ui off.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "api/ui/ui.h"
#include "raw_http.h"
#include "stratus_process.h"

namespace stratus {
namespace {

using testing::PortOf;
using testing::StratusProcess;

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

// One GET written byte for byte (no client normalises the path), read to the end.
Reply Get(const StratusProcess& proc, const std::string& target, const std::string& extra = "") {
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" + extra + "Connection: close\r\n\r\n";
  std::string in = testing::RawExchange(PortOf(proc.tasks_url()), req, std::chrono::seconds(30));
  Reply r;
  if (in.rfind("HTTP/1.1 ", 0) != 0) return r;
  r.status = std::stoi(in.substr(9, 3));
  size_t split = in.find("\r\n\r\n");
  std::string head = in.substr(0, split);
  r.body = split == std::string::npos ? "" : in.substr(split + 4);
  size_t pos = head.find("\r\n");
  while (pos != std::string::npos && pos < head.size()) {
    size_t next = head.find("\r\n", pos + 2);
    std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    pos = next;
  }
  return r;
}

void ExpectSecured(const Reply& r, const std::string& what) {
  const std::string& csp = r.headers.count("content-security-policy") ? r.headers.at("content-security-policy") : "";
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << what << ": " << csp;
  EXPECT_NE(csp.find("object-src 'none'"), std::string::npos) << what;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << what;
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << what;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << what;
  EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos) << what;
  EXPECT_EQ(r.headers.count("x-content-type-options") ? r.headers.at("x-content-type-options") : "", "nosniff") << what;
}

TEST(UiRoutes, ServesTheBuiltInFilesWithTheirTypesAndSecurityHeaders) {
  StratusProcess proc;
  ASSERT_TRUE(proc.Start({"--redis-listen", "off"})) << proc.output();
  const std::map<std::string, std::string> files = {{"/ui/", "text/html; charset=utf-8"},
                                                    {"/ui/index.html", "text/html; charset=utf-8"},
                                                    {"/ui/app.js", "text/javascript; charset=utf-8"},
                                                    {"/ui/style.css", "text/css; charset=utf-8"},
                                                    {"/ui/config.json", "application/json"}};
  for (const auto& [path, type] : files) {
    Reply r = Get(proc, path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.headers["content-type"], type) << path;
    EXPECT_FALSE(r.body.empty()) << path;
    ExpectSecured(r, path);
  }
  Reply index = Get(proc, "/ui/");
  EXPECT_NE(index.body.find("<script type=\"module\" src=\"app.js\"></script>"), std::string::npos);
  // The page has no inline script for the policy to forbid.
  EXPECT_EQ(index.body.find("<script>"), std::string::npos);
  EXPECT_EQ(index.headers["cache-control"], "no-cache");

  // ETag: the same bytes revalidate to 304, still with the policy.
  Reply js = Get(proc, "/ui/app.js");
  ASSERT_FALSE(js.headers["etag"].empty());
  Reply again = Get(proc, "/ui/app.js", "If-None-Match: " + js.headers["etag"] + "\r\n");
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  ExpectSecured(again, "304");
  EXPECT_EQ(Get(proc, "/ui/app.js", "If-None-Match: \"other\"\r\n").status, 200);

  Reply redirect = Get(proc, "/ui");
  EXPECT_EQ(redirect.status, 308);
  EXPECT_EQ(redirect.headers["location"], "/ui/");

  auto config = nlohmann::json::parse(Get(proc, "/ui/config.json").body);
  EXPECT_EQ(config["mode"], "on");
  EXPECT_EQ(config["tokenRequired"], false);

  // In /metrics the dashboard's files count as one method.
  std::string metrics = Get(proc, "/metrics").body;
  EXPECT_NE(metrics.find("stratus_api_requests_total{method=\"GetDashboard\",code=\"200\",transport=\"rest\"}"),
            std::string::npos)
      << metrics.substr(0, 2000);
}

TEST(UiRoutes, AnswersNothingButTheBuiltInFiles) {
  StratusProcess proc;
  ASSERT_TRUE(proc.Start({"--redis-listen", "off"})) << proc.output();
  for (const char* path : {"/ui/missing.js", "/ui/../data/stratus.db", "/ui/%2e%2e/stratus.db", "/ui/..%2fstratus.db",
                           "/ui/./app.js", "/ui//app.js", "/ui/assets/app.js", "/ui/app.js/", "/ui/%61pp.js%00",
                           "/ui/../../../../etc/passwd", "/ui/..\\stratus.db"}) {
    Reply r = Get(proc, path);
    EXPECT_EQ(r.status, 404) << path << ": " << r.body.substr(0, 200);
    EXPECT_EQ(r.body.find("SQLite"), std::string::npos) << path;
    ExpectSecured(r, path);
  }
}

TEST(UiRoutes, ReadOnlyAndTokenAreToldToThePage) {
  StratusProcess proc;
  ASSERT_TRUE(proc.Start({"--redis-listen", "off", "--ui", "read-only", "--api-token", "t0ken"})) << proc.output();
  // The files are public (they hold no data); the API behind them still wants the token.
  Reply r = Get(proc, "/ui/config.json");
  ASSERT_EQ(r.status, 200);
  auto config = nlohmann::json::parse(r.body);
  EXPECT_EQ(config["mode"], "read-only");
  EXPECT_EQ(config["tokenRequired"], true);
  EXPECT_EQ(r.body.find("t0ken"), std::string::npos);
  EXPECT_EQ(Get(proc, "/ui/app.js").status, 200);
  EXPECT_EQ(Get(proc, "/stratus/v1/projects/p/locations/l/queueStats").status, 401);
  EXPECT_NE(proc.output().find("/ui/ (read-only)"), std::string::npos) << proc.output();
}

TEST(UiRoutes, OffAnswers404Everywhere) {
  StratusProcess proc;
  ASSERT_TRUE(proc.Start({"--redis-listen", "off", "--ui", "off"})) << proc.output();
  for (const char* path : {"/ui/", "/ui", "/ui/app.js", "/ui/index.html", "/ui/config.json"}) {
    EXPECT_EQ(Get(proc, path).status, 404) << path;
  }
  EXPECT_EQ(proc.output().find("dashboard"), std::string::npos);
}

TEST(UiRoutes, RefusesAnUnknownMode) {
  StratusProcess proc;
  EXPECT_FALSE(proc.Start({"--redis-listen", "off", "--ui", "maybe"}));  // the flag's check names it on stderr
}

TEST(UiRoutes, ParseUiMode) {
  EXPECT_EQ(*api::ui::ParseUiMode("on"), api::ui::UiMode::kOn);
  EXPECT_EQ(*api::ui::ParseUiMode("off"), api::ui::UiMode::kOff);
  EXPECT_EQ(*api::ui::ParseUiMode("read-only"), api::ui::UiMode::kReadOnly);
  auto bad = api::ui::ParseUiMode("readonly");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "--ui must be on, off or read-only, not \"readonly\"");
}

}  // namespace
}  // namespace stratus

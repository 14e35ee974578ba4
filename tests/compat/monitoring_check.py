#!/usr/bin/python3
"""The monitoring kit against the real server.

1. deploy/grafana/stratus.json is a Grafana dashboard that imports: schemaVersion, a
   Prometheus datasource variable, panels with grid positions and targets.
2. Every PromQL expression in it and in deploy/prometheus/alerts.yml parses: each becomes a
   recording rule in a temporary file that `promtool check rules` must accept.
3. Every metric those expressions name is exported: a real `stratus serve` is started, given
   a queue whose tasks a local target accepts, one whose tasks it refuses (retried, then dead
   letters), and some Redis REST commands; its /metrics (which `promtool check metrics` must
   pass) then has to hold a sample of each name.

Usage: monitoring_check.py path/to/stratus SOURCE_DIR
"""
import base64
import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import yaml

DEADLINE = 120  # seconds for the server to start and deliver; generous on a loaded machine
FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print("FAIL: " + msg, flush=True)


# ---- expressions ---------------------------------------------------------------------------

# What Grafana substitutes before a query reaches Prometheus.
GRAFANA_VARS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h", "$queue": ".*"}

AGGREGATIONS = {"sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile",
                "count_values", "group"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
            "offset", "inf", "nan"}


def substitute(expr):
    for k, v in GRAFANA_VARS.items():
        expr = expr.replace(k, v)
    return expr


def metric_names(expr):
    """The metric names an expression selects (not functions, labels or keywords)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    e = re.sub(r"\{[^}]*\}", " ", e)  # label matchers
    e = re.sub(r"\[[^\]]*\]", " ", e)  # ranges and subqueries
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", e):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in KEYWORDS or word in AGGREGATIONS:
            continue
        names.add(word)
    return names


def self_test():
    got = metric_names('histogram_quantile(0.95, sum by (queue, le) (rate(a_bucket{queue=~"x.*",le!="1"}[5m]))) '
                       '/ on (queue) group_left b_total > bool 3 or vector(0) and max without (x) (c)')
    if got != {"a_bucket", "b_total", "c"}:
        sys.exit("metric_names self-test failed: %r" % got)


def dashboard_exprs(path):
    with open(path) as f:
        dash = json.load(f)
    for key in ("title", "uid", "schemaVersion", "panels", "templating"):
        if key not in dash:
            fail("%s: no %r" % (path, key))
    if not isinstance(dash.get("schemaVersion"), int):
        fail("%s: schemaVersion is not a number" % path)
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        fail("%s: no Prometheus datasource variable named 'datasource'" % path)
    exprs = []
    ids = set()
    panels = dash.get("panels", [])
    for p in panels:
        if p.get("id") in ids:
            fail("%s: duplicate panel id %r" % (path, p.get("id")))
        ids.add(p.get("id"))
        if "gridPos" not in p:
            fail("%s: panel %r has no gridPos" % (path, p.get("title")))
        if p.get("type") == "row":
            continue
        if p.get("datasource", {}).get("uid") != "${datasource}":
            fail("%s: panel %r does not use the datasource variable" % (path, p.get("title")))
        targets = p.get("targets") or []
        if not targets:
            fail("%s: panel %r has no targets" % (path, p.get("title")))
        for t in targets:
            if not t.get("expr") or not t.get("refId"):
                fail("%s: panel %r has a target without expr or refId" % (path, p.get("title")))
                continue
            exprs.append(("panel %r" % p["title"], t["expr"]))
    for name, v in variables.items():
        if v.get("type") == "query":
            q = v.get("query")
            q = q.get("query") if isinstance(q, dict) else q
            m = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", q or "")
            if not m:
                fail("%s: variable %s: unexpected query %r" % (path, name, q))
            else:
                exprs.append(("variable %s" % name, m.group(1)))
    if len(exprs) < 10:
        fail("%s: only %d expressions" % (path, len(exprs)))
    return exprs


def alert_exprs(path):
    with open(path) as f:
        doc = yaml.safe_load(f)
    out = []
    for g in doc["groups"]:
        for r in g["rules"]:
            out.append(("alert %s" % r.get("alert", r.get("record")), r["expr"]))
    return out


def check_parse(promtool, exprs, tmp):
    rules = {"groups": [{"name": "expressions", "rules": [
        {"record": "check:expr_%d" % i, "expr": substitute(e)} for i, (_, e) in enumerate(exprs)]}]}
    path = os.path.join(tmp, "exprs.yml")
    with open(path, "w") as f:
        yaml.safe_dump(rules, f)
    r = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True)
    if r.returncode != 0:
        fail("promtool check rules on the expressions:\n" + r.stdout + r.stderr)
        for i, (where, e) in enumerate(exprs):
            print("  expr_%d (%s): %s" % (i, where, e.strip()))
    else:
        print("ok: %d expressions parse (promtool check rules)" % len(exprs))


# ---- the live server -----------------------------------------------------------------------

class Target(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        code = 500 if self.path.startswith("/fail") else 200
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def call(method, url, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def start_server(binary, tmp):
    proc = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", os.path.join(tmp, "data"),
                             "--redis-token", "monitoring-test-token", "--grpc-listen", "off"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    found = {}
    lines = []

    def read():
        for line in proc.stdout:
            lines.append(line)
            m = re.match(r"stratus: (Cloud Tasks v2|Redis REST) API on (\S+)", line)
            if m:
                found[m.group(1)] = m.group(2)
            if line.startswith("stratus: ready"):
                found["ready"] = True

    threading.Thread(target=read, daemon=True).start()
    end = time.time() + DEADLINE
    while "ready" not in found and time.time() < end and proc.poll() is None:
        time.sleep(0.05)
    if "ready" not in found:
        proc.kill()
        sys.exit("the server did not start:\n" + "".join(lines))
    return proc, found["Cloud Tasks v2"], found["Redis REST"]


def samples(text):
    names = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            names.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    return names


def value(text, name, label_part):
    for line in text.splitlines():
        if line.startswith(name + "{") and label_part in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def exercise(binary, promtool, tmp):
    target = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Target)
    threading.Thread(target=target.serve_forever, daemon=True).start()
    turl = "http://127.0.0.1:%d" % target.server_address[1]
    proc, api, redis = start_server(binary, tmp)
    try:
        parent = "/v2/projects/mon/locations/us-central1"
        for q, retry in (("mon-ok", {}), ("mon-fail", {"maxAttempts": 2, "minBackoff": "0.1s", "maxBackoff": "0.1s"})):
            s, b = call("POST", api + parent + "/queues",
                        {"name": "projects/mon/locations/us-central1/queues/" + q, "retryConfig": retry})
            if s != 200:
                sys.exit("create queue %s: %d %s" % (q, s, b))
        body = base64.b64encode(b"{}").decode()
        for q, path, n in (("mon-ok", "/ok", 3), ("mon-fail", "/fail", 1)):
            for _ in range(n):
                s, b = call("POST", api + parent + "/queues/" + q + "/tasks",
                            {"task": {"httpRequest": {"url": turl + path, "httpMethod": "POST", "body": body}}})
                if s != 200:
                    sys.exit("create task in %s: %d %s" % (q, s, b))
        call("GET", api + parent + "/queues/no-such-queue")  # a 404 for the request counters
        auth = {"Authorization": "Bearer monitoring-test-token"}
        for cmd in (["SET", "k", "v"], ["GET", "k"], ["INCR", "k"]):  # INCR of "v" answers an error
            call("POST", redis + "/", cmd, auth)
        end = time.time() + DEADLINE
        text = ""
        while time.time() < end:
            s, text = call("GET", api + "/metrics")
            if (value(text, "stratus_tasks_succeeded_total", "mon-ok") >= 3 and
                    value(text, "stratus_tasks_dead_lettered_total", "mon-fail") >= 1):
                break
            time.sleep(0.2)
        else:
            sys.exit("tasks were not delivered and dead-lettered in time; /metrics:\n" + text)
        s, text = call("GET", api + "/metrics")  # the previous scrape is now counted too
        lint = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
        if lint.returncode != 0:
            fail("promtool check metrics on /metrics:\n" + lint.stdout + lint.stderr)
        else:
            print("ok: /metrics passes promtool check metrics")
        return text
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        target.shutdown()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    binary, src = sys.argv[1], sys.argv[2]
    promtool = os.environ.get("PROMTOOL") or next(
        (os.path.join(d, "promtool") for d in os.environ.get("PATH", "").split(":")
         if os.access(os.path.join(d, "promtool"), os.X_OK)), None)
    if not promtool:
        sys.exit("FAIL: promtool is not installed (apt-get install prometheus; scripts/install-deps.sh does)")
    self_test()
    exprs = dashboard_exprs(os.path.join(src, "deploy/grafana/stratus.json"))
    exprs += alert_exprs(os.path.join(src, "deploy/prometheus/alerts.yml"))
    with tempfile.TemporaryDirectory(prefix="stratus-monitoring.") as tmp:
        check_parse(promtool, exprs, tmp)
        text = exercise(binary, promtool, tmp)
    exported = samples(text)
    used = {}
    for where, e in exprs:
        for n in metric_names(substitute(e)):
            used.setdefault(n, where)
    for n, where in sorted(used.items()):
        if n not in exported:
            fail("%s uses %s, which /metrics does not export" % (where, n))
    print("ok: checked %d metric names against /metrics" % len(used))
    if FAILURES:
        sys.exit("%d failure(s)" % len(FAILURES))
    print("PASS")


if __name__ == "__main__":
    main()

"""A second, independent gRPC client: Debian's python3-grpcio with stubs that protoc and
grpc_python_plugin generated from stratus's proto/ at build time.

Drives the Cloud Tasks v2 service (create/get/list/run/delete of queues and tasks, Google's
error codes and texts), lists the server's services through server reflection, and checks
that both transports show one store: what gRPC writes REST reads identically and the other
way round (every field, timestamps to the microsecond, non-UTF-8 bytes bodies).

Usage: grpc_client_test.py STUBS_DIR GRPC_ADDR REST_URL
"""
import http.server
import json
import sys
import threading
import time
import urllib.error
import urllib.request

STUBS, GRPC_ADDR, REST = sys.argv[1], sys.argv[2], sys.argv[3].rstrip("/")
sys.path.insert(0, STUBS)

import grpc  # noqa: E402
from google.protobuf import descriptor_pb2, duration_pb2, json_format, timestamp_pb2  # noqa: E402

from google.cloud.tasks.v2 import cloudtasks_pb2, cloudtasks_pb2_grpc  # noqa: E402
from google.cloud.tasks.v2 import queue_pb2, target_pb2, task_pb2  # noqa: E402
from stratus_reflection import reflection_pb2, reflection_pb2_grpc  # noqa: E402

PARENT = "projects/py-grpc/locations/us-central1"
passed = 0
failures = []


def check(cond, what):
    global passed
    if cond:
        passed += 1
        print("PASS " + what)
    else:
        failures.append(what)
        print("FAIL " + what)


def expect_error(fn, code, message, what):
    try:
        fn()
    except grpc.RpcError as e:
        ok = e.code() == code and (message is None or e.details() == message)
        check(ok, "%s -> %s %r (got %s %r)" % (what, code.name, message, e.code().name, e.details()))
        return
    check(False, what + " -> no error")


def rest(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(REST + "/v2/" + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


class Target(http.server.BaseHTTPRequestHandler):
    """A local HTTP target: records every request and answers 200 (503 on a path ending /fail)."""

    seen = []
    lock = threading.Lock()

    def _record(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        with Target.lock:
            Target.seen.append((self.command, self.path, dict(self.headers), body))
        self.send_response(503 if self.path.endswith("/fail") else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_PUT = _record

    def log_message(self, *args):
        pass


def wait_seen(n, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with Target.lock:
            if len(Target.seen) >= n:
                return list(Target.seen)
        time.sleep(0.05)
    with Target.lock:
        return list(Target.seen)


def ts(seconds, nanos):
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)


def dur(seconds, nanos=0):
    return duration_pb2.Duration(seconds=seconds, nanos=nanos)


def from_rest(obj, message):
    """REST JSON into the proto message; unknown REST fields fail the parse."""
    json_format.ParseDict(obj, message)
    return message


def main():
    channel = grpc.insecure_channel(GRPC_ADDR)
    grpc.channel_ready_future(channel).result(timeout=20)
    tasks = cloudtasks_pb2_grpc.CloudTasksStub(channel)

    # --- server reflection: the services a standard tool would list.
    refl = reflection_pb2_grpc.ServerReflectionStub(channel)
    reqs = [reflection_pb2.ServerReflectionRequest(list_services=""),
            reflection_pb2.ServerReflectionRequest(file_containing_symbol="google.cloud.tasks.v2.CloudTasks")]
    answers = list(refl.ServerReflectionInfo(iter(reqs), timeout=20))
    services = {s.name for s in answers[0].list_services_response.service}
    for svc in ("google.cloud.tasks.v2.CloudTasks", "google.cloud.location.Locations",
                "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"):
        check(svc in services, "reflection lists " + svc + " (" + ", ".join(sorted(services)) + ")")
    methods = set()
    for raw in answers[1].file_descriptor_response.file_descriptor_proto:
        fd = descriptor_pb2.FileDescriptorProto.FromString(raw)
        for s in fd.service:
            if s.name == "CloudTasks" and fd.package == "google.cloud.tasks.v2":
                methods = {m.name for m in s.method}
    check({"CreateQueue", "CreateTask", "RunTask", "ListTasks", "UpdateQueue"} <= methods,
          "reflection describes CloudTasks with its RPCs (%d methods)" % len(methods))

    # --- queues: create, get, list with pages, Google's errors.
    qname = PARENT + "/queues/py-q"
    created = tasks.CreateQueue(cloudtasks_pb2.CreateQueueRequest(
        parent=PARENT, queue=queue_pb2.Queue(name=qname, rate_limits=queue_pb2.RateLimits(max_dispatches_per_second=5))))
    check(created.name == qname and created.state == queue_pb2.Queue.RUNNING, "CreateQueue returns the running queue")
    check(created.rate_limits.max_burst_size == 10, "maxBurstSize derived (%d)" % created.rate_limits.max_burst_size)
    expect_error(lambda: tasks.CreateQueue(cloudtasks_pb2.CreateQueueRequest(parent=PARENT, queue=queue_pb2.Queue(name=qname))),
                 grpc.StatusCode.ALREADY_EXISTS, "Queue already exists", "CreateQueue twice")
    got = tasks.GetQueue(cloudtasks_pb2.GetQueueRequest(name=qname))
    check(got == created, "GetQueue equals what CreateQueue returned")
    expect_error(lambda: tasks.GetQueue(cloudtasks_pb2.GetQueueRequest(name=PARENT + "/queues/missing")),
                 grpc.StatusCode.NOT_FOUND,
                 "Queue does not exist. If you just created the queue, wait at least a minute for the queue to initialize.",
                 "GetQueue of a missing queue")
    expect_error(lambda: tasks.GetQueue(cloudtasks_pb2.GetQueueRequest(name="bad")), grpc.StatusCode.INVALID_ARGUMENT,
                 None, "GetQueue of a malformed name")
    tasks.CreateQueue(cloudtasks_pb2.CreateQueueRequest(parent=PARENT, queue=queue_pb2.Queue(name=PARENT + "/queues/py-q2")))
    names, token, pages = [], "", 0
    while True:
        page = tasks.ListQueues(cloudtasks_pb2.ListQueuesRequest(parent=PARENT, page_size=1, page_token=token))
        pages += 1
        names += [q.name for q in page.queues]
        token = page.next_page_token
        if not token or pages > 10:
            break
    check(sorted(names) == sorted([qname, PARENT + "/queues/py-q2"]) and pages >= 2,
          "ListQueues page by page (%d pages): %s" % (pages, names))

    # --- tasks: create (future, so it waits), get, list, run (delivered), delete.
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Target)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/py/hook" % server.server_address[1]
    body = b"\x00\xff\xfe\x80binary\xc3"
    later = int(time.time()) + 3600
    t = task_pb2.Task(name=qname + "/tasks/py-t1", schedule_time=ts(later, 250_000_000),
                      http_request=target_pb2.HttpRequest(url=url, http_method=target_pb2.POST,
                                                          headers={"X-Py": "1"}, body=body))
    made = tasks.CreateTask(cloudtasks_pb2.CreateTaskRequest(parent=qname, task=t, response_view=task_pb2.Task.FULL))
    check(made.name == t.name and made.http_request.body == body and made.schedule_time == t.schedule_time,
          "CreateTask FULL returns the bytes body and the schedule time")
    basic = tasks.GetTask(cloudtasks_pb2.GetTaskRequest(name=t.name))
    check(basic.view == task_pb2.Task.BASIC and basic.http_request.body == b"", "GetTask BASIC omits the body")
    lst = tasks.ListTasks(cloudtasks_pb2.ListTasksRequest(parent=qname, response_view=task_pb2.Task.FULL))
    check([x.name for x in lst.tasks] == [t.name] and lst.tasks[0].http_request.body == body, "ListTasks FULL")
    expect_error(lambda: tasks.CreateTask(cloudtasks_pb2.CreateTaskRequest(parent=qname, task=t)),
                 grpc.StatusCode.ALREADY_EXISTS, "Requested entity already exists", "CreateTask of a taken name")
    ran = tasks.RunTask(cloudtasks_pb2.RunTaskRequest(name=t.name))
    check(ran.name == t.name, "RunTask returns the task")
    seen = wait_seen(1)
    check(len(seen) == 1 and seen[0][0] == "POST" and seen[0][1] == "/py/hook" and seen[0][3] == body
          and seen[0][2].get("X-Py") == "1" and seen[0][2].get("X-CloudTasks-TaskName") == "py-t1",
          "RunTask delivers the exact bytes and headers to the target")
    t2 = task_pb2.Task(name=qname + "/tasks/py-t2", schedule_time=ts(later, 0),
                       http_request=target_pb2.HttpRequest(url=url))
    tasks.CreateTask(cloudtasks_pb2.CreateTaskRequest(parent=qname, task=t2))
    tasks.DeleteTask(cloudtasks_pb2.DeleteTaskRequest(name=t2.name))
    expect_error(lambda: tasks.DeleteTask(cloudtasks_pb2.DeleteTaskRequest(name=qname + "/tasks/never")),
                 grpc.StatusCode.NOT_FOUND, "Requested entity was not found.", "DeleteTask of a missing task")
    expect_error(lambda: tasks.CreateTask(cloudtasks_pb2.CreateTaskRequest(
        parent=qname, task=task_pb2.Task(http_request=target_pb2.HttpRequest()))),
                 grpc.StatusCode.INVALID_ARGUMENT, "HttpRequest.url is required.", "CreateTask without a url")

    cross_transport(tasks, url)

    tasks.DeleteQueue(cloudtasks_pb2.DeleteQueueRequest(name=PARENT + "/queues/py-q2"))
    expect_error(lambda: tasks.DeleteQueue(cloudtasks_pb2.DeleteQueueRequest(name=PARENT + "/queues/py-q2")),
                 grpc.StatusCode.NOT_FOUND, "Requested entity was not found.", "DeleteQueue twice")
    server.shutdown()

    print("%d passed, %d failed" % (passed, len(failures)))
    return 1 if failures else 0


def cross_transport(tasks, url):
    """One store, two transports: every field written by one is read identically by the other."""
    later = int(time.time()) + 7200
    # Queue written over gRPC with every field it has, paused and purged (purge_time, state).
    qg = PARENT + "/queues/x-grpc"
    tasks.CreateQueue(cloudtasks_pb2.CreateQueueRequest(parent=PARENT, queue=queue_pb2.Queue(
        name=qg,
        app_engine_routing_override=target_pb2.AppEngineRouting(service="svc", version="v7", instance="i3"),
        rate_limits=queue_pb2.RateLimits(max_dispatches_per_second=7.5, max_concurrent_dispatches=33),
        retry_config=queue_pb2.RetryConfig(max_attempts=9, max_retry_duration=dur(3600, 500_000_000),
                                           min_backoff=dur(0, 250_000_000), max_backoff=dur(120), max_doublings=4),
        stackdriver_logging_config=queue_pb2.StackdriverLoggingConfig(sampling_ratio=0.5))))
    tasks.PauseQueue(cloudtasks_pb2.PauseQueueRequest(name=qg))
    tasks.PurgeQueue(cloudtasks_pb2.PurgeQueueRequest(name=qg))
    via_grpc = tasks.GetQueue(cloudtasks_pb2.GetQueueRequest(name=qg))
    status, via_rest = rest("GET", qg)
    check(status == 200, "REST reads the queue gRPC wrote")
    check(from_rest(via_rest, queue_pb2.Queue()) == via_grpc,
          "queue gRPC -> REST identical: %s" % json.dumps(via_rest, sort_keys=True))
    check(via_grpc.purge_time.nanos % 1000 == 0 and via_rest.get("purgeTime", "").endswith("Z"),
          "purge time %s in both" % via_rest.get("purgeTime"))

    # Queue written over REST, read over gRPC.
    qr = PARENT + "/queues/x-rest"
    status, made = rest("POST", PARENT + "/queues", {
        "name": qr, "appEngineRoutingOverride": {"service": "s2", "version": "v2"},
        "rateLimits": {"maxDispatchesPerSecond": 2.25, "maxConcurrentDispatches": 5},
        "retryConfig": {"maxAttempts": -1, "maxRetryDuration": "86400s", "minBackoff": "1.500s", "maxBackoff": "60s",
                        "maxDoublings": 2},
        "stackdriverLoggingConfig": {"samplingRatio": 0.125}})
    check(status == 200, "REST creates a queue (%d)" % status)
    via_grpc = tasks.GetQueue(cloudtasks_pb2.GetQueueRequest(name=qr))
    check(via_grpc == from_rest(made, queue_pb2.Queue()),
          "queue REST -> gRPC identical: %s" % json_format.MessageToJson(via_grpc, indent=None))

    # Tasks: HTTP (every field, microsecond times, non-UTF-8 bytes, OIDC) and App Engine, both ways.
    body = bytes(range(256))
    tg = task_pb2.Task(
        name=qr + "/tasks/x-grpc-http", schedule_time=ts(later, 123_456_000), dispatch_deadline=dur(45, 500_000_000),
        http_request=target_pb2.HttpRequest(
            url=url + "?q=1", http_method=target_pb2.PUT, headers={"X-A": "a", "Content-Type": "application/x-bin"},
            body=body, oidc_token=target_pb2.OidcToken(service_account_email="sa@p.iam.gserviceaccount.com",
                                                       audience="https://aud.example")))
    ta = task_pb2.Task(
        name=qr + "/tasks/x-grpc-ae", schedule_time=ts(later, 999_999_000),
        app_engine_http_request=target_pb2.AppEngineHttpRequest(
            http_method=target_pb2.PUT, relative_uri="/ae?x=1", headers={"X-B": "b"}, body=b"\xff\x00ae",
            app_engine_routing=target_pb2.AppEngineRouting(service="worker", version="v1")))
    for t in (tg, ta):
        tasks.CreateTask(cloudtasks_pb2.CreateTaskRequest(parent=qr, task=t))
        g = tasks.GetTask(cloudtasks_pb2.GetTaskRequest(name=t.name, response_view=task_pb2.Task.FULL))
        status, r = rest("GET", t.name + "?responseView=FULL")
        check(status == 200 and from_rest(r, task_pb2.Task()) == g,
              "task gRPC -> REST identical (%s): %s" % (t.name.rsplit("/", 1)[1], json.dumps(r, sort_keys=True)))
        check(g.schedule_time == t.schedule_time, "schedule time kept to the microsecond (%s)" % r.get("scheduleTime"))
    # A nanosecond fraction is kept to the microsecond by both.
    tn = task_pb2.Task(name=qr + "/tasks/x-nanos", schedule_time=ts(later, 123_456_789),
                       http_request=target_pb2.HttpRequest(url=url))
    tasks.CreateTask(cloudtasks_pb2.CreateTaskRequest(parent=qr, task=tn))
    g = tasks.GetTask(cloudtasks_pb2.GetTaskRequest(name=tn.name))
    status, r = rest("GET", tn.name)
    check(g.schedule_time.nanos == 123_456_000 and r.get("scheduleTime", "").endswith(".123456Z"),
          "nanoseconds truncated to microseconds on both (%s, %d)" % (r.get("scheduleTime"), g.schedule_time.nanos))

    import base64
    status, r = rest("POST", qr + "/tasks", {"task": {
        "name": qr + "/tasks/x-rest-http", "scheduleTime": "%s.000007Z" % time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(later)),
        "dispatchDeadline": "900s",
        "httpRequest": {"url": url, "httpMethod": "PATCH", "headers": {"X-C": "c"},
                        "body": base64.b64encode(b"\x80\x81\x82 rest bytes \xfe").decode(),
                        "oauthToken": {"serviceAccountEmail": "sa2@p.iam.gserviceaccount.com", "scope": "s"}}},
        "responseView": "FULL"})
    check(status == 200, "REST creates a task (%d %s)" % (status, json.dumps(r)))
    g = tasks.GetTask(cloudtasks_pb2.GetTaskRequest(name=qr + "/tasks/x-rest-http", response_view=task_pb2.Task.FULL))
    check(g == from_rest(r, task_pb2.Task()), "task REST -> gRPC identical: %s" % json_format.MessageToJson(g, indent=None))
    check(g.schedule_time.nanos == 7000, "REST's microsecond reaches gRPC (%d ns)" % g.schedule_time.nanos)
    lg = tasks.ListTasks(cloudtasks_pb2.ListTasksRequest(parent=qr, response_view=task_pb2.Task.FULL))
    status, lr = rest("GET", qr + "/tasks?responseView=FULL")
    by_name = {t["name"]: from_rest(t, task_pb2.Task()) for t in lr.get("tasks", [])}
    check(len(lg.tasks) == 4 and all(by_name.get(t.name) == t for t in lg.tasks),
          "ListTasks FULL identical over both (%d tasks)" % len(lg.tasks))
    # A task that was attempted: dispatch/response counts and both attempts (their schedule,
    # dispatch and response times to the microsecond, the response status) read the same.
    tf = task_pb2.Task(name=qr + "/tasks/x-attempted", schedule_time=ts(later, 0),
                       http_request=target_pb2.HttpRequest(url=url.rsplit("/", 1)[0] + "/fail"))
    tasks.CreateTask(cloudtasks_pb2.CreateTaskRequest(parent=qr, task=tf))
    tasks.RunTask(cloudtasks_pb2.RunTaskRequest(name=tf.name))
    deadline = time.time() + 30
    g = tasks.GetTask(cloudtasks_pb2.GetTaskRequest(name=tf.name, response_view=task_pb2.Task.FULL))
    while g.response_count < 1 and time.time() < deadline:
        time.sleep(0.05)
        g = tasks.GetTask(cloudtasks_pb2.GetTaskRequest(name=tf.name, response_view=task_pb2.Task.FULL))
    status, r = rest("GET", tf.name + "?responseView=FULL")
    check(g.dispatch_count == 1 and g.response_count == 1 and g.HasField("first_attempt")
          and g.last_attempt.response_status.code != 0 and g.last_attempt.HasField("response_time"),
          "the attempt is recorded (%s)" % json_format.MessageToJson(g, indent=None))
    check(status == 200 and from_rest(r, task_pb2.Task()) == g,
          "attempted task identical over both: %s" % json.dumps(r, sort_keys=True))
    check(g.last_attempt.dispatch_time.nanos % 1000 == 0 and g.last_attempt.response_time.nanos % 1000 == 0,
          "attempt times are whole microseconds (%d ns)" % g.last_attempt.dispatch_time.nanos)
    for q in (qg, qr):
        tasks.DeleteQueue(cloudtasks_pb2.DeleteQueueRequest(name=q))
    status, _ = rest("GET", qr)
    check(status == 404, "a queue gRPC deleted is gone for REST")


if __name__ == "__main__":
    sys.exit(main())

"""Applies a queues.yaml (examples/catchup/queues.yaml) over the gRPC API, as `stratus queues
apply` does over REST: UpdateQueue (which creates a missing queue) with a mask of the fields
the file names, then the stratus-only part (`stratus:`) through /stratus/v1, which has no gRPC
form. Prints one "applied NAME" line per queue and then checks that every queue reads back
over REST with the file's values.

Usage: apply_queues_grpc.py STUBS_DIR GRPC_ADDR REST_URL QUEUES_YAML
"""
import json
import sys
import urllib.request

STUBS, GRPC_ADDR, REST, PATH = sys.argv[1], sys.argv[2], sys.argv[3].rstrip("/"), sys.argv[4]
sys.path.insert(0, STUBS)

import grpc  # noqa: E402
import yaml  # noqa: E402
from google.protobuf import field_mask_pb2, json_format  # noqa: E402

from google.cloud.tasks.v2 import cloudtasks_pb2, cloudtasks_pb2_grpc, queue_pb2  # noqa: E402


def mask_paths(obj, prefix=""):
    for k, v in obj.items():
        if isinstance(v, dict) and v and k in ("rateLimits", "retryConfig"):
            yield from mask_paths(v, prefix + k + ".")
        else:
            yield prefix + k


def rest(method, path, body=None):
    req = urllib.request.Request(REST + path, data=None if body is None else json.dumps(body).encode(), method=method)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=20) as r:
        return json.loads(r.read() or b"{}")


def main():
    doc = yaml.safe_load(open(PATH))
    parent = "projects/%s/locations/%s" % (doc["project"], doc["location"])
    channel = grpc.insecure_channel(GRPC_ADDR)
    grpc.channel_ready_future(channel).result(timeout=20)
    stub = cloudtasks_pb2_grpc.CloudTasksStub(channel)
    bad = 0
    for qid, fields in doc["queues"].items():
        fields = dict(fields or {})
        ext = fields.pop("stratus", None)
        name = parent + "/queues/" + qid
        q = json_format.ParseDict(fields, queue_pb2.Queue())  # the file's protobuf JSON, strictly
        q.name = name
        mask = field_mask_pb2.FieldMask()
        mask.FromJsonString(",".join(mask_paths(fields)))
        stub.UpdateQueue(cloudtasks_pb2.UpdateQueueRequest(queue=q, update_mask=mask), timeout=20)
        if ext is not None:
            rest("PUT", "/stratus/v1/%s/config" % name, ext)
        print("applied " + name)
        # What REST reads back carries every value the file set.
        got = json_format.ParseDict(rest("GET", "/v2/" + name), queue_pb2.Queue())
        for path in mask.paths:
            want, have = q, got
            for part in path.split("."):
                want, have = getattr(want, part), getattr(have, part)
            if want != have:
                print("MISMATCH %s %s: file %s, REST %s" % (name, path, want, have))
                bad += 1
        if ext is not None:
            cfg = rest("GET", "/stratus/v1/%s/config" % name)
            if cfg.get("permanentFailureStatuses") != ext.get("permanentFailureStatuses"):
                print("MISMATCH %s stratus: file %r, server %r" % (name, ext, cfg))
                bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

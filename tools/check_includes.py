#!/usr/bin/env python3
"""Fails when a file under src/ or include/stratus/ includes a layer above its own.

The layers and what each may include are written down once, in LAYERS below; the same order
is drawn in docs/architecture.md and src/CMakeLists.txt. A file belongs to the longest folder
prefix listed (src/tasks/engine/runner.cc is in "tasks/engine", not "tasks"); the public
headers in include/stratus/ belong to the layer that implements them (HEADERS). Includes of
anything else (system and third-party headers) are not checked.

Usage: tools/check_includes.py [repo root]   (exit status 1 and one line per violation)
"""
import pathlib
import re
import sys

# layer -> the layers it may include besides itself. Dependencies point down only.
LAYERS = {
    "common": [],
    "http": ["common"],  # the network layer: knows nothing of tasks, stores or Redis
    "auth": ["common"],
    "kv": ["common"],
    "model": ["common"],  # queues, tasks, resource names, the storage codec
    "cron": ["common"],  # unix-cron schedules and tz database zones (date/tz)
    "cluster": ["common"],  # nodes, queue leases, assignment; store/postgres implements its table
    "store": ["model", "common"],  # the Store interface's helpers
    "store/sqlite": ["store", "model", "common"],
    "store/postgres": ["store", "cluster", "model", "auth", "common"],  # + the cluster's OIDC keys (auth/key_source.h)
    "tasks": ["store", "model", "common"],  # the service, the REST codec, validation
    "tasks/engine": ["tasks", "store", "cluster", "model", "auth", "http", "common"],
    # Cloud Scheduler v1: the jobs' codec, checks, store and service, and the executor (which
    # fires through tasks/engine's client and signer)
    "scheduler": ["cron", "tasks/engine", "tasks", "store", "cluster", "model", "http", "auth", "common"],
    # the JobStore of a cluster, on the PostgreSQL store's connection and schema
    "scheduler/postgres": ["scheduler", "store/postgres", "cron", "tasks/engine", "tasks", "store", "cluster", "model",
                           "http", "auth", "common"],
    "api": ["scheduler", "tasks/engine", "tasks", "store", "model", "cron", "kv", "auth", "http", "common"],
    # the Cloud Tasks v2 gRPC front end, beside api (whose token checks it shares)
    "grpc": ["api", "tasks/engine", "tasks", "store", "model", "auth", "http", "common"],
    "sdk": ["http", "common"],  # installed alone with http and common
    "cli": ["grpc", "api", "scheduler/postgres", "scheduler", "sdk", "tasks/engine", "tasks", "store/sqlite", "store/postgres", "store", "cluster", "model", "cron",
            "kv", "auth",
            "http", "common"],
}

# Public headers (include/stratus/...) and the layer each belongs to.
HEADERS = {
    "stratus/status.h": "common",
    "stratus/model.h": "model",
    "stratus/store.h": "store",
    "stratus/sdk": "sdk",
}

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]')


def layer_of_path(rel):
    """The layer of an include path ("tasks/engine/delivery.h") or None when not ours."""
    for prefix in sorted(HEADERS, key=len, reverse=True):
        if rel == prefix or rel.startswith(prefix + "/"):
            return HEADERS[prefix]
    best = None
    for layer in LAYERS:
        if rel.startswith(layer + "/") and (best is None or len(layer) > len(best)):
            best = layer
    return best


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
    files = []
    for top, base in (("src", root / "src"), ("include", root / "include")):
        for path in sorted(base.rglob("*")):
            if path.suffix in (".h", ".cc") and path.is_file():
                files.append((path, path.relative_to(base).as_posix()))
    bad = []
    unknown = []
    for path, rel in files:
        own = layer_of_path(rel)
        if own is None:
            unknown.append(rel)
            continue
        allowed = set(LAYERS[own]) | {own}
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = layer_of_path(m.group(1))
            if target is not None and target not in allowed:
                bad.append(f"{path.relative_to(root)}:{n}: {own} includes {m.group(1)} ({target}), "
                           f"which is not below it; {own} may include: {', '.join(LAYERS[own]) or 'nothing'}")
    for rel in unknown:
        bad.append(f"{rel}: in no layer; add its folder to LAYERS in tools/check_includes.py")
    for line in bad:
        print(line)
    if bad:
        print(f"check_includes: {len(bad)} include(s) against the layer order", file=sys.stderr)
        return 1
    print(f"check_includes: {len(files)} files, every include points down")
    return 0


if __name__ == "__main__":
    sys.exit(main())

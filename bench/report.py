#!/usr/bin/python3
"""Turns bench/run's JSON into BENCHMARKS.md and a PNG plot.

    bench/report.py bench/results/latest.json --markdown BENCHMARKS.md --plot bench/results/benchmarks.png

Each figure is reported as min / median / max over the rounds of the run, beside the peer
measured in the same run, with the ratio and the target from DESIGN.md. The hand-kept
history of changes and their before/after figures (bench/history.md) is appended.
"""
import argparse
import json
import os
import statistics

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def dig(d, path):
    for p in path.split("."):
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def values(res, scenario, path):
    return [v for v in (dig(r, path) for r in res["rounds"].get(scenario, [])) if isinstance(v, (int, float))]


def mmm(vals):
    """(min, median, max) or None."""
    return (min(vals), statistics.median(vals), max(vals)) if vals else None


def fmt(x, unit=""):
    if x is None:
        return "—"
    if float(x).is_integer() and abs(x) < 100:
        s = f"{int(x)}"
    elif abs(x) >= 100:
        s = f"{x:,.0f}"
    elif abs(x) >= 10:
        s = f"{x:.1f}"
    else:
        s = f"{x:.2f}"
    return s + unit


def cell(vals, unit=""):
    t = mmm(vals)
    if not t:
        return "—"
    if len(vals) == 1:
        return fmt(t[1], unit)
    return f"**{fmt(t[1], unit)}** ({fmt(t[0])}–{fmt(t[2])})"


def median(vals):
    t = mmm(vals)
    return t[1] if t else None


def ratio(a, b):
    return f"{a / b:.2f}×" if a is not None and b else "—"


def targets(res):
    """Rows: figure, stratus, peer, ratio, goal, met."""
    rows = []
    e2e = values(res, "e2e", "end_to_end_per_s")
    bull = values(res, "bullmq", "aof_everysec.e2e.end_to_end_per_s")
    bull_noaof = values(res, "bullmq", "no_aof.e2e.end_to_end_per_s")
    m, b = median(e2e), median(bull)
    rows.append(["end-to-end tasks/s, durable (64 conns create → dispatch → ack)", cell(e2e),
                 f"BullMQ AOF everysec {cell(bull)}; no AOF {cell(bull_noaof)}", ratio(m, b), "≥ 3× BullMQ",
                 met(m is not None and b and m >= 3 * b)])
    if res["rounds"].get("e2e-wrk"):
        rows.append(e2e_wrk_target(res))
    late = values(res, "lateness", "lateness_ms.p99")
    bl = values(res, "bullmq", "no_aof.delayed.lateness_ms.p99")
    rows.append(["dispatch lateness p99 at 1,000 tasks/s (ms)", cell(late), f"BullMQ delayed {cell(bl)}",
                 ratio(median(bl), median(late)) + " lower" if median(late) else "—", "≤ 5 ms",
                 met(median(late) is not None and median(late) <= 5)])
    c5 = values(res, "create", "5000.latency_ms.p99")
    rows.append(["create latency p99 at 5,000 tasks/s (ms)", cell(c5), "—", "—", "≤ 2 ms",
                 met(median(c5) is not None and median(c5) <= 2)])
    mem = values(res, "memory", "bytes_per_task")
    n = values(res, "memory", "tasks")
    rss = values(res, "memory", "rss_mb")
    rows.append([f"RAM per pending task ({fmt(median(n))} tasks a day ahead, 1 KB bodies)", cell(mem, " B"),
                 f"RSS {cell(rss, ' MB')}", "—", "≤ 300 B", met(median(mem) is not None and median(mem) <= 300)])
    get = values(res, "redis", "embedded_everysec.redis-get.per_s")
    sset = values(res, "redis", "embedded_everysec.redis-set.per_s")
    bget = values(res, "redis", "redis_benchmark.get")
    bset = values(res, "redis", "redis_benchmark.set")
    rows.append(["Redis REST GET/s, unpipelined, 50 conns (embedded)", cell(get), f"redis-benchmark GET {cell(bget)}",
                 ratio(median(get), median(bget)), "≥ 150%", met(median(get) and median(bget) and median(get) >= 1.5 * median(bget))])
    rows.append(["Redis REST SET/s, unpipelined, 50 conns (embedded, fsync everysec)", cell(sset),
                 f"redis-benchmark SET {cell(bset)}", ratio(median(sset), median(bset)), "≥ 150%",
                 met(median(sset) and median(bset) and median(sset) >= 1.5 * median(bset))])
    pset = values(res, "redis", "embedded_everysec.redis-pipeline-set.per_s")
    bpset = values(res, "redis", "redis_benchmark_p16.set")
    rows.append(["Redis REST SET/s, pipelines of 16, 50 conns (embedded, fsync everysec)", cell(pset),
                 f"redis-benchmark -P 16 SET {cell(bpset)}", ratio(median(pset), median(bpset)), "≥ 70%",
                 met(median(pset) and median(bpset) and median(pset) >= 0.7 * median(bpset))])
    return rows


def met(ok):
    return "yes" if ok else "**no**"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def detail_tables(res):
    parts = []
    rows = []
    for rate in res["sizes"]["create_rates"]:
        k = str(rate)
        rows.append([f"{rate:,}/s", cell(values(res, "create", f"{k}.achieved_per_s")),
                     cell(values(res, "create", f"{k}.latency_ms.p50")), cell(values(res, "create", f"{k}.latency_ms.p99")),
                     cell(values(res, "create", f"{k}.latency_ms.p999")), cell(values(res, "create", f"{k}.errors"))])
    parts.append("### Create only (paused queue, 64 connections, latency from the intended send time)\n\n" +
                 table(["offered", "achieved/s", "p50 ms", "p99 ms", "p99.9 ms", "errors"], rows))
    rows = [["stratus", cell(values(res, "lateness", "lateness_ms.p50")), cell(values(res, "lateness", "lateness_ms.p99")),
             cell(values(res, "lateness", "lateness_ms.max")), cell(values(res, "lateness", "delivered"))],
            ["BullMQ (delay 1 s, no AOF)", cell(values(res, "bullmq", "no_aof.delayed.lateness_ms.p50")),
             cell(values(res, "bullmq", "no_aof.delayed.lateness_ms.p99")),
             cell(values(res, "bullmq", "no_aof.delayed.lateness_ms.max")),
             cell(values(res, "bullmq", "no_aof.delayed.lateness_ms.count"))]]
    parts.append("### Dispatch lateness (scheduled 1 s ahead, 1,000/s; arrival − scheduleTime)\n\n" +
                 table(["", "p50 ms", "p99 ms", "max ms", "delivered"], rows))
    rows = [["stratus (SQLite, synchronous=FULL)", cell(values(res, "e2e", "end_to_end_per_s")),
             cell(values(res, "e2e", "create_per_s")), cell(values(res, "e2e", "create_latency_ms.p99"))]]
    for key, label in [("no_aof", "no AOF"), ("aof_everysec", "AOF everysec")]:
        rows.append([f"BullMQ enqueue-then-process ({label})", cell(values(res, "bullmq", f"{key}.e2e.end_to_end_per_s")),
                     cell(values(res, "bullmq", f"{key}.e2e.enqueue_per_s")), "—"])
        rows.append([f"BullMQ concurrent ({label})", cell(values(res, "bullmq", f"{key}.concurrent.end_to_end_per_s")),
                     "—", "—"])
    parts.append("### End to end (no-op target / no-op worker at concurrency 64)\n\n" +
                 table(["", "tasks/s end to end", "enqueue/s", "create p99 ms"], rows))
    rows = []
    for mode, label in [("embedded_everysec", "embedded, fsync everysec"), ("embedded_always", "embedded, fsync always"),
                        ("proxy", "proxy to redis-server")]:
        rows.append([label] + [cell(values(res, "redis", f"{mode}.{sc}.per_s")) for sc in
                               ["redis-get", "redis-set", "redis-pipeline-get", "redis-pipeline-set"]])
    rows.append(["redis-benchmark (RESP, direct)", cell(values(res, "redis", "redis_benchmark.get")),
                 cell(values(res, "redis", "redis_benchmark.set")), cell(values(res, "redis", "redis_benchmark_p16.get")),
                 cell(values(res, "redis", "redis_benchmark_p16.set"))])
    parts.append("### Redis (50 connections; pipelines of 16; commands/s)\n\n" +
                 table(["", "GET", "SET", "GET ×16", "SET ×16"], rows))
    rows = [["RSS empty / loaded / after restart (MB)", " / ".join(cell(values(res, "memory", k)) for k in
                                                            ["rss_empty_mb", "rss_mb", "rss_after_restart_mb"])],
            ["data dir (MB)", cell(values(res, "memory", "data_dir_mb"))],
            ["restart to ready (s)", cell(values(res, "memory", "restart_to_ready_s"))],
            ["bytes per task after restart", cell(values(res, "memory", "bytes_per_task_after_restart"))],
            ["create rate while loading (tasks/s)", cell(values(res, "memory", "create_per_s"))]]
    parts.append("### Memory (tasks a day ahead, 1 KB bodies)\n\n" + table(["", ""], rows))
    rows = [["nginx 1.22 `return 200` under wrk", cell(values(res, "http", "nginx_wrk.per_s"))],
            ["nginx under stratus-loadgen", cell(values(res, "http", "nginx_loadgen.per_s"))],
            ["stratus-noop-target under wrk", cell(values(res, "http", "noop_wrk.per_s"))]]
    parts.append("### HTTP ceiling (64 connections; requests/s)\n\n" + table(["", "requests/s"], rows))
    if res["rounds"].get("grpc"):
        parts.append(grpc_table(res))
    if res["rounds"].get("e2e-wrk"):
        parts.append(e2e_wrk_table(res))
    return "\n\n".join(parts)


def grpc_table(res):
    """gRPC beside REST (bench/run's grpc scenario): the same server, one after the other."""
    rows = []
    for t, label in [("rest", "REST (stratus-loadgen, 64 connections)"),
                     ("grpc", "gRPC (stratus-grpc-loadgen, 64 calls on 4 channels)"),
                     ("h2load", "gRPC (h2load, 64 streams on 4 connections)")]:
        row = [label, cell(values(res, "grpc", f"create_max.{t}.per_s")),
               cell(values(res, "grpc", f"create_max.{t}.latency_ms.p99"))]
        for rate in res["sizes"]["create_rates"]:
            row += [cell(values(res, "grpc", f"create.{rate}.{t}.achieved_per_s")),
                    cell(values(res, "grpc", f"create.{rate}.{t}.latency_ms.p99"))]
        row += [cell(values(res, "grpc", f"e2e.{t}.end_to_end_per_s")),
                cell(values(res, "grpc", f"create_max.{t}.client_cpu_us_per_call"))]
        rows.append(row)
    header = ["", "create/s closed loop", "p99 ms"]
    for rate in res["sizes"]["create_rates"]:
        header += [f"at {rate:,}/s achieved", "p99 ms"]
    header += ["end to end tasks/s", "client CPU µs/call"]
    wrk = cell(values(res, "grpc", "harness.wrk_nginx.client_cpu_us_per_call"))
    return ("### gRPC beside REST (CreateTask; paused queue for create, no-op target end to end)\n\n" +
            table(header, rows) + f"\n\nHarness yardstick: wrk against nginx, {wrk} µs of wrk's CPU per request. "
            "h2load's p99 is the 99th percentile of its per-request times (`--log-file`, start of the "
            "request to the end of the response); its calls are counted OK from stratus's /metrics.")


E2E_WRK_RUNS = [("loadgen_noop", "stratus-loadgen → stratus → stratus-noop-target (the e2e scenario)"),
                ("wrk_nginx", "wrk -t1 → stratus → nginx"), ("wrk2_nginx", "wrk -t2 → stratus → nginx"),
                ("bullmq_aof", "BullMQ enqueue-then-process, AOF everysec (node: producer + worker)"),
                ("bullmq_aof_concurrent", "BullMQ concurrent (worker running while the producer adds), AOF everysec")]


def paired_ratios(res, key, peer="bullmq_aof"):
    """Each round's end-to-end figure over BullMQ's in the same round (the e2e-wrk scenario)."""
    out = []
    for r in res["rounds"].get("e2e-wrk", []):
        a, b = dig(r, f"{key}.end_to_end_per_s"), dig(r, f"{peer}.end_to_end_per_s")
        if a and b:
            out.append(a / b)
    return out


def cpu_total(r, key):
    """CPU µs per task of every process in one run: client, target and server (or node and redis)."""
    c = dig(r, f"{key}.cpu_us_per_task") or {}
    parts = ["node_less_startup", "redis"] if key.startswith("bullmq") else ["client", "target", "server"]
    return sum(c.get(p, 0) for p in parts) if c else None


def e2e_wrk_target(res):
    lg, wrk = values(res, "e2e-wrk", "loadgen_noop.end_to_end_per_s"), values(res, "e2e-wrk", "wrk_nginx.end_to_end_per_s")
    bull = values(res, "e2e-wrk", "bullmq_aof.end_to_end_per_s")
    rl, rw = median(paired_ratios(res, "loadgen_noop")), median(paired_ratios(res, "wrk_nginx"))
    hl = median(values(res, "e2e-wrk", "loadgen_noop.cpu_us_per_task.harness"))
    hw = median(values(res, "e2e-wrk", "wrk_nginx.cpu_us_per_task.harness"))
    rounds = res["rounds"]["e2e-wrk"]
    cpu = median([cpu_total(r, "bullmq_aof") / cpu_total(r, "loadgen_noop") for r in rounds
                  if cpu_total(r, "bullmq_aof") and cpu_total(r, "loadgen_noop")])
    return ["end-to-end tasks/s in interleaved rounds (e2e-wrk): loadgen → noop; wrk → nginx",
            f"{cell(lg)}; wrk {cell(wrk)} (harness {fmt(hl)} / {fmt(hw)} µs CPU a task)",
            f"BullMQ AOF everysec {cell(bull)}, same rounds",
            f"{rl:.2f}× / {rw:.2f}× (median of the rounds' ratios; CPU per task {cpu:.2f}×)" if rl and rw and cpu
            else "—", "≥ 3× BullMQ", met(rl is not None and rl >= 3)]


def e2e_wrk_table(res):
    """The e2e-wrk scenario: the same end-to-end run from two harnesses and BullMQ's, round by round
    in alternating order, with every process's CPU per task (what load does not blur)."""
    rows = []
    for key, label in E2E_WRK_RUNS:
        is_bull = key.startswith("bullmq")
        per_round = res["rounds"]["e2e-wrk"]
        rows.append([label, cell(values(res, "e2e-wrk", f"{key}.end_to_end_per_s")),
                     cell(paired_ratios(res, key)), cell(paired_ratios(res, key, "bullmq_aof_concurrent")),
                     cell(values(res, "e2e-wrk", f"{key}.created" if not is_bull else f"{key}.jobs")),
                     "—" if is_bull else cell(values(res, "e2e-wrk", f"{key}.cpu_us_per_task.client")),
                     "—" if is_bull else cell(values(res, "e2e-wrk", f"{key}.cpu_us_per_task.target")),
                     cell(values(res, "e2e-wrk", f"{key}.cpu_us_per_task.node_less_startup")) if is_bull
                     else cell(values(res, "e2e-wrk", f"{key}.cpu_us_per_task.harness")),
                     cell(values(res, "e2e-wrk", f"{key}.cpu_us_per_task.{'redis' if is_bull else 'server'}")),
                     cell([v for v in (cpu_total(r, key) for r in per_round) if v])])
    loads = [r["loadavg"] for r in res["rounds"]["e2e-wrk"] if "loadavg" in r]
    return ("### Which end-to-end figure is right (e2e-wrk: interleaved rounds, CPU per task)\n\n" +
            table(["", "tasks/s end to end", "× BullMQ e2e, same round", "× BullMQ concurrent", "tasks", "client µs/task", "target µs/task",
                   "harness µs/task (client + target; BullMQ: node)", "server µs/task (BullMQ: redis-server)",
                   "all processes µs/task"], rows) +
            f"\n\nLoad average at the rounds' start: {', '.join(f'{x:.1f}' for x in loads)}. "
            "CPU per task is each process's user + system time (from /proc, and the client's rusage) over the "
            "tasks delivered; wrk's run is timed, so its tasks are those stratus created, each found in nginx's "
            "access log. BullMQ's node runs both its producer and its worker; its start-up is taken out.")


def commands(res):
    seen = []
    for rounds in res["rounds"].values():
        for r in rounds[:1]:
            stack = [r]
            while stack:
                d = stack.pop()
                if isinstance(d, dict):
                    if isinstance(d.get("command"), str) and d["command"] not in seen:
                        seen.append(d["command"])
                    stack.extend(v for v in d.values() if isinstance(v, dict))
    return "\n".join(sorted(seen))


def markdown(res, plot_rel):
    m = res["machine"]
    v = m["versions"]
    rounds = max((len(r) for r in res["rounds"].values()), default=0)
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `bench/run` on {res['date']} ({res['elapsed_s'] / 60:.1f} minutes; {rounds} rounds; "
        "cells are **median** (min–max)). Regenerate with `bench/run`; the figures are this machine's, with every "
        "peer measured in the same run.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_mb']:,} MB RAM, Linux {m['kernel']}.  ",
        f"Versions: {v['stratus']}; {v['redis-server']}; node {v['node']}, bullmq {v['bullmq']}; {v['nginx']}; {v['wrk']}.",
        "",
        "## Targets",
        "",
        table(["figure", "stratus", "peer (same run)", "ratio", "goal", "met"], targets(res)),
        "",
    ]
    if plot_rel:
        lines += [f"![throughput and latency]({plot_rel})", ""]
    if res.get("failures"):
        lines += ["Failed scenarios in this run: " + "; ".join(res["failures"]), ""]
    lines += ["## Details", "", detail_tables(res), "", "## Commands", "", "```", commands(res), "```", ""]
    hist = os.path.join(ROOT, "bench/history.md")
    if os.path.exists(hist):
        lines += [open(hist).read().rstrip(), ""]
    return "\n".join(lines)


def cdf(hist):
    total = sum(c for _, c in hist)
    xs, ys, acc = [], [], 0
    for upper, c in hist:
        acc += c
        xs.append(max(upper, 1e-3))
        ys.append(100.0 * acc / total if total else 0)
    return xs, ys


def plot(res, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    bars = [("stratus\nend to end", median(values(res, "e2e", "end_to_end_per_s"))),
            ("BullMQ\nno AOF", median(values(res, "bullmq", "no_aof.e2e.end_to_end_per_s"))),
            ("BullMQ\nAOF everysec", median(values(res, "bullmq", "aof_everysec.e2e.end_to_end_per_s"))),
            ("BullMQ concurrent\nAOF everysec", median(values(res, "bullmq", "aof_everysec.concurrent.end_to_end_per_s")))]
    axes[0].bar([b[0] for b in bars], [b[1] or 0 for b in bars], color=["#2b6cb0", "#c05621", "#dd6b20", "#ed8936"])
    axes[0].set_title("tasks/s, create → no-op → ack (median)")
    rb = [("REST GET\nembedded", median(values(res, "redis", "embedded_everysec.redis-get.per_s"))),
          ("REST SET\nembedded", median(values(res, "redis", "embedded_everysec.redis-set.per_s"))),
          ("REST GET\nproxy", median(values(res, "redis", "proxy.redis-get.per_s"))),
          ("redis-benchmark\nGET", median(values(res, "redis", "redis_benchmark.get"))),
          ("redis-benchmark\nSET", median(values(res, "redis", "redis_benchmark.set")))]
    axes[1].bar([b[0] for b in rb], [b[1] or 0 for b in rb], color=["#2b6cb0", "#2b6cb0", "#4299e1", "#a0aec0", "#a0aec0"])
    axes[1].set_title("Redis commands/s, 50 connections, unpipelined")
    ax = axes[2]
    for rate in res["sizes"]["create_rates"]:
        runs = res["rounds"].get("create", [])
        if runs and str(rate) in runs[0]:
            xs, ys = cdf(runs[0][str(rate)].get("latency_hist", []))
            ax.plot(xs, ys, label=f"create at {rate:,}/s")
    runs = res["rounds"].get("lateness", [])
    if runs:
        xs, ys = cdf(runs[0].get("lateness_hist", []))
        ax.plot(xs, ys, label="dispatch lateness at 1,000/s", linestyle="--")
    ax.set_xscale("log")
    ax.set_xlabel("ms")
    ax.set_ylabel("% of requests ≤ x")
    ax.set_title("latency distributions (round 1)")
    ax.legend(fontsize=8)
    for a in axes[:2]:
        a.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--markdown")
    ap.add_argument("--plot")
    a = ap.parse_args()
    with open(a.results) as f:
        res = json.load(f)
    if a.plot:
        plot(res, a.plot)
    if a.markdown:
        rel = os.path.relpath(a.plot, os.path.dirname(os.path.abspath(a.markdown))) if a.plot else None
        with open(a.markdown, "w") as f:
            f.write(markdown(res, rel))
        print(f"bench: wrote {a.markdown}")


if __name__ == "__main__":
    main()

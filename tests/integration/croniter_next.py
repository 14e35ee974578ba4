"""Next fire times from python3-croniter, for tests/integration/cron_differential_test.cc.

Reads one JSON object per line on stdin: {"e": expression, "z": tz name, "s": start (Unix
seconds), "n": how many}; writes one line per case: {"f": [Unix seconds, ...]} with the first n
fire times strictly after s, or {"err": "..."} when croniter gives up (a schedule that never
fires). Run with Debian's /usr/bin/python3, which has python3-croniter.
"""
import datetime
import json
import sys
import zoneinfo

from croniter import croniter


def main():
    zones = {}
    for line in sys.stdin:
        case = json.loads(line)
        zone = zones.setdefault(case["z"], zoneinfo.ZoneInfo(case["z"]))
        start = datetime.datetime.fromtimestamp(case["s"], tz=zone)
        try:
            it = croniter(case["e"], start)
            fires = [int(it.get_next(datetime.datetime).timestamp()) for _ in range(case["n"])]
            out = {"f": fires}
        except Exception as e:  # croniter's "failed to find next date" and any other refusal
            out = {"err": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()

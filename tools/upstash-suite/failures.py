#!/usr/bin/env python3
"""Lists the failed tests of a run.sh output directory (OUT/<mode>), one line each:
file, test name, the first line of its error. Usage: failures.py OUT/embedded"""
import os
import re
import sys

root = sys.argv[1]
for name in sorted(os.listdir(root)):
    if not name.endswith('.tap'):
        continue
    lines = open(os.path.join(root, name), errors='replace').read().splitlines()
    rel = name[:-4].replace('__', '/')
    for i, line in enumerate(lines):
        m = re.match(r'^(\s*)not ok \d+ - (.*)$', line)
        if not m:
            continue
        indent = m.group(1)
        err = ''
        for nxt in lines[i + 1:i + 40]:
            if re.match(r'^\s*(not )?ok \d+', nxt) or nxt.strip() == '...':
                break
            e = re.match(r"^\s*error: (.*)$", nxt)
            if e:
                err = e.group(1).strip()
                if err in ('|-', '>-', '|', '>'):
                    err = ''
                    continue
                break
            if err == '' and nxt.strip() and not re.match(r'^\s*(duration_ms|location|failureType|---)', nxt):
                err = nxt.strip()
        if "subtest" in err and "failed" in err:
            continue  # a describe block; its tests are listed
        print(f"{rel}\t{m.group(2)}\t{err[:200]}")

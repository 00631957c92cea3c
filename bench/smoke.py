#!/usr/bin/env python3
"""bench-smoke: runs bg96d-bench (with the arguments given) and checks that
it exits 0 and prints one well-formed JSON line per case in DESIGN.md 7's
shape.  No performance figure is checked."""
import json
import subprocess
import sys

KEYS = ["case", "baud", "bytes", "seconds", "goodput_Bps", "line_Bps",
        "ratio", "bg96d_cpu_s", "bg96d_rss_kib"]
# Cases that go through bg96d and must report its cost.
NEED = {"down-1x", "up-1x", "down-12x", "up-12x", "bidir-1x",
        "up-1x-lat20", "latency-64", "stall-12x"}


def main():
    cmd = [sys.executable] + sys.argv[1:]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    sys.stdout.write(p.stdout)
    recs = []
    for ln in p.stdout.splitlines():
        if not ln.startswith("{"):
            continue
        rec = json.loads(ln)
        keys = list(rec)[:len(KEYS)]
        if keys != KEYS:
            print("smoke: bad key order %r" % keys)
            return 1
        recs.append(rec)
    names = {r["case"] for r in recs}
    missing = NEED - names
    if missing:
        print("smoke: missing cases %s" % sorted(missing))
        return 1
    for r in recs:
        if r["case"] in NEED and (r["bg96d_cpu_s"] is None or
                                  r["bg96d_rss_kib"] is None):
            print("smoke: %s@%s has no bg96d cost" % (r["case"], r["baud"]))
            return 1
        if r["case"] in NEED and r["case"] != "stall-12x" and \
                not r["goodput_Bps"]:
            print("smoke: %s@%s has no goodput" % (r["case"], r["baud"]))
            return 1
        for k in ("jain", "per_conn_Bps") if r["case"].endswith("12x") \
                and r["case"] != "stall-12x" else ():
            if k not in r:
                print("smoke: %s@%s lacks %s" % (r["case"], r["baud"], k))
                return 1
    if p.returncode != 0:
        print("smoke: bg96d-bench exited %d" % p.returncode)
        return 1
    print("smoke: %d JSON lines OK" % len(recs))
    return 0


if __name__ == "__main__":
    sys.exit(main())

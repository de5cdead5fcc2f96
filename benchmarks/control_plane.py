#!/usr/bin/env python3
"""Control plane: what running the collection costs an operator.

For each lab inventory - the built-in lab (2 LB nodes, 3 backends) and the
wide lab (inventories/lab-wide: 3 LB nodes, 4 backends) - from nothing:
remove its containers, start them (lab/up.yml), converge with site.yml
(cold), then run site.yml again --reruns times with nothing to change: how
long each run takes and how many tasks it changed (target 0). Then, on the
built-in lab, a rolling upgrade of its 3 backends (rolling_upgrade.yml,
each backend's service restarted); the wide lab again with 50 pools of 20
servers (1,000) behind one frontend: cold converge and idempotent
re-runs; and the parse + render of 1,000 servers (benchmarks/render.py).

    python benchmarks/control_plane.py [--label NAME]   # after make setup
    python benchmarks/control_plane.py --only-capacity  # add only the 1,000 servers to the run labelled current

It removes and recreates both labs. Results go into
docs/results/control_plane.json under --label (other labels are kept, so
a run of an earlier commit's roles stays beside a run of the current
ones), then into the README (scripts/control_plane_table.py).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from statistics import median

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import control_plane_table  # noqa: E402
import render  # noqa: E402

INVENTORIES = {"lab": "inventories/lab", "lab-wide": "inventories/lab-wide"}
# Capacity: the wide lab's 3 LB nodes serving 50 pools of 20 servers each.
CAPACITY_POOLS, CAPACITY_SERVERS_PER_POOL = 50, 20
RESTART_BACKEND = os.path.join(ROOT, "benchmarks", "control_plane", "restart_backend.yml")
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def playbook(inventory: str, path: str, *extra: str) -> dict:
    """Run one playbook; its wall time, and its tasks changed over all hosts."""
    start = time.monotonic()
    run = subprocess.run(["ansible-playbook", "-i", inventory, path, *extra], capture_output=True, text=True,
                         cwd=ROOT)  # fmt: skip
    seconds = time.monotonic() - start
    hosts = RECAP.findall(run.stdout)
    if run.returncode or not hosts:
        sys.exit("%s on %s failed:\n%s" % (path, inventory, run.stdout[-4000:]))
    return {"seconds": round(seconds, 1), "changed": sum(int(h[2]) for h in hosts),
            "tasks_ok": sum(int(h[1]) for h in hosts), "hosts": len(hosts)}  # fmt: skip


def converge(name: str, inventory: str, reruns: int, *extra: str) -> dict:
    for step in ("lab/down.yml", "lab/up.yml"):
        playbook(inventory, step)
    cold = playbook(inventory, "playbooks/site.yml", *extra)
    print("%s: cold converge %.1f s, %d changed" % (name, cold["seconds"], cold["changed"]), flush=True)
    again = []
    for n in range(reruns):
        again.append(playbook(inventory, "playbooks/site.yml", *extra))
        print("%s: re-run %d %.1f s, %d changed" % (name, n + 1, again[-1]["seconds"], again[-1]["changed"]),
              flush=True)  # fmt: skip
    return {"cold": cold, "reruns": again, "rerun_median_s": round(median(r["seconds"] for r in again), 1),
            "rerun_max_changed": max(r["changed"] for r in again)}  # fmt: skip


def capacity_spec() -> dict:
    """An lb_spec of 50 pools x 20 servers on the wide lab's 4 backends: a
    pool's servers are each backend on ports 8080-8084, of which only 8080
    answers (one healthy server per pool is what the pre-deploy probe
    needs). One HTTP frontend routes /p1 ... /p49 to pools 1-49, the rest
    to pool 0."""
    pools = []
    for p in range(CAPACITY_POOLS):
        servers = [{"name": "s%d" % s, "address": "172.29.20.%d" % (21 + s % 4), "port": 8080 + s // 4}
                   for s in range(CAPACITY_SERVERS_PER_POOL)]  # fmt: skip
        pools.append({"name": "pool%d" % p, "strategy": "least_connections", "servers": servers})
    routes = [{"path_prefix": "/p%d" % p, "pool": "pool%d" % p} for p in range(1, CAPACITY_POOLS)]
    return {"lb_spec": {"pools": pools, "frontends": [{"name": "shop", "port": 80, "pool": "pool0", "routes": routes}]}}


def capacity(reruns: int) -> dict:
    """The wide lab from nothing with capacity_spec(): cold converge, then
    re-runs with nothing to change; each run validates the configs
    (haproxy -c) and probes every pool from every node."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as spec:
        json.dump(capacity_spec(), spec)
        spec.flush()
        figures = converge("capacity", INVENTORIES["lab-wide"], reruns, "-e", "@" + spec.name)
    figures.update(pools=CAPACITY_POOLS, servers=CAPACITY_POOLS * CAPACITY_SERVERS_PER_POOL)
    return figures


def commit() -> str:
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    dirty = subprocess.run(["git", "status", "--porcelain", "roles", "playbooks", "plugins"], capture_output=True,
                           text=True, cwd=ROOT)  # fmt: skip
    return head.stdout.strip() + (" with uncommitted changes" if dirty.stdout.strip() else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--label", default="current", help="name of this run in the results file (default: current)")
    parser.add_argument("--reruns", type=int, default=3, help="idempotent re-runs per inventory")
    parser.add_argument("--inventories", nargs="+", default=list(INVENTORIES), choices=list(INVENTORIES))
    parser.add_argument("--only-capacity", action="store_true",
                        help="run only the 1,000-server converge and add it to --label's committed result")  # fmt: skip
    args = parser.parse_args()

    data = {"labels": {}}
    if os.path.exists(control_plane_table.RESULTS_FILE):
        with open(control_plane_table.RESULTS_FILE, encoding="utf-8") as handle:
            data = json.load(handle)
    if args.only_capacity:
        if args.label not in data["labels"]:
            sys.exit("--only-capacity adds to a committed run: no run labelled %r in %s"
                     % (args.label, control_plane_table.RESULTS_FILE))  # fmt: skip
        data["labels"][args.label]["capacity"] = dict(capacity(args.reruns), commit=commit())
        playbook(INVENTORIES["lab-wide"], "lab/down.yml")
        return write(data)

    result = {"commit": commit(), "cores": os.cpu_count(), "inventories": {}}
    for name in args.inventories:
        result["inventories"][name] = converge(name, INVENTORIES[name], args.reruns)
    if "lab" in args.inventories:
        rolling = playbook(INVENTORIES["lab"], "playbooks/rolling_upgrade.yml",
                           "-e", "rolling_upgrade_tasks=" + RESTART_BACKEND)  # fmt: skip
        result["rolling_upgrade"] = dict(rolling, backends=3)
        print("lab: rolling upgrade of 3 backends %.1f s" % rolling["seconds"], flush=True)
    result["capacity"] = dict(capacity(args.reruns), commit=result["commit"])
    playbook(INVENTORIES["lab-wide"], "lab/down.yml")  # the wide lab is only for this benchmark
    result["render"] = render.measure()
    data["labels"][args.label] = result
    return write(data)


def write(data: dict) -> int:
    with open(control_plane_table.RESULTS_FILE, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)
    print("written: %s" % control_plane_table.RESULTS_FILE)
    return control_plane_table.main([])


if __name__ == "__main__":
    sys.exit(main())

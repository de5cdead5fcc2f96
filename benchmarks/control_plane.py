#!/usr/bin/env python3
"""Control plane: what running the collection costs an operator.

For each lab inventory - the built-in lab (2 LB nodes, 3 backends) and the
wide lab (inventories/lab-wide: 3 LB nodes, 4 backends) - from nothing:
remove its containers, start them (lab/up.yml), converge with site.yml
(cold), then run site.yml again --reruns times with nothing to change: how
long each run takes and how many tasks it changed (target 0). Then, on the
built-in lab, a rolling upgrade of its 3 backends (rolling_upgrade.yml,
each backend's service restarted), and the parse + render of 1,000
servers (benchmarks/render.py).

    python benchmarks/control_plane.py [--label NAME]   # after make setup

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
import time
from statistics import median

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import control_plane_table  # noqa: E402
import render  # noqa: E402

INVENTORIES = {"lab": "inventories/lab", "lab-wide": "inventories/lab-wide"}
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


def converge(name: str, inventory: str, reruns: int) -> dict:
    for step in ("lab/down.yml", "lab/up.yml"):
        playbook(inventory, step)
    cold = playbook(inventory, "playbooks/site.yml")
    print("%s: cold converge %.1f s, %d changed" % (name, cold["seconds"], cold["changed"]), flush=True)
    again = []
    for n in range(reruns):
        again.append(playbook(inventory, "playbooks/site.yml"))
        print("%s: re-run %d %.1f s, %d changed" % (name, n + 1, again[-1]["seconds"], again[-1]["changed"]),
              flush=True)  # fmt: skip
    return {"cold": cold, "reruns": again, "rerun_median_s": round(median(r["seconds"] for r in again), 1),
            "rerun_max_changed": max(r["changed"] for r in again)}  # fmt: skip


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
    args = parser.parse_args()

    result = {"commit": commit(), "cores": os.cpu_count(), "inventories": {}}
    for name in args.inventories:
        result["inventories"][name] = converge(name, INVENTORIES[name], args.reruns)
    if "lab" in args.inventories:
        rolling = playbook(INVENTORIES["lab"], "playbooks/rolling_upgrade.yml",
                           "-e", "rolling_upgrade_tasks=" + RESTART_BACKEND)  # fmt: skip
        result["rolling_upgrade"] = dict(rolling, backends=3)
        print("lab: rolling upgrade of 3 backends %.1f s" % rolling["seconds"], flush=True)
    playbook(INVENTORIES["lab-wide"], "lab/down.yml")  # the wide lab is only for this benchmark
    result["render"] = render.measure()

    data = {"labels": {}}
    if os.path.exists(control_plane_table.RESULTS_FILE):
        with open(control_plane_table.RESULTS_FILE, encoding="utf-8") as handle:
            data = json.load(handle)
    data["labels"][args.label] = result
    with open(control_plane_table.RESULTS_FILE, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)
    print("written: %s" % control_plane_table.RESULTS_FILE)
    return control_plane_table.main([])


if __name__ == "__main__":
    sys.exit(main())

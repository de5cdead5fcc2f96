#!/usr/bin/env python3
"""Hard-kill the MASTER container again and again and report the spread.

First, a saturating load (wrk, 64 connections) through the VIP for 60 s
must move no VIP: the lab's fast adverts must not starve on a busy box.
Then each run: the high-priority node holds the VIP, a client polls the VIP
every 20 ms, `docker kill` stops the MASTER dead (no clean VRRP hand-over),
and the outage is the longest time between two answers. The container is
started again and takes the VIP back before the next run. Every loop is
bounded; all traffic goes to the lab's VIP on the lab's own Docker bridge.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from demo import measure

from halblab import lab, vrrp, wrk


def rejoin(lbs: list[str], vip: str, master: str, timeout: float = 90.0) -> None:
    """Start the killed container and wait until it holds the VIP again."""
    lab.docker("start", master)
    deadline = time.monotonic() + timeout
    while lab.owners(lbs, vip) != [master]:
        if time.monotonic() > deadline:
            raise SystemExit(f"{master} did not take the VIP back within {timeout:.0f} s")
        time.sleep(0.2)
    time.sleep(3.0)  # let its engine and track scripts settle before the next kill


def saturate(lbs: list[str], vip: str, port: int, master: str, seconds: int) -> dict:
    """wrk through the VIP for `seconds`; count VRRP state changes and VIP moves."""
    since = int(time.time()) - 1
    load = wrk.run(vip, port, "/orders", seconds=seconds, connections=64)
    loadavg = float(lab.docker("exec", master, "cat", "/proc/loadavg").split()[0])
    log = ["journalctl", "-u", "keepalived", "--no-pager", "-o", "cat", "--since", "@%d" % since]
    transitions = {lb: vrrp.state_changes(lab.docker("exec", lb, *log)) for lb in lbs}
    result = {
        "seconds": seconds,
        "connections": 64,
        "requests": load["requests"],
        "rps": load["rps"],
        "errors": load["errors"] + load["non_2xx"],
        "loadavg": loadavg,
        "vip_moves": vrrp.vip_moves(transitions, master),
        "vrrp_transitions": sum(len(lines) for lines in transitions.values()),
        "vrrp_state_changes": transitions,
    }
    print(
        "saturating load, %d s x 64 connections: %d requests (%.0f/s), load average %.1f; VIP moves %d, "
        "VRRP state changes %s" % (seconds, load["requests"], load["rps"], loadavg, result["vip_moves"], transitions)
    )
    return result


def vrrp_scheduling(container: str) -> str:
    """How the kernel schedules keepalived's VRRP process (its newest), e.g. "SCHED_RR 50"."""
    script = 'pid=$(pidof -s keepalived) && chrt -p "$pid"'
    out = lab.docker("exec", container, "sh", "-c", script)
    policy = out.splitlines()[0].rsplit(": ", 1)[1].split("|")[0]
    return "%s %s" % (policy, out.splitlines()[1].rsplit(": ", 1)[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", default="inventories/lab")
    parser.add_argument("--runs", type=int, default=10, choices=range(1, 21), metavar="1..20")
    parser.add_argument("--saturate", type=int, default=60, choices=range(0, 121), metavar="0..120",
                        help="seconds of saturating load before the kills (0: none)")  # fmt: skip
    args = parser.parse_args()

    inv = lab.inventory(args.inventory)
    lbs = inv["groups"]["lb"]
    first = inv["hostvars"][lbs[0]]
    vip, port = first["keepalived_vip"], int(first.get("lb_frontend_port", 80))
    master = max(lbs, key=lambda name: int(inv["hostvars"][name]["keepalived_priority"]))
    saturated = None
    if args.saturate:
        if lab.wait_single_owner(lbs, vip, timeout=60) != master:
            raise SystemExit(f"{master} should hold the VIP before the saturating load")
        saturated = saturate(lbs, vip, port, master, args.saturate)
    runs = []
    for run in range(1, args.runs + 1):
        if lab.wait_single_owner(lbs, vip, timeout=60) != master:
            raise SystemExit(f"run {run}: {master} should hold the VIP before the kill")
        poller = measure(vip, port, lambda: lab.docker("kill", master))
        summary = {"new_owner": lab.wait_single_owner(lbs, vip), **poller.summary()}
        runs.append(summary)
        print(
            f"run {run:2d}: outage {summary['outage_ms']:6.1f} ms, {summary['failed']} of {summary['requests']} failed"
        )
        rejoin(lbs, vip, master)
    outages = [r["outage_ms"] for r in runs]
    result = {
        "engine": first.get("lb_engine", "haproxy"),
        "image": inv["hostvars"][lbs[0]].get("lab_image", ""),
        "advert_int": first.get("keepalived_advert_int"),
        "vrrp_scheduling": {lb: vrrp_scheduling(lb) for lb in lbs},
        "runs": runs,
        "outage_ms": {"min": min(outages), "median": statistics.median(outages), "max": max(outages)},
        "failed": sum(r["failed"] for r in runs),
        "requests": sum(r["requests"] for r in runs),
        "saturating_load": saturated,
    }
    print("outage over %d kills: min %.0f ms, median %.0f ms, max %.0f ms" % (len(runs), *result["outage_ms"].values()))
    state = os.environ.get("HALB_STATE_DIR", ".state")
    os.makedirs(state, exist_ok=True)
    path = os.path.join(state, "lab-kill-drills.json")
    with open(path, "w") as handle:
        json.dump(result, handle, indent=2)
    print(f"figures written to {path}")
    if saturated and saturated["vip_moves"]:
        print("FAIL: the saturating load moved the VIP %d times" % saturated["vip_moves"])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

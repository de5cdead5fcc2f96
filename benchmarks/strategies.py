#!/usr/bin/env python3
"""Strategies under a slow backend, on the lab: round robin, least
connections and fastest response, for each engine.

For every engine x strategy: deploy the lab with it (site.yml), load the VIP
with a bounded closed-loop client (keep-alive connections), slow one backend
by +50 ms after a warm-up (the demo backend's delay file), heal it, and
measure: p50/p95/p99 before / while / after, each backend's share per 5 s
window, how long until the slow backend's share falls below 5 %, and how
long until it is back to a fair share. Prints a table, writes
benchmarks/results/strategies.json and a plot (strategies.png).

    python benchmarks/strategies.py            # needs the lab: make lab-up
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lab"))

from halblab import lab, load  # noqa: E402

RESULTS = os.path.join(ROOT, "benchmarks", "results")


def set_delay(container: str, ms: int) -> None:
    subprocess.run(
        ["docker", "exec", container, "sh", "-c", "echo %d > /etc/halb-demo-backend/delay_ms" % ms], check=True
    )


def deploy(inventory: str, engine: str, strategy: str) -> None:
    cmd = ["ansible-playbook", "-i", inventory, os.path.join(ROOT, "playbooks", "site.yml"),
           "-e", "lb_engine=%s" % engine, "-e", "lb_strategy=%s" % strategy]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if run.returncode:
        sys.exit("deploy %s/%s failed:\n%s" % (engine, strategy, run.stdout[-3000:]))


def phase(records, start, end):
    ms = [r.ms for r in records if start <= r.start < end and r.backend]
    failed = sum(1 for r in records if start <= r.start < end and not r.backend)
    if not ms:
        return {"requests": 0, "failed": failed}
    return {
        "requests": len(ms),
        "failed": failed,
        "p50_ms": round(load.percentile(ms, 50), 2),
        "p95_ms": round(load.percentile(ms, 95), 2),
        "p99_ms": round(load.percentile(ms, 99), 2),
    }


def first_time(windows, since, predicate, hold=3):
    """Seconds from `since` to the first 1 s window where predicate holds
    for `hold` windows in a row; None if never."""
    run = 0
    for t, share in windows:
        if t < since:
            continue
        run = run + 1 if predicate(share) else 0
        if run == hold:
            return round(t - (hold - 1) - since, 1)
    return None


def measure(args, backends, slow, vip):
    set_delay(slow, 0)
    time.sleep(2)
    heal_at = args.warm + args.slow
    records = load.run(
        vip, 80, "/products", args.warm + args.slow + args.heal, workers=args.workers,
        events=[(args.warm, lambda: set_delay(slow, args.slow_ms)), (heal_at, lambda: set_delay(slow, 0))],
    )  # fmt: skip
    set_delay(slow, 0)
    fair = 1.0 / len(backends)
    per_second = load.shares(records, backends, 1.0)
    return {
        "before": phase(records, 2, args.warm),
        "while": phase(records, args.warm, heal_at),
        "after": phase(records, heal_at, heal_at + args.heal),
        "slow_share_below_5pct_s": first_time(per_second, args.warm, lambda s: s[slow] < 0.05),
        "back_to_fair_share_s": first_time(per_second, heal_at, lambda s: s[slow] >= 0.8 * fair),
        "shares_5s": [
            {"t": t, **{b: round(s[b], 3) for b in backends}} for t, s in load.shares(records, backends, 5.0)
        ],
        "shares_1s": [{"t": t, **{b: round(s[b], 3) for b in backends}} for t, s in per_second],
        "rps": round(len(records) / (args.warm + args.slow + args.heal), 1),
    }


def plot(results, backends, slow, args, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(results)
    fig, axes = plt.subplots(len(keys), 1, figsize=(9, 2.1 * len(keys)), sharex=True, squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        series = results[key]["shares_1s"]
        for b in backends:
            ax.plot(
                [p["t"] for p in series], [100 * p[b] for p in series], label=b + (" (slowed)" if b == slow else "")
            )
        ax.axvspan(args.warm, args.warm + args.slow, color="orange", alpha=0.15)
        ax.set_ylim(0, 100)
        ax.set_ylabel("% requests")
        ax.set_title(key, fontsize=9, loc="left")
    axes[0, 0].legend(fontsize=7, loc="upper right")
    axes[-1, 0].set_xlabel("seconds (shaded: %s slowed by +%d ms)" % (slow, args.slow_ms))
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inventory", default=os.path.join(ROOT, "inventories", "lab"))
    parser.add_argument("--engines", nargs="+", default=["haproxy", "nginx"])
    parser.add_argument("--strategies", nargs="+", default=["round_robin", "least_connections", "fastest_response"])
    parser.add_argument("--warm", type=int, default=15)
    parser.add_argument("--slow", type=int, default=25)
    parser.add_argument("--heal", type=int, default=35)
    parser.add_argument("--slow-ms", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    inv = lab.inventory(args.inventory)
    backends = inv["groups"]["backends"]
    slow = backends[0]
    vip = inv["hostvars"][inv["groups"]["lb"][0]]["keepalived_vip"]
    results = {}
    print("%-26s %7s | %-20s | %-20s | %-20s | %8s %8s" % (
        "engine / strategy", "req/s", "p50/p95/p99 before", "while slow", "after", "<5% in", "fair in"))  # fmt: skip
    for engine in args.engines:
        for strategy in args.strategies:
            deploy(args.inventory, engine, strategy)
            key = "%s / %s" % (engine, strategy)
            res = results[key] = measure(args, backends, slow, vip)

            def cell(p):
                return "%.1f/%.1f/%.1f" % (p["p50_ms"], p["p95_ms"], p["p99_ms"]) if p.get("requests") else "-"

            print("%-26s %7.0f | %-20s | %-20s | %-20s | %8s %8s" % (
                key, res["rps"], cell(res["before"]), cell(res["while"]), cell(res["after"]),
                "%ss" % res["slow_share_below_5pct_s"] if res["slow_share_below_5pct_s"] is not None else "never",
                "%ss" % res["back_to_fair_share_s"] if res["back_to_fair_share_s"] is not None else "never"),
                flush=True)  # fmt: skip
    os.makedirs(RESULTS, exist_ok=True)
    settings = {k: getattr(args, k) for k in ("warm", "slow", "heal", "slow_ms", "workers")}
    with open(os.path.join(RESULTS, "strategies.json"), "w") as handle:
        json.dump({"settings": settings, "slowed": slow, "results": results}, handle, indent=1)
    plot(results, backends, slow, args, os.path.join(RESULTS, "strategies.png"))
    print("written: benchmarks/results/strategies.json, benchmarks/results/strategies.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())

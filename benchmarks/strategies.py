#!/usr/bin/env python3
"""Strategies under a slow backend, on the lab: round robin, least
connections and fastest response, for each engine.

For every engine x strategy: deploy the lab with it (site.yml), load the VIP
with wrk (keep-alive connections, bounded in time), slow one backend by
+50 ms after a warm-up (the demo backend's delay file), heal it, and
measure: p50/p95/p99 before / while / after (wrk's own histogram, one wrk
run per phase), each backend's share per second (a wrk Lua script counts
X-Backend), how long until the slow backend's share falls below 5 % and
how long until it is back to 80 % of a fair share. round_robin and
fastest_response run at every --connections count, least_connections at
the first. Writes docs/results/strategies.json and strategies.png, then
the README's table from them (scripts/strategies_table.py).

    python benchmarks/strategies.py            # needs the lab: make lab-up
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lab"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import strategies_table  # noqa: E402

from halblab import cpu, lab, wrk  # noqa: E402

# Strategies measured at every connection count; the others at the first.
WIDE = ("round_robin", "fastest_response")
HOLD_S = strategies_table.HOLD_S


def set_delay(container: str, ms: int) -> None:
    subprocess.run(
        ["docker", "exec", container, "sh", "-c", "echo %d > /etc/halb-demo-backend/delay_ms" % ms], check=True
    )


def deploy(inventory: str, engine: str, strategy: str, extra_vars: str | None = None) -> None:
    cmd = ["ansible-playbook", "-i", inventory, os.path.join(ROOT, "playbooks", "site.yml"),
           "-e", "lb_engine=%s" % engine, "-e", "lb_strategy=%s" % strategy]  # fmt: skip
    if extra_vars:
        cmd += ["-e", "@" + extra_vars]
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if run.returncode:
        sys.exit("deploy %s/%s failed:\n%s" % (engine, strategy, run.stdout[-3000:]))


def side_by_side_port(strategies, strategy) -> int:
    """The port side_by_side_spec serves strategy on."""
    return 80 + list(strategies).index(strategy)


def without_slowed_port(strategies) -> int:
    """The port side_by_side_spec serves fastest_response on without the
    backend the benchmark slows: the next one after the strategies'."""
    return 80 + len(strategies)


def side_by_side_spec(hostvars: dict, strategies, slowed_address: str) -> dict:
    """An lb_spec serving the lab's backends once per strategy, each on its
    own port (80, 81, ...), all in one engine process: the healthy
    comparison then alternates between them, so the drift of this machine
    between runs (more than 10 %) does not enter the ratios. One more port
    serves fastest_response on the other backends alone: the p99 a client
    would see if the slowed backend were out of the pool altogether, which
    no balancer that keeps it out does better than."""
    health = {k: hostvars["lb_health_check_" + k] for k in ("interval", "fall", "rise")}
    servers = hostvars["lb_backend_servers"]
    pools = [(strategy, "ab_" + strategy, side_by_side_port(strategies, strategy), servers) for strategy in strategies]
    others = [server for server in servers if server["address"] != slowed_address]
    pools.append(("fastest_response", "ab_without_slowed", without_slowed_port(strategies), others))
    spec = {"pools": [], "frontends": []}
    for strategy, name, port, members in pools:
        spec["pools"].append({"name": name, "strategy": strategy, "servers": members, "health_check": health})
        spec["frontends"].append({"name": name, "port": port, "pool": name})
    return {"lb_spec": spec}


def cpu_group(lbs, backends):
    """Which part of the lab a (container, command) is, for CPU per request."""

    def group(key):
        container, command = key
        if container in backends:
            return "backends"
        if container in lbs:
            if command in ("haproxy", "nginx"):
                return "engine"
            return "journald" if command == "systemd-journal" else "lb other"
        return None

    return group


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def side_by_side_run(vip, port, seconds, connections, ids, group) -> dict:
    before, wrk_before = cpu.snapshot(ids), children_cpu_s()
    result = wrk.run_shares(vip, port, "/products", seconds, connections, time.time())
    after, wrk_after = cpu.snapshot(ids), children_cpu_s()
    figures = {k: result[k] for k in ("requests", "errors", "non_2xx", "rps", "p50_ms", "p99_ms")}
    figures["cpu_us_per_request"] = cpu.per_request_us(before, after, result["requests"], group)
    figures["cpu_us_per_request"]["wrk"] = round((wrk_after - wrk_before) * 1e6 / max(result["requests"], 1), 1)
    return figures


def side_by_side(args, vip, ids, group, strategies, connections) -> dict:
    """Healthy req/s, p99 and CPU per request of each strategy, in
    args.rounds rounds that each run every strategy once for args.ab
    seconds (the order turns each round), and each strategy's median ratio
    to round robin over the rounds."""
    rounds, without_slowed = [], []
    for n in range(args.rounds):
        order = strategies[n % len(strategies) :] + strategies[: n % len(strategies)]
        rounds.append({s: side_by_side_run(vip, side_by_side_port(strategies, s), args.ab, connections, ids, group)
                       for s in order})  # fmt: skip
        without_slowed.append(side_by_side_run(vip, without_slowed_port(strategies), args.ab, connections, ids, group))

    def median_ratio(strategy, figure):
        return round(statistics.median(figure(r[strategy]) / figure(r["round_robin"]) for r in rounds), 3)

    ratios = {
        s: {
            "rps": median_ratio(s, lambda run: run["rps"]),
            "p99": median_ratio(s, lambda run: run["p99_ms"]),
            "engine_cpu": median_ratio(s, lambda run: run["cpu_us_per_request"]["engine"]),
        }
        for s in strategies
        if s != "round_robin"
    }
    result = {"connections": connections, "rounds": rounds, "of_round_robin": ratios,
              "without_slowed": without_slowed}  # fmt: skip
    if "fastest_response" in strategies:
        # The p99 of the backends left, against all of them healthy: what
        # losing the slowed backend's capacity costs at this concurrency.
        p99s = [alone["p99_ms"] / r["fastest_response"]["p99_ms"] for alone, r in zip(without_slowed, rounds)]
        result["without_slowed_p99_of_healthy"] = round(statistics.median(p99s), 3)
    return result


def seconds_windows(buckets, backends, end_s):
    """[(t, {backend: share})] for each whole second from 0 to end_s."""
    out = []
    for t in range(int(end_s)):
        counts = {}
        for bucket in range(t * 10, t * 10 + 10):
            for backend, n in buckets.get(bucket, {}).items():
                counts[backend] = counts.get(backend, 0) + n
        total = sum(counts.values()) or 1
        out.append((t, {b: counts.get(b, 0) / total for b in backends}))
    return out


def first_time(windows, since, until, predicate):
    """Seconds from `since` to the first 1 s window from which predicate
    holds for HOLD_S windows in a row, before `until`; None if never."""
    run = 0
    for t, share in windows:
        if t < since or t >= until:
            continue
        run = run + 1 if predicate(share) else 0
        if run == HOLD_S:
            return round(t - (HOLD_S - 1) - since, 1)
    return None


def phase(result):
    keep = ("requests", "errors", "non_2xx", "rps", "p50_ms", "p95_ms", "p99_ms", "wrk_p99_ms")
    return {k: result[k] for k in keep}


def measure(args, backends, slow, vip, connections):
    set_delay(slow, 0)
    time.sleep(2)
    origin = time.time()
    before = wrk.run_shares(vip, 80, "/products", args.warm, connections, origin)
    set_delay(slow, args.slow_ms)
    slow_at = time.time() - origin
    during = wrk.run_shares(vip, 80, "/products", args.slow, connections, origin)
    set_delay(slow, 0)
    heal_at = time.time() - origin
    after = wrk.run_shares(vip, 80, "/products", args.heal, connections, origin)
    end = time.time() - origin
    buckets = {}
    for part in (before, during, after):
        for bucket, counts in part["buckets"].items():
            merged = buckets.setdefault(bucket, {})
            for backend, n in counts.items():
                merged[backend] = merged.get(backend, 0) + n
    windows = seconds_windows(buckets, backends, end)
    fair = 1.0 / len(backends)
    # Whole seconds: the windows start on whole seconds after the origin.
    slow_from, heal_from = int(slow_at + 0.999), int(heal_at + 0.999)
    return {
        "connections": connections,
        "slow_at_s": round(slow_at, 2),
        "heal_at_s": round(heal_at, 2),
        "before": phase(before),
        "while": phase(during),
        "after": phase(after),
        "slow_share_below_5pct_s": first_time(windows, slow_from, heal_from, lambda s: s[slow] < 0.05),
        "back_to_fair_share_s": first_time(windows, heal_from, end, lambda s: s[slow] >= 0.8 * fair),
        "shares_1s": [{"t": t, **{b: round(s[b], 3) for b in backends}} for t, s in windows],
    }


def plot(results, backends, slow, args, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k, r in results.items() if r["connections"] == args.connections[0]]
    fig, axes = plt.subplots(len(keys), 1, figsize=(9, 2.1 * len(keys)), sharex=True, squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        series = results[key]["shares_1s"]
        for b in backends:
            ax.plot(
                [p["t"] for p in series], [100 * p[b] for p in series], label=b + (" (slowed)" if b == slow else "")
            )
        ax.axvspan(results[key]["slow_at_s"], results[key]["heal_at_s"], color="orange", alpha=0.15)
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
    parser.add_argument("--connections", nargs="+", type=int, default=[4, 16, 64])
    parser.add_argument("--warm", type=int, default=15)
    parser.add_argument("--slow", type=int, default=25)
    parser.add_argument("--heal", type=int, default=20)
    parser.add_argument("--slow-ms", type=int, default=50)
    parser.add_argument("--ab", type=int, default=8, help="seconds of each side-by-side healthy run")
    parser.add_argument("--rounds", type=int, default=3, help="side-by-side rounds per connection count")
    args = parser.parse_args()

    inv = lab.inventory(args.inventory)
    backends = inv["groups"]["backends"]
    slow = backends[0]
    vip = inv["hostvars"][inv["groups"]["lb"][0]]["keepalived_vip"]
    lbs = inv["groups"]["lb"]
    ids, group = cpu.container_ids(lbs + backends), cpu_group(lbs, backends)
    results, healthy = {}, {}
    for engine in args.engines:
        for strategy in args.strategies:
            deploy(args.inventory, engine, strategy)
            for connections in args.connections if strategy in WIDE else args.connections[:1]:
                key = strategies_table.key(engine, strategy, connections)
                results[key] = measure(args, backends, slow, vip, connections)
                print(strategies_table.row(key, results[key]), flush=True)
        with tempfile.NamedTemporaryFile("w", suffix=".json") as spec:
            slowed_address = inv["hostvars"][slow]["lab_ip"]
            json.dump(side_by_side_spec(inv["hostvars"][lbs[0]], args.strategies, slowed_address), spec)
            spec.flush()
            deploy(args.inventory, engine, "round_robin", spec.name)
        for connections in args.connections:
            name = strategies_table.side_by_side_key(engine, connections)
            healthy[name] = side_by_side(args, vip, ids, group, args.strategies, connections)
            print(name, json.dumps(healthy[name]["of_round_robin"]), flush=True)
    os.makedirs(strategies_table.RESULTS, exist_ok=True)
    settings = {k: getattr(args, k) for k in ("warm", "slow", "heal", "slow_ms", "connections", "ab", "rounds")}
    settings["load"] = "wrk, 2 threads, keep-alive, GET /products through the VIP"
    with open(strategies_table.RESULTS_FILE, "w") as handle:
        json.dump({"settings": settings, "slowed": slow, "results": results, "healthy": healthy}, handle, indent=1)
    plot(results, backends, slow, args, strategies_table.PLOT_FILE)
    print("written: %s, %s" % (strategies_table.RESULTS_FILE, strategies_table.PLOT_FILE))
    return strategies_table.main([])


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""How long parse + render take for a large spec: 50 pools, 1,000 servers.

Prints the figures; benchmarks/control_plane.py records them in
docs/results/control_plane.json, with the playbook timings, for the README.
Target (issue 3): under 1 s per engine. This measures; it does not assert.
"""

import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".state", "collections"))

from ansible_collections.halb.loadbalancer.plugins.module_utils import (  # noqa: E402
    lb_spec,
    render_haproxy,
    render_nginx,
)

POOLS, SERVERS_PER_POOL, RUNS = 50, 20, 5


def big_spec():
    pools = []
    for p in range(POOLS):
        servers = [
            {
                "name": "s%d" % s,
                "address": "10.%d.%d.%d" % (p, s // 250, s % 250 + 1),
                "port": 8080,
                "weight": 1 + s % 5,
            }
            for s in range(SERVERS_PER_POOL)
        ]
        pools.append({"name": "pool%d" % p, "strategy": "least_connections", "servers": servers})
    frontends = [{"name": "fe%d" % p, "port": 10000 + p, "pool": "pool%d" % p} for p in range(POOLS)]
    return {"pools": pools, "frontends": frontends}


def measure() -> dict:
    """Median and worst parse + render time of big_spec() for each engine."""
    data = big_spec()
    results = {"pools": POOLS, "servers": POOLS * SERVERS_PER_POOL, "runs": RUNS}
    for engine, render in (("haproxy", render_haproxy.render), ("nginx", render_nginx.render)):
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            text = render(lb_spec.parse(data, engine))
            times.append(time.perf_counter() - start)
        results[engine] = {
            "median_ms": round(statistics.median(times) * 1000, 1),
            "max_ms": round(max(times) * 1000, 1),
            "config_bytes": len(text),
        }
    return results


def main():
    results = measure()
    for engine in ("haproxy", "nginx"):
        print("%-7s parse+render of %d servers in %d pools: median %.1f ms, max %.1f ms (%d bytes)"
              % (engine, results["servers"], results["pools"], results[engine]["median_ms"],
                 results[engine]["max_ms"], results[engine]["config_bytes"]))  # fmt: skip
    print("benchmarks/control_plane.py records these figures with the playbook timings for the README")


if __name__ == "__main__":
    main()

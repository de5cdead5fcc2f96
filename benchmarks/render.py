#!/usr/bin/env python3
"""How long parse + render take for a large spec: 50 pools, 1,000 servers.

Prints the figures and writes them to benchmarks/results/render.json.
Target (issue 3): under 1 s per engine. This measures; it does not assert.
"""

import json
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


def main():
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
        print(
            "%-7s parse+render of %d servers in %d pools: median %.1f ms, max %.1f ms (%d bytes)"
            % (
                engine,
                POOLS * SERVERS_PER_POOL,
                POOLS,
                results[engine]["median_ms"],
                results[engine]["max_ms"],
                len(text),
            )
        )
    out = os.path.join(ROOT, "benchmarks", "results", "render.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as handle:
        json.dump(results, handle, indent=2)
    print("written to %s" % out)


if __name__ == "__main__":
    main()

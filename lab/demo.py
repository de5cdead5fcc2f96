#!/usr/bin/env python3
"""The lab demo: requests through the VIP, then a MASTER failure, measured.

Every request goes to the lab's VIP, an address on the lab's own Docker
bridge; every polling loop is bounded in time and count.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from halblab import lab
from halblab.probe import Poller, recovered_after


def get(vip: str, port: int, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection(vip, port, timeout=2)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("X-Backend") or "?"
    finally:
        conn.close()


def measure(vip: str, port: int, action, settle: float = 1.0, timeout: float = 20.0) -> Poller:
    """Poll every 20 ms, run action(), stop once answers flow again."""
    poller = Poller(vip, port, path="/products", max_seconds=timeout + 5).start()
    time.sleep(1.0)  # a baseline before the failure
    t0 = time.monotonic()
    action()
    poller.wait_for(recovered_after(t0, settle), timeout)
    return poller.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inventory", default="inventories/lab")
    parser.add_argument("--requests", type=int, default=9)
    args = parser.parse_args()

    inv = lab.inventory(args.inventory)
    lbs = inv["groups"]["lb"]
    first = inv["hostvars"][lbs[0]]
    vip, port = first["keepalived_vip"], int(first.get("lb_frontend_port", 80))
    result: dict = {"vip": vip, "port": port}

    master = lab.wait_single_owner(lbs, vip)
    print(f"\nVIP {vip} is held by {master}. {args.requests} requests through it:")
    answers = []
    for i, path in zip(range(args.requests), ["/products", "/orders", "/payments"] * args.requests):
        status, backend = get(vip, port, path)
        answers.append(backend)
        print(f"  {i + 1:2d}. GET {path:<10} -> {status} from {backend}")
    result["backends_seen"] = sorted(set(answers))

    print(f"\nKilling the MASTER container {master} (docker kill: no clean VRRP hand-over) ...")
    poller = measure(vip, port, lambda: lab.docker("kill", master))
    new_owner = lab.wait_single_owner(lbs, vip)
    result["kill_master"] = {"old": master, "new": new_owner, **poller.summary()}
    print(
        f"  client outage: {poller.outage_ms():.0f} ms "
        f"({poller.failed} of {len(poller.samples)} requests failed, polling every 20 ms)"
    )
    print(f"  VIP {vip} is now held by {new_owner}")

    print(f"\nStarting {master} again; it rejoins and takes the VIP back (higher priority) ...")

    def restart():
        lab.docker("start", master)
        deadline = time.monotonic() + 60
        while lab.owners(lbs, vip) != [master] and time.monotonic() < deadline:
            time.sleep(0.1)

    poller = measure(vip, port, restart, timeout=40.0)
    owner = lab.wait_single_owner(lbs, vip)
    result["rejoin"] = {"owner": owner, **poller.summary()}
    print(f"  client outage during the hand-back: {poller.outage_ms():.0f} ms ({poller.failed} failed)")
    print(f"  VIP {vip} is held by {owner}")

    state = os.environ.get("HALB_STATE_DIR", ".state")
    os.makedirs(state, exist_ok=True)
    with open(os.path.join(state, "demo-result.json"), "w") as handle:
        json.dump(result, handle, indent=2)
    print(f"\nFigures written to {os.path.join(state, 'demo-result.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

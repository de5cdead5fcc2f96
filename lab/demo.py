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

# (Host header, path) the demo asks for: each lands in the pool of the
# first routing rule it matches (inventories/lab/group_vars/lb.yml).
SHOP_REQUESTS = [
    ("shop.lab", "/products"),
    ("shop.lab", "/orders/7"),
    ("shop.lab", "/payments"),
    ("shop.lab", "/cart"),
    ("api.shop.lab", "/products"),
    ("img.cdn.shop.lab", "/products/kettle.png"),
    ("shop.lab", "/"),
]


def get(vip: str, port: int, path: str, host: str = "shop.lab", cookie: str = "") -> dict:
    """One GET through the VIP: status, the backend and service that
    answered, and the cookie it set."""
    conn = http.client.HTTPConnection(vip, port, timeout=2)
    try:
        conn.request("GET", path, headers=dict({"Host": host}, **({"Cookie": cookie} if cookie else {})))
        resp = conn.getresponse()
        resp.read()
        return {
            "status": resp.status,
            "backend": resp.getheader("X-Backend") or "?",
            "service": resp.getheader("X-Service") or "main",
            "cookie": (resp.getheader("Set-Cookie") or "").split(";", 1)[0],
        }
    finally:
        conn.close()


def show_shop(vip: str, port: int, result: dict) -> None:
    """Requests to each path land in their pool; a cart stays on its server."""
    print(f"\nThe shop through {vip}:{port}: each request lands in the pool of the first rule it matches")
    result["routing"] = []
    for host, path in SHOP_REQUESTS:
        answer = get(vip, port, path, host)
        result["routing"].append(dict(answer, host=host, path=path))
        print(f"  GET {host + path:<36} -> {answer['status']} {answer['service']:<9} on {answer['backend']}")
    first = get(vip, port, "/cart")
    cart = first["cookie"]
    again = [get(vip, port, "/cart", cookie=cart)["backend"] for _ in range(5)]
    result["cart"] = {"cookie": cart, "backends": again}
    print(f"  a new cart ({cart}); 5 more requests with it -> {', '.join(again)}")


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
        answer = get(vip, port, path)
        answers.append(answer["backend"])
        print(f"  {i + 1:2d}. GET {path:<10} -> {answer['status']} from {answer['backend']}")
    result["backends_seen"] = sorted(set(answers))
    show_shop(vip, port, result)

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

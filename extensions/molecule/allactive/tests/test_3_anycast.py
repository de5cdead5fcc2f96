"""All-active over BGP: every LB node announces the anycast VIP to the
router while its engine is healthy, and the router spreads flows over all
of them (ECMP, L4 hash). A client behind the router measures what it sees
when a node's engine stops (its route is withdrawn) and when a node dies
(BFD drops it), and the node joining again."""

import collections
import json
import os
import subprocess
import threading
import time

from failover_lib import OUTAGE_LIMIT_MS

ROUTER = "halb-mol-allactive-router"
CLIENT = "halb-mol-allactive-client"
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "anycast_client.py")
# From the fault's command to the route gone at the router: the command
# (docker exec, docker kill: up to about 0.5 s here), then a health poll
# (200 ms) and FRR, or BFD (3 x 100 ms).
WITHDRAW_LIMIT_MS = 1500


def anycast_vip(aa):
    return aa.runner.get_variables(aa.lbs[0])["bgp_anycast_vips"][0]


def node_ips(aa):
    return {aa.runner.get_variables(name)["mol_ip"]: name for name in aa.lbs}


def next_hops(vip):
    """The router's kernel next hops for the VIP (one per ECMP path)."""
    out = subprocess.run(["docker", "exec", ROUTER, "ip", "-o", "route", "show", vip + "/32"],
                         capture_output=True, text=True, timeout=10)  # fmt: skip
    words = out.stdout.split()
    return {words[i + 1] for i, word in enumerate(words[:-1]) if word == "via"}


def wait_next_hops(vip, expected, timeout=60.0):
    """Seconds until the router's next hops are exactly expected."""
    began = time.monotonic()
    found = set()
    while time.monotonic() - began < timeout:
        found = next_hops(vip)
        if found == expected:
            return time.monotonic() - began
        time.sleep(0.05)
    raise AssertionError(f"router next hops for {vip}: {sorted(found)}, wanted {sorted(expected)}")


def client_run(vip, seconds, kept, during=None, at=3.0):
    """Run the client in its container for `seconds`; call during() `at`
    seconds in (in this process); return the client's JSON."""
    # The script goes in on stdin: /tmp in the container is a tmpfs, which docker cp cannot write to.
    with open(SCRIPT, encoding="utf-8") as script:
        proc = subprocess.Popen(["docker", "exec", "-i", CLIENT, "python3", "-", vip, str(seconds), str(kept)],
                                stdin=script, stdout=subprocess.PIPE, text=True)  # fmt: skip
    result = {}
    if during:
        time.sleep(at)
        worker = threading.Thread(target=lambda: result.update(during()))
        worker.start()
        worker.join(seconds + 30)
    out, _ = proc.communicate(timeout=seconds + 60)
    assert proc.returncode == 0, out
    return json.loads(out), result


def outage_ms(new):
    """Longest gap between two successful new connections, in ms."""
    oks = [at for at, ok, _peer in new if ok]
    return round(max(b - a for a, b in zip(oks, oks[1:])) * 1000, 1)


def summary(client, extra, gone_ip):
    """What the client saw; established connections split by where they
    were: on the node that left (lost with it), or on a node that stayed
    (lost only when the router's rehash moved them)."""
    new, kept = client["new"], client["kept"]
    on_gone = [record for record in kept if record["peer"] == gone_ip]
    elsewhere = [record for record in kept if record["peer"] != gone_ip]
    return {
        **extra,
        "new_connections": len(new),
        "new_failed": sum(1 for _at, ok, _peer in new if not ok),
        "new_outage_ms": outage_ms(new),
        "established": len(kept),
        "established_broken": sum(1 for record in kept if record["broke"]),
        "established_on_gone_node": len(on_gone),
        "established_moved_and_broken": sum(1 for record in elsewhere if record["broke"]),
    }


def test_the_router_has_a_path_through_every_node(aa):
    wait_next_hops(anycast_vip(aa), set(node_ips(aa)), timeout=90)


def test_new_connections_reach_every_node(aa):
    client, _ = client_run(anycast_vip(aa), 4, 0)
    counts = collections.Counter(peer for _at, ok, peer in client["new"] if ok)
    total = len(client["new"])
    print(f"\n[anycast] new connections per LB node: {dict(counts)} of {total}")
    assert sum(counts.values()) == total, client["new"][:20]
    for ip in node_ips(aa):
        assert counts[ip] >= total * 0.1, f"{ip} got {counts[ip]} of {total} new connections"
    aa.results["anycast spread"] = {"new_connections": total, "per_node": dict(counts)}


def _fault(aa, name, inject, gone_ip, restore, rejoin_timeout=90):
    vip = anycast_vip(aa)
    everyone = set(node_ips(aa))
    wait_next_hops(vip, everyone, timeout=90)

    def during():
        # From the moment the fault's command starts (docker exec or docker
        # kill itself takes a few hundred ms): an upper bound.
        began = time.monotonic()
        inject()
        command_s = time.monotonic() - began
        wait_next_hops(vip, everyone - {gone_ip}, timeout=20)
        return {"withdrawn_ms": round((time.monotonic() - began) * 1000, 1), "command_s": round(command_s, 3)}

    try:
        client, timing = client_run(vip, 10, 30, during)
    finally:
        restore()
    figures = summary(client, timing, gone_ip)
    figures["rejoined_s"] = round(wait_next_hops(vip, everyone, timeout=rejoin_timeout), 1)
    aa.results[name] = figures
    print(f"\n[anycast] {name}: {json.dumps(figures)}")
    assert figures["withdrawn_ms"] <= WITHDRAW_LIMIT_MS, figures
    assert figures["new_outage_ms"] <= OUTAGE_LIMIT_MS, figures
    return figures


def test_an_engine_that_stops_withdraws_the_route(aa):
    ips = node_ips(aa)
    ip = next(ip for ip, name in ips.items() if name == aa.lbs[0])
    node = aa.host(aa.lbs[0])
    _fault(aa, "anycast: engine stopped", lambda: node.run_expect([0], f"systemctl stop {aa.engine}"), ip,
           lambda: node.run_expect([0], f"systemctl start {aa.engine}"))  # fmt: skip


def test_a_dead_node_is_dropped_by_bfd_and_rejoins(aa):
    ips = node_ips(aa)
    ip = next(ip for ip, name in ips.items() if name == aa.lbs[1])
    kill = ["docker", "kill", aa.lbs[1]]
    start = ["docker", "start", aa.lbs[1]]
    _fault(aa, "anycast: node killed", lambda: subprocess.run(kill, check=True, capture_output=True), ip,
           lambda: subprocess.run(start, check=True, capture_output=True), rejoin_timeout=120)  # fmt: skip
    # keepalived's VIPs are home again too, for the tests after this one.
    aa.wait_holders(aa.home(), timeout=60)

"""Three nodes, three VIPs: each node is MASTER of exactly one, and a node
that dies takes only its own VIP's clients through a failover."""

import subprocess
import time

from failover_lib import OUTAGE_LIMIT_MS, recovered_after


def test_each_node_holds_exactly_its_own_vip(aa):
    aa.wait_holders(aa.home(), timeout=30)
    assert len(aa.lbs) == 3 and len(aa.vips) == 3


def test_every_vip_serves(aa):
    pollers = aa.pollers(3)
    time.sleep(2)
    for vip, poller in pollers.items():
        poller.stop()
        assert poller.samples and poller.failed == 0, f"{vip}: {poller.failed} of {len(poller.samples)} failed"


def _through(aa, name, action, moved_vip, expected_after, timeout=60.0):
    """Poll every VIP around action(); the VIPs other than moved_vip must
    never fail and never change holder; moved_vip must recover within the
    outage limit. Records the figures under name."""
    others = [vip for vip in aa.vips if vip != moved_vip]
    before = aa.holders()
    pollers = aa.pollers(timeout + 10)
    time.sleep(1.0)
    t0 = time.monotonic()
    action()
    watched = []
    deadline = time.monotonic() + timeout
    recovered = recovered_after(t0, settle=1.0)
    while time.monotonic() < deadline:
        holders = aa.holders()
        watched.append({vip: holders[vip] for vip in others})
        if holders == expected_after and recovered(pollers[moved_vip].samples):
            break
        time.sleep(0.2)
    time.sleep(1.0)
    for poller in pollers.values():
        poller.stop()
    summary = {vip: poller.summary(since=t0 - 1.0) for vip, poller in pollers.items()}
    aa.results[name] = {"moved": moved_vip, "vips": summary}
    print(
        f"\n[active-active] {name}: "
        + "; ".join(
            f"{vip} outage {s['outage_ms']} ms, {s['failed']} of {s['requests']} failed" for vip, s in summary.items()
        )
    )
    assert aa.holders() == expected_after, f"{name}: holders {aa.holders()}, wanted {expected_after}"
    for vip in others:
        assert summary[vip]["failed"] == 0, f"{name}: {vip} (not moved) failed {summary[vip]['failed']} requests"
        assert all(seen[vip] == before[vip] for seen in watched), f"{name}: {vip} moved: {watched}"
    assert summary[moved_vip]["outage_ms"] <= OUTAGE_LIMIT_MS, summary[moved_vip]


def test_a_dead_node_moves_only_its_own_vip(aa):
    """docker kill: the node stops dead (no VRRP goodbye); the next node
    takes its VIP after three missed adverts, the others stay put."""
    aa.wait_holders(aa.home(), timeout=30)
    dead, vip = aa.lbs[1], aa.vips[1]
    expected = dict(aa.home(), **{vip: [aa.lbs[2]]})
    _through(
        aa,
        "kill node 2 (docker kill)",
        lambda: subprocess.run(["docker", "kill", dead], check=True, capture_output=True),
        vip,
        expected,
    )


def test_the_node_rejoins_and_takes_its_vip_back(aa):
    """Started again, it boots, its engine and keepalived come up, and it
    pre-empts its own VIP back; the other VIPs are not touched."""
    dead, vip = aa.lbs[1], aa.vips[1]
    _through(aa, "node 2 back (docker start)", lambda: subprocess.run(["docker", "start", dead], check=True,
                                                                        capture_output=True), vip, aa.home(),
             timeout=90)  # fmt: skip

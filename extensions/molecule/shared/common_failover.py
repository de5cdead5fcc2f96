"""Failures a client must barely notice, measured from a client polling the
VIP every 20 ms, for either engine. Steps run in order; each starts from a
healthy pair. Scenarios import these tests."""

import time

from failover_lib import OUTAGE_LIMIT_MS, recovered_after


def _recovered_on(scenario, owner):
    """Answers flow again and `owner` holds the VIP."""

    def until(t0):
        answers = recovered_after(t0, settle=0.5)
        return lambda samples: answers(samples) and scenario.owners() == [owner]

    return until


def test_stop_master_keepalived(scenario):
    master = scenario.wait_owner(scenario.lbs[0])
    backup = scenario.other(master)
    poller = scenario.measure(
        "stop keepalived on MASTER",
        lambda: scenario.host(master).run_expect([0], "systemctl stop keepalived"),
        _recovered_on(scenario, backup),
    )
    assert poller.outage_ms() <= OUTAGE_LIMIT_MS


def test_old_master_takes_vip_back(scenario):
    master, backup = scenario.lbs[0], scenario.lbs[1]
    poller = scenario.measure(
        "start keepalived again (pre-empts back)",
        lambda: scenario.host(master).run_expect([0], "systemctl start keepalived"),
        _recovered_on(scenario, master),
    )
    assert poller.outage_ms() <= OUTAGE_LIMIT_MS
    assert not scenario.holds_vip(backup)


def test_kill_engine_on_master_moves_vip(scenario):
    master = scenario.wait_owner(scenario.lbs[0])
    backup = scenario.other(master)
    poller = scenario.measure(
        f"kill -9 {scenario.engine} on MASTER (keepalived up)",
        lambda: scenario.host(master).run_expect([0], f"pkill -9 -x {scenario.engine}"),
        _recovered_on(scenario, backup),
    )
    assert poller.outage_ms() <= OUTAGE_LIMIT_MS
    assert scenario.host(master).service("keepalived").is_running
    # systemd revives the engine; the node recovers and takes the VIP back.
    scenario.wait_owner(master, timeout=30)
    assert scenario.host(master).service(scenario.engine).is_running


def test_kill9_keepalived_leaves_a_single_vip_holder(scenario):
    master = scenario.wait_owner(scenario.lbs[0])
    backup = scenario.other(master)
    seen = []

    def kill_and_watch():
        scenario.host(master).run_expect([0], "pkill -9 -x keepalived")
        t0 = time.monotonic()
        # Before systemd restarts keepalived (2 s), the killed node must
        # not keep the VIP next to the new MASTER.
        while time.monotonic() - t0 < 1.5:
            if time.monotonic() - t0 >= 0.5:
                seen.append(scenario.owners())
            time.sleep(0.1)

    poller = scenario.measure(
        "kill -9 keepalived on MASTER", kill_and_watch, lambda t0: recovered_after(t0, settle=0.5), timeout=5
    )
    assert poller.outage_ms() <= OUTAGE_LIMIT_MS
    assert seen, "no samples taken while keepalived was down"
    assert all(owners == [backup] for owners in seen), seen
    # keepalived comes back, and afterwards exactly one node holds the VIP.
    scenario.wait_owner(master, timeout=30)
    for _ in range(10):
        assert scenario.owners() == [master]
        time.sleep(0.1)

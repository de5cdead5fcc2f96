"""The rolling upgrade playbooks as a user runs them, under load through
the VIP. halb.loadbalancer.rolling_upgrade: backends drained one at a time
on every LB node while wrk loads the VIP; HAProxy drains through its
runtime API, nginx open source has none, and the playbook must say so
before touching a host. halb.loadbalancer.lb_rolling_upgrade: the LB nodes
themselves restarted one at a time, the MASTER last after handing the VIP
over, while a keep-alive client that retries a stale GET once (as browsers
do) loads the VIP."""

import csv
import os
import re

import pytest
from failover_lib import REPO  # noqa: F401 (puts lab/ on the path first)

from halblab.wrk import Background

TASKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "upgrade_tasks")
SOCKET = "/run/haproxy/admin.sock"
# The pool of the haproxy scenario (lb_backend_name's default).
BACKEND = "halb_pool"
# The `show stat` counters a request that met a stopped server moves:
# connection errors, retries, redispatches, response errors.
COUNTERS = ("econ", "wretr", "wredis", "eresp")
# One runtime API command on an LB node, through its admin socket.
RUNTIME = (
    "python3 -c \"import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect('%s'); "
    "s.sendall(sys.argv[1].encode() + b'\\n'); print(s.makefile().read())\" '{command}'" % SOCKET
)


def runtime(scenario, lb, command):
    return scenario.host(lb).run_expect([0], RUNTIME.format(command=command)).stdout


def servers(scenario, lb):
    """{server: its `show stat` row} on one LB node."""
    rows = csv.DictReader(runtime(scenario, lb, "show stat").lstrip("# ").splitlines())
    return {row["svname"]: row for row in rows
            if row["svname"] not in ("FRONTEND", "BACKEND") and row["pxname"] != "halb_node_exporter"}  # fmt: skip


def errors(scenario):
    """Sum of the error counters of every server on every LB node."""
    return {lb: {name: sum(int(row[c] or 0) for c in COUNTERS) for name, row in servers(scenario, lb).items()}
            for lb in scenario.lbs}  # fmt: skip


def upgrade(scenario, tasks, *extra):
    return scenario.playbook(
        "halb.loadbalancer.rolling_upgrade", "rolling_upgrade_tasks=%s" % os.path.join(TASKS, tasks), *extra
    )


def test_rolling_upgrade_loses_no_request(scenario):
    if scenario.engine != "haproxy":
        out = upgrade(scenario, "restart_backend.yml")
        assert out.returncode != 0
        # Ansible folds long messages, and may print failures on stderr: compare words.
        words = " ".join((out.stdout + out.stderr).split())
        assert "nginx open source has no runtime API to drain a server without a reload" in words, out.stdout
        assert "Run the upgrade" not in out.stdout
        return
    scenario.wait_owner(scenario.lbs[0])
    before = errors(scenario)
    load = Background(scenario.vip, scenario.port, "/orders", seconds=300, connections=16)
    out = upgrade(scenario, "restart_backend.yml")
    result = load.stop()
    assert out.returncode == 0, out.stdout[-4000:]
    print("\n[rolling upgrade] %d requests through the VIP (%d/s), %d errors, %d non-2xx"
          % (result["requests"], result["rps"], result["errors"], result["non_2xx"]))  # fmt: skip
    assert result["requests"] > 1000
    assert (result["errors"], result["non_2xx"]) == (0, 0), result["output"]
    # No request met a stopped server, not even one HAProxy retried elsewhere.
    assert errors(scenario) == before
    for lb in scenario.lbs:
        assert {name: row["status"] for name, row in servers(scenario, lb).items()} == {"be1": "UP", "be2": "UP"}
    scenario.results["rolling upgrade"] = {
        "backends": len(scenario.backends),
        "requests": result["requests"],
        "rps": result["rps"],
        "failed": result["errors"] + result["non_2xx"],
        "connections": 16,
    }


def test_rolling_upgrade_stops_at_a_backend_that_does_not_come_back(scenario):
    if scenario.engine != "haproxy":
        pytest.skip("nginx: the playbook refuses before any host changes (the test above)")
    out = upgrade(scenario, "break_backend.yml", "rolling_upgrade_healthy_timeout=5")
    try:
        assert out.returncode != 0
        assert "Run the upgrade" in out.stdout
        # be1 stays drained on every LB node; be2 was never touched and serves everything.
        for lb in scenario.lbs:
            status = {name: row["status"] for name, row in servers(scenario, lb).items()}
            assert status["be2"] == "UP" and status["be1"] in ("DOWN", "DRAIN"), status
        assert set(scenario.spread(10)) == {"halb-mol-haproxy-be2"}
    finally:
        scenario.host(scenario.backends[0]).run_expect([0], "systemctl start halb-demo-backend")
        for lb in scenario.lbs:
            assert runtime(scenario, lb, "set server %s/be1 state ready" % BACKEND).strip() == ""


def _invocations(scenario, lb):
    """The current run ids of the engine and keepalived on an LB node."""
    command = "systemctl show --property InvocationID --value %s.service keepalived.service" % scenario.engine
    return scenario.host(lb).run_expect([0], command).stdout.split()


def test_lb_nodes_restarted_one_at_a_time_lose_no_request(scenario):
    master = scenario.wait_owner(scenario.lbs[0])
    before = {lb: _invocations(scenario, lb) for lb in scenario.lbs}
    out, result = scenario.playbook_under_load("halb.loadbalancer.lb_rolling_upgrade")
    assert out.returncode == 0, out.stdout[-4000:]
    print("\n[LB rolling upgrade] %d nodes: %d requests through the VIP (%d/s), %d failed %s"
          % (len(scenario.lbs), result["requests"], result["rps"], result["failures"], result["errors"]))  # fmt: skip
    # Every node's engine and keepalived were restarted, and the MASTER is
    # MASTER again (keepalived_preempt).
    for lb in scenario.lbs:
        assert [a != b for a, b in zip(before[lb], _invocations(scenario, lb))] == [True, True], lb
    assert scenario.owners() == [master]
    # One node at a time, the MASTER last.
    stopped = [re.search(r"\[([^\]]+)\]", chunk.split("\n", 1)[1]).group(1)
               for chunk in out.stdout.split("TASK [")[1:] if chunk.startswith("Stop keepalived")]  # fmt: skip
    assert sorted(stopped) == sorted(scenario.lbs) and stopped[-1] == master, stopped
    assert result["requests"] > 1000
    assert result["failures"] == 0, result["errors"]
    scenario.results["lb rolling upgrade"] = {
        "nodes": len(scenario.lbs),
        "requests": result["requests"],
        "failed": result["failures"],
        "connections": 8,
    }

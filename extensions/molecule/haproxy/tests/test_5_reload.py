"""Reload checks shared by every engine, plus HAProxy's runtime state: a
server drained through the runtime API stays drained when a config change
reloads HAProxy (server-state-file, saved by the unit before each reload)."""

import os
import subprocess

from common_reload import *  # noqa: F403 (the shared tests run in this scenario)
from test_3_runtime_api import haproxy_server

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))


def test_a_drained_server_stays_drained_across_a_config_change(scenario):
    master = scenario.wait_owner()
    drained = scenario.backends[0]
    first = haproxy_server(master, backend="halb_pool", server="be1", state="drain", wait=True, wait_timeout=20)
    assert first["changed"] is True, first
    try:
        # A real config change, as a user makes it: site.yml with a new
        # server timeout (and the strategy test_4 left), which reloads.
        inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
        run = subprocess.run(
            ["ansible-playbook", "-i", inventory, os.path.join(ROOT, "playbooks", "site.yml"),
             "-e", "lb_strategy=fastest_response", "-e", "lb_timeout_server=31s"],
            capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
        assert "timeout server 31000ms" in scenario.host(master).file("/etc/haproxy/haproxy.cfg").content_string
        assert "RUNNING HANDLER [halb.loadbalancer.lb : Reload the engine]" in run.stdout
        again = haproxy_server(master, backend="halb_pool", server="be1", state="drain")
        assert again["changed"] is False, f"be1 is no longer drained after the reload: {again}"
        counts = scenario.spread(30)
        assert counts[drained] == 0, counts
    finally:
        haproxy_server(master, backend="halb_pool", server="be1", state="ready")
    assert scenario.spread(30)[drained] > 0

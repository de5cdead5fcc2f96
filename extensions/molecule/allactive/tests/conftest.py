"""Active-active VIPs: each node of the group is the MASTER of one VIP."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared"))

import failover_lib


class ActiveActive(failover_lib.Scenario):
    """The scenario's nodes in the group's order and its VIPs in list order:
    VIP i is MASTER on node i. Its figures go where every scenario's go
    (.state/molecule-allactive-failover.json, with the platform)."""

    def __init__(self):
        self.runner = failover_lib.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
        self.lbs = self.runner.get_hosts("lb")
        lb_vars = self.runner.get_variables(self.lbs[0])
        self.engine = lb_vars.get("lb_engine", "haproxy")
        self.vips = [entry["address"] for entry in lb_vars["keepalived_vips"]]
        self.port = 80
        self._hosts = {}
        self.results: dict[str, dict] = {}

    def holders(self) -> dict[str, list[str]]:
        """VIP -> the running nodes that have it on an interface."""
        held = {vip: [] for vip in self.vips}
        for name in self.lbs:
            out = subprocess.run(["docker", "exec", name, "ip", "-o", "address", "show"],
                                 capture_output=True, text=True, timeout=10)  # fmt: skip
            for vip in self.vips:
                if out.returncode == 0 and f" {vip}/" in out.stdout:
                    held[vip].append(name)
        return held

    def wait_holders(self, expected: dict[str, list[str]], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        found = {}
        while time.monotonic() < deadline:
            found = self.holders()
            if found == expected:
                return
            time.sleep(0.2)
        raise AssertionError(f"VIP holders: wanted {expected}, found {found} after {timeout} s")

    def home(self) -> dict[str, list[str]]:
        """Every VIP on its own node: VIP i on node i."""
        return {vip: [self.lbs[i % len(self.lbs)]] for i, vip in enumerate(self.vips)}

    def pollers(self, seconds: float) -> dict[str, failover_lib.Poller]:
        """One client per VIP, a new connection every 20 ms."""
        return {vip: failover_lib.Poller(vip, self.port, path="/orders", max_seconds=seconds).start()
                for vip in self.vips}  # fmt: skip


@pytest.fixture(scope="session")
def aa():
    scenario = ActiveActive()
    yield scenario
    scenario.write_results(os.environ["MOLECULE_SCENARIO_NAME"])

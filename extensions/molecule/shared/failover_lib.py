"""What the Molecule failover verifiers share: the hosts from the scenario's
Ansible inventory, fast command runners, and the client-side probe.

Host lists and variables come from Ansible's inventory (the same one
converge used); commands run through testinfra's docker backend, which is
fast enough to watch a VIP move.
"""

from __future__ import annotations

import collections
import http.client
import json
import os
import subprocess
import sys
import threading
import time

import pytest
import testinfra
from testinfra.utils.ansible_runner import AnsibleRunner

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "lab"))
# The drill's load engine is standard library only: usable outside Ansible.
sys.path.insert(0, os.path.join(REPO, "plugins", "module_utils"))

import load_client  # noqa: E402

from halblab.probe import Poller, recovered_after  # noqa: E402

__all__ = ["Poller", "Scenario", "load_client", "recovered_after"]

# The output tests read is the same under Molecule (whose environment
# forces colour and its own ansible.cfg) as from a shell: plain text, each
# task result as JSON.
PLAYBOOK_ENV = dict(
    os.environ,
    ANSIBLE_FORCE_COLOR="0",
    ANSIBLE_NOCOLOR="1",
    ANSIBLE_STDOUT_CALLBACK="default",
    ANSIBLE_CALLBACK_RESULT_FORMAT="json",
)
# Requests a load that lasts as long as a playbook may send at most: far
# above what it reaches, so the load lasts the whole run.
LOAD_CAP = 2_000_000
# The most a client may see of an outage in any failover step.
OUTAGE_LIMIT_MS = float(os.environ.get("HALB_OUTAGE_LIMIT_MS", "1000"))


class Scenario:
    def __init__(self):
        self.runner = AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
        # Load balancers by keepalived priority, highest first: lbs[0] is the
        # MASTER while all are healthy, lbs[1] takes over from it.
        priority = {
            name: int(self.runner.get_variables(name)["keepalived_priority"]) for name in self.runner.get_hosts("lb")
        }
        self.lbs = sorted(priority, key=lambda name: -priority[name])
        self.backends = sorted(self.runner.get_hosts("backends"))
        lb_vars = self.runner.get_variables(self.lbs[0])
        self.engine = lb_vars.get("lb_engine", "haproxy")
        self.vip = lb_vars["keepalived_vip"]
        self.port = 80
        self._hosts = {}
        self.results: dict[str, dict] = {}

    def host(self, name: str):
        if name not in self._hosts:
            self._hosts[name] = testinfra.get_host(f"docker://{name}")
        return self._hosts[name]

    def spread(self, requests: int, path: str = "/orders") -> collections.Counter:
        """Send requests through the VIP one by one; count answers per backend."""
        counts: collections.Counter = collections.Counter()
        for _ in range(requests):
            conn = http.client.HTTPConnection(self.vip, self.port, timeout=2)
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                assert resp.status == 200, f"GET {path} through the VIP: {resp.status}"
                counts[resp.getheader("X-Backend")] += 1
            finally:
                conn.close()
        return counts

    def holds_vip(self, name: str) -> bool:
        out = self.host(name).run("ip -o address show")
        return out.rc == 0 and f" {self.vip}/" in out.stdout

    def owners(self) -> list[str]:
        return [name for name in self.lbs if self.holds_vip(name)]

    def wait_owner(self, expected: str | None = None, timeout: float = 20.0) -> str:
        """Wait until exactly one node (optionally: `expected`) holds the VIP."""
        deadline = time.monotonic() + timeout
        found: list[str] = []
        while time.monotonic() < deadline:
            found = self.owners()
            if len(found) == 1 and (expected is None or found[0] == expected):
                return found[0]
            time.sleep(0.1)
        raise AssertionError(f"VIP {self.vip}: wanted a single holder {expected or ''}, found {found} after {timeout}s")

    def other(self, name: str) -> str:
        """The node that takes the VIP over from `name`: the highest priority of the rest."""
        return next(n for n in self.lbs if n != name)

    def measure(self, name: str, action, until, timeout: float = 20.0) -> Poller:
        """Poll the VIP every 20 ms around action(); stop when until(t0) holds."""
        # /orders is never cached, so every answer comes through to a backend.
        poller = Poller(self.vip, self.port, path="/orders", max_seconds=timeout + 5).start()
        time.sleep(1.0)
        t0 = time.monotonic()
        action()
        held = poller.wait_for(until(t0), timeout)
        poller.stop()
        summary = poller.summary(since=t0 - 1.0)
        self.results[name] = summary
        print(
            f"\n[failover] {name}: outage {summary['outage_ms']} ms, {summary['failed']} of "
            f"{summary['requests']} requests failed (polling every 20 ms)"
        )
        assert held, f"{name}: requests through the VIP did not recover within {timeout}s"
        return poller

    def playbook(
        self, name: str, *extra_vars: str, options: tuple[str, ...] = (), timeout: int = 600
    ) -> subprocess.CompletedProcess:
        """Run one of the collection's playbooks against this scenario's
        inventory, as a user would; extra_vars are "key=value" strings (or
        JSON), options more ansible-playbook options (e.g. --limit)."""
        command = ["ansible-playbook", "-i", os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"]), name, *options]
        for assignment in extra_vars:
            command += ["-e", assignment]
        return subprocess.run(command, cwd=REPO, env=PLAYBOOK_ENV, capture_output=True, text=True, timeout=timeout)

    def playbook_under_load(
        self,
        name: str,
        *extra_vars: str,
        options: tuple[str, ...] = (),
        connections: int = 8,
        interval: float = 0.01,
        target: load_client.Target | None = None,
    ) -> tuple[subprocess.CompletedProcess, dict]:
        """Run a playbook (as playbook()) while keep-alive connections GET
        /orders through the VIP (or target), each one request per `interval`
        seconds (a steady load that leaves the 2 cores room for Ansible), for
        as long as it runs; returns its result and load_client's summary of
        what the clients saw."""
        stop = threading.Event()
        records: list = []
        target = target or load_client.Target(self.vip, self.port, "/orders")

        def load():
            records.extend(
                load_client.run(target, 600, connections, max_requests=LOAD_CAP, interval=interval, stop=stop)
            )

        thread = threading.Thread(target=load)
        began = time.monotonic()
        thread.start()
        try:
            out = self.playbook(name, *extra_vars, options=options)
        finally:
            stop.set()
            thread.join(30)
        assert len(records) < LOAD_CAP, "the load ran out before the playbook ended"
        return out, load_client.summary(records, time.monotonic() - began)

    def platform(self) -> dict:
        """What the figures were measured on: Debian release, engine, keepalived."""
        host = self.host(self.lbs[0])
        engine_version = {"haproxy": "haproxy -v", "nginx": "nginx -v 2>&1"}[self.engine]
        return {
            "debian": host.run(". /etc/os-release && echo $VERSION_ID").stdout.strip(),
            "engine": self.engine,
            "engine_version": host.run(engine_version).stdout.splitlines()[0].strip(),
            "keepalived_version": host.run("keepalived --version 2>&1").stdout.splitlines()[0].strip(),
            "lb_nodes": len(self.lbs),
        }

    def write_results(self, scenario: str):
        path = os.path.join(REPO, ".state", f"molecule-{scenario}-failover.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            json.dump({"platform": self.platform(), "steps": self.results}, handle, indent=2, sort_keys=True)
        print(f"\n[failover] figures written to {path}")


@pytest.fixture(scope="session")
def scenario():
    """The scenario under test; its failover figures are written at the end."""
    sc = Scenario()
    yield sc
    sc.write_results(os.environ["MOLECULE_SCENARIO_NAME"])

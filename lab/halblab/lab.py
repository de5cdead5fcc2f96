"""The lab as seen from this machine: its inventory and who holds the VIP."""

from __future__ import annotations

import json
import subprocess
import time


def inventory(path: str) -> dict:
    """Host variables of a lab inventory, as Ansible resolves them."""
    out = subprocess.run(["ansible-inventory", "-i", path, "--list"], check=True, capture_output=True, text=True)
    data = json.loads(out.stdout)
    hostvars = data["_meta"]["hostvars"]
    groups = {name: sorted(group.get("hosts", [])) for name, group in data.items() if name != "_meta"}
    return {"hostvars": hostvars, "groups": groups}


def docker(*args: str, check: bool = True) -> str:
    return subprocess.run(["docker", *args], check=check, capture_output=True, text=True).stdout


def holds(container: str, address: str) -> bool:
    """Whether the container has the address on any interface."""
    try:
        out = docker("exec", container, "ip", "-o", "address", "show")
    except subprocess.CalledProcessError:
        return False  # a stopped container holds nothing
    return any(f" {address}/" in line for line in out.splitlines())


def owners(containers: list[str], address: str) -> list[str]:
    return [c for c in containers if holds(c, address)]


def wait_single_owner(containers: list[str], address: str, timeout: float = 20.0) -> str:
    """Wait until exactly one container holds the address; return it."""
    deadline = time.monotonic() + timeout
    found: list[str] = []
    while time.monotonic() < deadline:
        found = owners(containers, address)
        if len(found) == 1:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"expected exactly one holder of {address} within {timeout}s, found {found}")

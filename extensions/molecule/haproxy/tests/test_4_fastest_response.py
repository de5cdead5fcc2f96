"""The response-time feedback loop, shared by every engine. This scenario
runs round robin; it switches its pool to fastest_response first, with the
collection's own playbook, as a user would."""

import os
import subprocess

import pytest
from common_fastest import *  # noqa: F403 (the shared tests run in this scenario)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))


@pytest.fixture(scope="module", autouse=True)
def fastest_response_pool():
    site = os.path.join(ROOT, "playbooks", "site.yml")
    inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])  # with its group_vars
    run = subprocess.run(
        ["ansible-playbook", "-i", inventory, site, "-e", "lb_strategy=fastest_response"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]

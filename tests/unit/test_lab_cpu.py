"""CPU per request from two snapshots of the lab's processes (lab/halblab/cpu.py)."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "lab"))

from halblab import cpu  # noqa: E402


def test_per_request_sums_by_group_and_leaves_out_the_rest():
    hz = cpu.TICKS_PER_SECOND
    before = {("lb1", "haproxy"): 10, ("be1", "python3"): 5, ("host", "sshd"): 1}
    # 1000 requests; haproxy spent hz ticks (1 s), the backend 2 s, a new
    # process (started between the snapshots) 0.5 s.
    after = {("lb1", "haproxy"): 10 + hz, ("be1", "python3"): 5 + 2 * hz, ("be2", "python3"): hz // 2,
             ("host", "sshd"): 50}  # fmt: skip

    def group(key):
        return {"lb1": "engine", "be1": "backends", "be2": "backends"}.get(key[0])

    assert cpu.per_request_us(before, after, 1000, group) == {"backends": 2500.0, "engine": 1000.0}


def test_snapshot_reads_this_process(monkeypatch):
    # The cgroup file of this very process names no container, so an ID
    # taken from it must match it and count its own CPU time.
    with open("/proc/self/cgroup") as handle:
        cgroup = handle.read().strip().rsplit("/", 1)[-1] or "/"
    found = cpu.snapshot({cgroup: "me"})
    assert any(name == "me" for name, _command in found)
    assert cpu._stat(str(os.getpid()))[0]

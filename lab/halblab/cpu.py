"""CPU time of the lab's processes, read from this machine's /proc.

A benchmark compares strategies by CPU per request as well as by req/s:
on a 2-core machine shared by wrk, the engine, journald and three
backends, req/s moves between runs by more than the differences sought,
while the CPU each request costs a process hardly moves.

snapshot() sums user + system time per (container, command) over every
process in the given containers (found by their cgroup, which names the
container's ID); wrk's own time comes from the caller (resource usage of
finished children).
"""

from __future__ import annotations

import os
import subprocess

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def container_ids(containers: list[str]) -> dict[str, str]:
    """{full container ID: name}."""
    out = subprocess.run(
        ["docker", "inspect", "-f", "{{.Id}}", *containers], check=True, capture_output=True, text=True
    ).stdout
    return dict(zip(out.split(), containers))


def _stat(pid: str) -> tuple[str, int] | None:
    """(command, user + system ticks) of a process; None if it is gone."""
    try:
        with open("/proc/%s/stat" % pid) as handle:
            text = handle.read()
    except OSError:
        return None
    # The command is in parentheses and may hold spaces: split after it.
    comm = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return comm, int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


def _container_of(pid: str, ids: dict[str, str]) -> str | None:
    try:
        with open("/proc/%s/cgroup" % pid) as handle:
            cgroup = handle.read()
    except OSError:
        return None
    for full_id, name in ids.items():
        if full_id in cgroup:
            return name
    return None


def snapshot(ids: dict[str, str]) -> dict[tuple[str, str], int]:
    """{(container, command): ticks} for every live process of the containers."""
    totals: dict[tuple[str, str], int] = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        name = _container_of(pid, ids)
        stat = _stat(pid) if name else None
        if stat:
            key = (name, stat[0])
            totals[key] = totals.get(key, 0) + stat[1]
    return totals


def per_request_us(before: dict, after: dict, requests: int, group) -> dict[str, float]:
    """Microseconds of CPU per request, summed by group((container, command))
    (a name, or None to leave the process out). A process that started or
    ended between the snapshots counts with what the later one saw."""
    out: dict[str, float] = {}
    for key, ticks in after.items():
        name = group(key)
        if name is None:
            continue
        spent = ticks - before.get(key, 0)
        out[name] = out.get(name, 0.0) + spent
    scale = 1e6 / TICKS_PER_SECOND / max(requests, 1)
    return {name: round(ticks * scale, 1) for name, ticks in sorted(out.items())}

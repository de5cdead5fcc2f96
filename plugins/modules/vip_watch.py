#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vip_watch
short_description: Record when this host held a virtual IP address, polling for a bounded time
version_added: 1.0.0
description:
  - Polls the host's addresses (C(ip -o address show)) every O(interval_ms) for O(seconds) and returns the
    intervals during which O(address) was on one of its interfaces, in wall-clock time.
  - Run it on every load balancer node at once (C(async) with C(poll=0)) while a fault is injected; the
    intervals of all nodes together show who held the VIP, when no node held it and when two did (a split
    brain). The playbook C(halb.loadbalancer.failover_drill) does so.
  - With O(split_brain_file), it also records when the node reported a split brain. The keepalived role's notify
    script writes the time to that file at every advert this node, as MASTER, hears from another MASTER of lower
    priority, once such adverts have gone on for a second.
  - It changes nothing on the host.
author: halb.loadbalancer contributors (!UNKNOWN)
options:
  address:
    description:
      - The virtual IP address to watch, IPv4 or IPv6, without a prefix length.
    type: str
    required: true
  seconds:
    description:
      - How long to watch, from 1 to 600 seconds.
    type: float
    required: true
  interval_ms:
    description:
      - Time between two polls, from 5 to 1000 ms.
    type: int
    default: 20
  split_brain_file:
    description:
      - File holding the Unix time of this node's last split-brain report (the fact C(keepalived_split_brain_file)
        that the C(halb.loadbalancer.keepalived) role's C(vip_holders) entry point sets).
      - Reports made during the watch are returned in RV(split_brain); a missing file means none.
    type: path
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: It only reads, so it runs in check mode too.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
notes:
  - Run with C(async), its result has no C(started) key, which async_status would take for a job still running.
  - Hosts' clocks are compared as they are; keep them in sync (NTP) to line the intervals of several nodes
    up to within a few milliseconds.
"""

EXAMPLES = r"""
- name: Watch the VIP on every node for 30 seconds, in the background
  halb.loadbalancer.vip_watch:
    address: "{{ keepalived_vip }}"
    seconds: 30
    split_brain_file: "{{ keepalived_split_brain_file }}"
  async: 60
  poll: 0
  register: vip_watch_job
"""

RETURN = r"""
holding:
  description: Intervals during which the host held the address, as [from, to] Unix times in seconds.
  returned: always
  type: list
  elements: list
  sample: [[1764410000.12, 1764410004.81]]
first_poll:
  description: Unix time of the first poll.
  returned: always
  type: float
last_poll:
  description: Unix time of the last poll.
  returned: always
  type: float
polls:
  description: Number of polls made.
  returned: always
  type: int
split_brain:
  description:
    - Intervals during which the host kept reporting a split brain, as [first report, last report] Unix times
      in seconds; reports less than 3 s apart (keepalived reports once per advert heard) make one interval.
    - Empty without O(split_brain_file) or when no report was made during the watch.
  returned: always
  type: list
  elements: list
  sample: [[1764410001.02, 1764410007.93]]
"""

import ipaddress
import time

from ansible.module_utils.basic import AnsibleModule

# Reports closer together than this belong to one split brain: keepalived
# reports once per advert received, and adverts come at most 1 s apart
# with the role's default advert_int.
SPLIT_BRAIN_GAP_S = 3.0


def holds(module, address):
    """Whether `address` is on one of the host's interfaces."""
    rc, out, err = module.run_command(["ip", "-o", "address", "show"])
    if rc != 0:
        module.fail_json(msg="ip -o address show failed: %s" % err.strip())
    needle = " %s/" % address
    return any(needle in line for line in out.splitlines())


def last_report(path):
    """The Unix time in the split-brain file, or None (no file, no report yet, or a torn write)."""
    try:
        with open(path) as handle:
            return float(handle.read().strip())
    except (OSError, ValueError):
        return None


def add_report(reports, at):
    """Extend the last interval of `reports` with a report at `at`, or open a new one."""
    if reports and at - reports[-1][1] < SPLIT_BRAIN_GAP_S:
        reports[-1][1] = max(reports[-1][1], at)
    else:
        reports.append([at, at])


def watch(module, address, seconds, interval, split_brain_file=None):
    """Poll until `seconds` have passed; return (intervals, split-brain reports, started, ended, polls)."""
    intervals, reports, since = [], [], None
    started = time.time()
    deadline = time.monotonic() + seconds
    polls, now, seen = 0, started, None
    while True:
        now = time.time()
        polls += 1
        if holds(module, address):
            since = now if since is None else since
        elif since is not None:
            intervals.append([since, now])
            since = None
        if split_brain_file:
            report = last_report(split_brain_file)
            # Only reports made during the watch, each once.
            if report is not None and report != seen and report >= started:
                add_report(reports, report)
            seen = report
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    if since is not None:
        intervals.append([since, now])
    return intervals, reports, started, now, polls


def main():
    module = AnsibleModule(
        argument_spec=dict(
            address=dict(type="str", required=True),
            seconds=dict(type="float", required=True),
            interval_ms=dict(type="int", default=20),
            split_brain_file=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        address = str(ipaddress.ip_address(params["address"]))
    except ValueError:
        module.fail_json(
            msg="address: %r is not an IPv4 or IPv6 address (give the VIP without a prefix length)" % params["address"]
        )
    if not 1 <= params["seconds"] <= 600:
        module.fail_json(msg="seconds: %s is out of range; watch from 1 to 600 seconds" % params["seconds"])
    if not 5 <= params["interval_ms"] <= 1000:
        module.fail_json(msg="interval_ms: %s is out of range; poll every 5 to 1000 ms" % params["interval_ms"])
    intervals, reports, started, ended, polls = watch(
        module, address, params["seconds"], params["interval_ms"] / 1000.0, params["split_brain_file"]
    )
    # Not "started"/"ended": async_status reads a "started" key as "still running".
    module.exit_json(
        changed=False, holding=intervals, split_brain=reports, first_poll=started, last_poll=ended, polls=polls
    )


if __name__ == "__main__":
    main()

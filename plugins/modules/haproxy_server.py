#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: haproxy_server
short_description: Drain, disable or enable an HAProxy server and set its weight at run time
version_added: 0.1.0
description:
  - Changes one server of an HAProxy backend through HAProxy's runtime API (its C(stats socket)),
    without reloading HAProxy.
  - Reads the server first and sends only the commands that change something, so running it
    twice changes nothing the second time.
  - With neither O(state) nor O(weight) it only reports the server.
  - Runtime changes live in the running HAProxy only; a restart reverts to haproxy.cfg unless
    HAProxy keeps a C(server-state-file).
author: halb.loadbalancer contributors (!UNKNOWN)
options:
  socket:
    description:
      - Path of HAProxy's stats socket on the managed host.
      - It must be declared with C(level admin) for O(state) and O(weight) to be changed, for example
        C(stats socket /run/haproxy/admin.sock mode 660 level admin) in the C(global) section.
    type: path
    default: /run/haproxy/admin.sock
  backend:
    description:
      - Name of the C(backend) or C(listen) section that holds the server.
    type: str
    required: true
  server:
    description:
      - Name of the server in O(backend), as on its C(server) line.
    type: str
    required: true
  state:
    description:
      - V(ready) puts the server in rotation.
      - V(drain) sends it no new connections, except persistent ones, and lets the open ones finish.
      - V(maint) takes it out of rotation and stops its health checks; open connections are not cut.
      - Only the state forced through the runtime API, by an agent check or by the C(disabled) keyword
        counts; a server in maintenance inherited from a tracked server is V(ready) here, while
        RV(status) says C(MAINT) followed by the tracked server. An agent check can undo a change.
      - Omit to leave the state as it is.
    type: str
    choices: [ready, drain, maint]
  weight:
    description:
      - Weight of the server, from 0 to 256, as C(weight) on its C(server) line.
      - Backends with a static algorithm accept only 0 and the weight from haproxy.cfg.
      - Omit to leave the weight as it is.
    type: int
  wait:
    description:
      - When O(state) is V(drain) or V(maint), wait until the server has no current sessions left.
      - Has no effect in check mode or with another O(state).
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait for the sessions to reach zero before failing.
    type: int
    default: 60
  wait_interval:
    description:
      - Seconds between two reads of the session count while waiting.
    type: float
    default: 0.5
notes:
  - Supports check mode; it reports what would change and sends only read commands to HAProxy.
  - Supports diff mode, with the state and the weight before and after.
  - The user running the module needs read and write access to the socket; usually that means
    running it with C(become).
  - Uses C(show servers state) for the state and weight, C(show stat) for the status, sessions and
    timings, and C(set server) to change them. Tested against HAProxy 2.6.
"""

EXAMPLES = r"""
- name: Drain web1 and wait until its last sessions end
  halb.loadbalancer.haproxy_server:
    backend: web
    server: web1
    state: drain
    wait: true
    wait_timeout: 120
  become: true

- name: Take web1 out for maintenance
  halb.loadbalancer.haproxy_server:
    backend: web
    server: web1
    state: maint
  become: true

- name: Put web1 back in rotation at half its weight
  halb.loadbalancer.haproxy_server:
    backend: web
    server: web1
    state: ready
    weight: 50
  become: true

- name: Read web1's state and sessions without changing anything
  halb.loadbalancer.haproxy_server:
    socket: /var/lib/haproxy/stats
    backend: web
    server: web1
  become: true
  register: web1

- name: Show it
  ansible.builtin.debug:
    msg: "{{ web1.status }} with {{ web1.sessions }} sessions"
"""

RETURN = r"""
status:
  description:
    - The server's status as C(show stat) reports it, for example C(UP), C(DOWN), C(DRAIN), C(MAINT),
      C(UP 1/3) or C(no check); a maintenance inherited from a tracked server reads C(MAINT) followed
      by that server in parentheses.
  returned: success
  type: str
  sample: DRAIN
admin_state:
  description:
    - The state forced through the runtime API, as O(state) names it.
    - In check mode, the state before any change (see the diff for what would change).
  returned: success
  type: str
  sample: drain
weight:
  description:
    - The server's weight as set in haproxy.cfg or by O(weight) (HAProxy's user weight).
  returned: success
  type: int
  sample: 100
effective_weight:
  description:
    - The weight HAProxy balances with right now; lower than RV(weight) during a slow start.
  returned: success
  type: int
  sample: 100
sessions:
  description:
    - Current sessions on the server (C(scur)).
  returned: success
  type: int
  sample: 0
response_time_ms:
  description:
    - Average response time of the last 1024 requests, in milliseconds (C(rtime)).
    - V(null) when HAProxy does not measure it, as for a backend in C(mode tcp).
  returned: success
  type: int
  sample: 12
total_time_ms:
  description:
    - Average total session time of the last 1024 requests, in milliseconds (C(ttime)).
  returned: success
  type: int
  sample: 35
waited_s:
  description:
    - Seconds spent waiting for the sessions to reach zero.
  returned: when O(wait=true) and O(state) is V(drain) or V(maint), outside check mode
  type: float
  sample: 2.5
commands:
  description:
    - The runtime API commands sent to change the server, in order; in check mode, the ones that
      would be sent.
  returned: always
  type: list
  elements: str
  sample: ["set server web/web1 state drain"]
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.halb.loadbalancer.plugins.module_utils.engine_facts import WEIGHT_RANGE
from ansible_collections.halb.loadbalancer.plugins.module_utils.haproxy_runtime import (
    ADMIN_STATES,
    DEFAULT_SOCKET,
    RuntimeApiError,
    RuntimeClient,
    set_command,
)

REPORT_KEYS = (
    "status",
    "admin_state",
    "weight",
    "effective_weight",
    "sessions",
    "response_time_ms",
    "total_time_ms",
)


def plan(current, state, weight):
    """The (what, value) changes to make, in the order to make them."""
    changes = []
    if weight is not None and weight != current["weight"]:
        changes.append(("weight", weight))
    if state is not None and state != current["admin_state"]:
        # Out of rotation before the weight changes, back in after it: the
        # server never takes new traffic with a weight it is about to lose.
        changes.insert(len(changes) if state == "ready" else 0, ("state", state))
    return changes


def wait_for_sessions(module, client, report, result):
    """Poll until the server has no sessions; fail with the count left at the timeout."""
    backend, server, timeout = module.params["backend"], module.params["server"], module.params["wait_timeout"]
    start = time.monotonic()
    while report["sessions"] > 0:
        remaining = start + timeout - time.monotonic()
        if remaining <= 0:
            result.update(public(report), waited_s=round(time.monotonic() - start, 2))
            module.fail_json(
                msg="server %s in backend %s still has %d session(s) after waiting %ss (wait_timeout). Raise "
                "wait_timeout, or end them with `shutdown sessions server %s/%s`."
                % (server, backend, report["sessions"], timeout, backend, server),
                **result,
            )
        time.sleep(min(module.params["wait_interval"], remaining))
        report = client.server(backend, server)
    return report, round(time.monotonic() - start, 2)


def public(report):
    """The report fields the module returns."""
    return dict((key, report[key]) for key in REPORT_KEYS)


def check_params(module):
    params = module.params
    low, high = WEIGHT_RANGE["haproxy"]
    if params["weight"] is not None and not low <= params["weight"] <= high:
        module.fail_json(msg="weight: %d is out of range; HAProxy takes %d to %d." % (params["weight"], low, high))
    if params["wait_timeout"] < 0:
        module.fail_json(msg="wait_timeout: %d is negative; give the seconds to wait." % params["wait_timeout"])
    if params["wait_interval"] <= 0:
        module.fail_json(msg="wait_interval: %s must be more than 0 seconds." % params["wait_interval"])
    if params["wait"] and params["state"] not in ("drain", "maint"):
        module.warn("wait: true has no effect unless state is drain or maint.")


def run(module, client, result):
    """Read, change what differs, wait if asked; fill result as it goes, so a
    failure half-way still reports the commands already sent."""
    params = module.params
    backend, server = params["backend"], params["server"]
    before = client.server(backend, server)
    changes = plan(before, params["state"], params["weight"])

    after = predicted = before
    if module.check_mode:
        result["changed"] = bool(changes)
        result["commands"] = [set_command(backend, server, what, value) for what, value in changes]
        predicted = dict(before)
        for what, value in changes:
            predicted["admin_state" if what == "state" else "weight"] = value
    else:
        for what, value in changes:
            setter = client.set_state if what == "state" else client.set_weight
            result["commands"].append(setter(backend, server, value))
            result["changed"] = True
        if changes:
            after = predicted = client.server(backend, server)
        if params["wait"] and params["state"] in ("drain", "maint"):
            after, result["waited_s"] = wait_for_sessions(module, client, after, result)

    result.update(public(after))
    if module._diff:
        result["diff"] = {
            "before_header": "%s/%s" % (backend, server),
            "after_header": "%s/%s" % (backend, server),
            "before": {"state": before["admin_state"], "weight": before["weight"]},
            "after": {"state": predicted["admin_state"], "weight": predicted["weight"]},
        }


def main():
    module = AnsibleModule(
        argument_spec=dict(
            socket=dict(type="path", default=DEFAULT_SOCKET),
            backend=dict(type="str", required=True),
            server=dict(type="str", required=True),
            state=dict(type="str", choices=list(ADMIN_STATES)),
            weight=dict(type="int"),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=60),
            wait_interval=dict(type="float", default=0.5),
        ),
        supports_check_mode=True,
    )
    check_params(module)
    result = {"changed": False, "commands": []}
    try:
        run(module, RuntimeClient(module.params["socket"]), result)
    except RuntimeApiError as exc:
        module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

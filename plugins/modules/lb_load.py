#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: lb_load
short_description: Send a bounded HTTP load to a load balancer's VIP and record every request
version_added: 1.0.0
description:
  - Runs O(connections) keep-alive connections against O(url) for at most O(seconds) and O(max_requests),
    and records each request's start, latency, status and answering backend (its C(X-Backend) header).
  - Returns throughput, failures by cause, latency percentiles and the share of each backend; with
    O(records_path) it also writes every request to a JSON file, which M(halb.loadbalancer.lb_drill_report)
    turns into a failover report and a timeline plot.
  - A GET on a reused keep-alive connection that the server closed is retried once on a new connection, as
    browsers do; any other method is never retried, so a POST meeting a dying server counts as failed.
  - It refuses any address that is not one of O(allowed_addresses) (your inventory's VIPs) unless
    O(force=true), so a typo cannot turn it on someone else's server.
  - Run it where the clients are, usually the controller (C(delegate_to=localhost)), with C(async) and
    C(poll=0) to inject a fault while it runs.
  - With O(progress_path) it rewrites a small JSON file about once a second while it runs, which a playbook
    can read to show progress (a module cannot print while it runs); the P(halb.loadbalancer.load_progress#lookup)
    lookup waits for each update and formats it as a line.
author: halb.loadbalancer contributors (!UNKNOWN)
options:
  url:
    description:
      - The URL to load, C(http://) or C(https://), whose host is the VIP (an address or a name that resolves
        to it), for example C(http://192.0.2.10/orders).
    type: str
    required: true
  allowed_addresses:
    description:
      - The addresses the load may go to, normally every C(keepalived_vip) of the inventory.
      - Every address the host of O(url) resolves to must be in this list.
    type: list
    elements: str
    default: []
  force:
    description:
      - Send the load even when the host of O(url) is not in O(allowed_addresses).
    type: bool
    default: false
  connections:
    description:
      - Concurrent connections, from 1 to 256, each sending one request after another.
    type: int
    default: 8
  seconds:
    description:
      - Most time the load runs, from 1 to 600 seconds.
    type: float
    default: 20
  max_requests:
    description:
      - Most requests the load sends, from 1 to 2,000,000; the load stops at whichever bound comes first.
    type: int
    default: 200000
  interval_ms:
    description:
      - Pace of each connection, one request every O(interval_ms); V(0) sends back to back.
    type: int
    default: 0
  timeout:
    description:
      - Seconds a request may take before it counts as failed, from 0.05 to 60.
    type: float
    default: 2.0
  method:
    description:
      - HTTP method of every request.
    type: str
    choices: [GET, HEAD, POST]
    default: GET
  body:
    description:
      - Request body, sent with O(method=POST).
    type: str
  host_header:
    description:
      - C(Host) header to send, for a frontend that routes by host name.
    type: str
  validate_certs:
    description:
      - Verify the TLS certificate of an C(https://) URL against the system's trust store.
    type: bool
    default: true
  records_path:
    description:
      - File on the host running the module to write every request to (JSON), for a report.
    type: path
  progress_path:
    description:
      - File on the host running the module to rewrite about once a second while the load runs, and a last
        time when it ends, with C(tick), C(elapsed_s), C(seconds), C(requests) and C(failures) so far, C(rps)
        and C(p99_ms) of the requests answered in the last second, C(done) and C(updated_at) (Unix time).
      - Each update replaces the file whole, so a reader never sees a partial one.
    type: path
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: In check mode it sends nothing and returns zero requests.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: Load the VIP for 30 seconds over 16 connections
  halb.loadbalancer.lb_load:
    url: "http://{{ keepalived_vip }}/orders"
    allowed_addresses: "{{ groups['lb'] | map('extract', hostvars, 'keepalived_vip') | unique }}"
    connections: 16
    seconds: 30
  delegate_to: localhost
  run_once: true
  register: load

- name: Show the throughput
  ansible.builtin.debug:
    msg: "{{ load.requests }} requests, {{ load.failures }} failed, p99 {{ load.latency.p99_ms }} ms"
"""

RETURN = r"""
requests:
  description: Requests sent.
  returned: always
  type: int
failures:
  description: Requests without an answer or with a status of 400 or more.
  returned: always
  type: int
errors:
  description: Failed requests by cause (an exception name such as C(ConnectionResetError), or C(status 503)).
  returned: always
  type: dict
rps:
  description: Requests per second over the run.
  returned: always
  type: float
latency:
  description: C(count), C(p50_ms), C(p99_ms) and C(max_ms) of the successful requests.
  returned: always
  type: dict
backends:
  description: Successful answers per backend, by their C(X-Backend) header.
  returned: always
  type: dict
began_at:
  description: Unix time the load began.
  returned: always
  type: float
ended_at:
  description: Unix time the load ended.
  returned: always
  type: float
records_path:
  description: Where the per-request records were written.
  returned: when O(records_path) is set
  type: str
progress_path:
  description: Where the progress was written.
  returned: when O(progress_path) is set
  type: str
"""

import json
import os
import re
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.halb.loadbalancer.plugins.module_utils import load_client
from ansible_collections.halb.loadbalancer.plugins.module_utils.load_target import TargetError, parse_target

BOUNDS = {
    "connections": (1, 256, "concurrent connections"),
    "seconds": (1, 600, "seconds of load"),
    "max_requests": (1, 2000000, "requests"),
    "interval_ms": (0, 60000, "ms between a connection's requests"),
    "timeout": (0.05, 60, "seconds per request"),
}
HOST_HEADER = re.compile(r"[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?\Z")


def check_params(params):
    """The first problem with the options, as a message naming the option; None when all are good."""
    for name, (low, high, what) in sorted(BOUNDS.items()):
        if not low <= params[name] <= high:
            return "%s: %s is out of range; give %s to %s %s" % (name, params[name], low, high, what)
    if params["host_header"] is not None and not HOST_HEADER.match(params["host_header"]):
        return (
            "host_header: %r is not a host name (letters, digits, dots, dashes; an optional :port)"
            % params["host_header"]
        )
    if params["body"] is not None and params["method"] != "POST":
        return "body: a body is only sent with method POST"
    return None


def _make_parent(path):
    directory = os.path.dirname(path)
    if directory and not os.path.isdir(directory):
        os.makedirs(directory)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            allowed_addresses=dict(type="list", elements="str", default=[]),
            force=dict(type="bool", default=False),
            connections=dict(type="int", default=8),
            seconds=dict(type="float", default=20),
            max_requests=dict(type="int", default=200000),
            interval_ms=dict(type="int", default=0),
            timeout=dict(type="float", default=2.0),
            method=dict(type="str", choices=["GET", "HEAD", "POST"], default="GET"),
            body=dict(type="str"),
            host_header=dict(type="str"),
            validate_certs=dict(type="bool", default=True),
            records_path=dict(type="path"),
            progress_path=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    problem = check_params(params)
    if problem:
        module.fail_json(msg=problem)
    try:
        target = parse_target(params["url"], params["allowed_addresses"], params["force"])
    except TargetError as exc:
        module.fail_json(msg=str(exc))
    target.method = params["method"]
    target.body = params["body"].encode("utf-8") if params["body"] is not None else None
    target.host_header = params["host_header"]
    target.verify = params["validate_certs"]

    if module.check_mode:
        now = time.time()
        module.exit_json(
            changed=False,
            requests=0,
            failures=0,
            errors={},
            rps=0.0,
            latency=load_client.latency([]),
            backends={},
            began_at=now,
            ended_at=now,
        )

    started = time.time()
    try:
        if params["progress_path"]:
            _make_parent(params["progress_path"])
        records = load_client.run(
            target,
            params["seconds"],
            connections=params["connections"],
            max_requests=params["max_requests"],
            timeout=params["timeout"],
            interval=params["interval_ms"] / 1000.0,
            progress_path=params["progress_path"],
        )
    except OSError as exc:
        # Only the progress file's directory or first write raises, before any request.
        module.fail_json(msg="progress_path: cannot write %s: %s" % (params["progress_path"], exc))
    ended = time.time()
    result = load_client.summary(records, ended - started)
    # Not "started": async_status reads that key as "still running".
    result.update(changed=False, began_at=started, ended_at=ended)
    if params["records_path"]:
        path = params["records_path"]
        _make_parent(path)
        with open(path, "w") as handle:
            run = {"url": params["url"], "method": params["method"], "connections": params["connections"]}
            run.update(started=started, ended=ended, records=[r.as_list() for r in records])
            json.dump(run, handle)
        result["records_path"] = path
    if params["progress_path"]:
        result["progress_path"] = params["progress_path"]
    module.exit_json(**result)


if __name__ == "__main__":
    main()

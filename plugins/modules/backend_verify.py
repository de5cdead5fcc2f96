#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backend_verify
short_description: Probe every backend server of a pool and report health and latency
version_added: 0.1.0
author: halb.loadbalancer contributors (!UNKNOWN)
description:
  - Sends a few HTTP requests, or TCP connects, to every server of a backend pool from the managed host, and reports
    for each server whether it is healthy, its latency (min, median, 95th percentile, max) and why probes failed.
  - Run it on the load balancer nodes to see the pool as HAProxy sees it, before or after a change.
  - Fails when fewer servers are healthy than O(min_healthy), with a message that names each unhealthy server and
    why it failed.
  - Servers are probed in parallel (see O(workers)); the probes of one server are sent one after another.
options:
  servers:
    description:
      - The backend servers to probe.
      - The C(lb_backend_servers) list of the C(halb.loadbalancer.lb) role, or the C(servers) of a pool in the fact
        C(lb_service) it publishes, can be passed as it is.
    type: list
    elements: dict
    required: true
    suboptions:
      address:
        description:
          - IPv4 address, IPv6 address (with or without brackets) or DNS name of the server.
          - A name is resolved on every probe; the lookup counts towards the latency, but a slow lookup is not cut
            short by O(timeout).
        type: str
        required: true
      port:
        description: TCP port of the server, 1-65535.
        type: int
        required: true
      name:
        description:
          - Name of the server in the results and messages.
          - Defaults to C(address:port), with an IPv6 address in brackets.
        type: str
      weight:
        description: Ignored; accepted so a pool list can be passed as it is.
        type: int
      backup:
        description:
          - Ignored; accepted so a pool list can be passed as it is.
          - Backup servers are probed like the others.
        type: bool
      drain:
        description:
          - Ignored; accepted so a pool list can be passed as it is.
          - Drained servers are probed like the others.
        type: bool
      max_fails:
        description: Ignored; accepted so a pool list can be passed as it is.
        type: int
      fail_timeout:
        description: Ignored; accepted so a pool list can be passed as it is.
        type: str
  mode:
    description:
      - V(http) sends an HTTP/1.1 request (plain HTTP, no TLS) and checks the status and, with O(body_contains), the
        body.
      - V(tcp) only opens a TCP connection and closes it again.
    type: str
    choices: [http, tcp]
    default: http
  path:
    description: Path (and query) of the HTTP request. Must start with C(/). Ignored in O(mode=tcp).
    type: str
    default: /health
  method:
    description: HTTP method of the request. Ignored in O(mode=tcp).
    type: str
    default: GET
  expected_status:
    description: HTTP statuses of a successful probe. Ignored in O(mode=tcp).
    type: list
    elements: int
    default: [200]
  body_contains:
    description:
      - A probe succeeds only when the response body contains this text (compared as UTF-8 bytes, case-sensitive).
      - Not set, the body is read but not checked. Ignored in O(mode=tcp).
    type: str
  host_header:
    description:
      - Value of the C(Host) header of the request, for backends that serve by virtual host.
      - Defaults to C(address:port) of the server, with an IPv6 address in brackets. Ignored in O(mode=tcp).
    type: str
  timeout:
    description:
      - Seconds one probe may take in all, from connecting to reading the whole response. A slower probe fails
        with reason C(timeout).
    type: float
    default: 2.0
  probes:
    description: Number of probes sent to each server, at least 1.
    type: int
    default: 5
  interval:
    description: Seconds to wait between two probes of the same server.
    type: float
    default: 0.0
  min_success_ratio:
    description:
      - Share of a server's probes, 0-1, that must succeed for the server to count as healthy.
      - The default 1.0 requires every probe to succeed; 0.8 with 5 probes tolerates one failure.
    type: float
    default: 1.0
  min_healthy:
    description:
      - The task fails when fewer servers than this are healthy. At most the number of O(servers).
      - V(0) never fails and only reports. Not set, every server must be healthy.
    type: int
  workers:
    description: How many servers are probed at the same time.
    type: int
    default: 16
attributes:
  check_mode:
    description: Can run in check mode and return the same results as without it.
    support: full
    details: The probes only read, so they are sent in check mode too.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: none
notes:
  - Supports check mode. The module only reads and never reports C(changed); it sends its probes in check mode too,
    so the results are the real ones.
  - Failure reasons are C(refused) (connection refused), C(timeout) (no complete answer within O(timeout)),
    C(unreachable) (any other network error, such as no route to the host, a name that does not resolve or a
    connection reset), C(wrong_status), C(body_mismatch) and C(protocol) (the answer is not HTTP).
  - The 95th percentile is by the nearest-rank method, so it is always one of the measured latencies; with 5
    probes it is the maximum.
  - Options are checked before any probe is sent; a bad value fails the task at once.
"""

EXAMPLES = r"""
- name: Every server of the pool answers its health check, seen from each load balancer
  halb.loadbalancer.backend_verify:
    servers: "{{ lb_backend_servers }}"
    path: "{{ lb_health_check_path }}"
    expected_status: "{{ lb_health_check_status }}"

- name: Two of three servers are enough; report the rest
  halb.loadbalancer.backend_verify:
    servers:
      - {name: web1, address: 192.0.2.11, port: 8080}
      - {name: web2, address: 192.0.2.12, port: 8080}
      - {name: web3, address: "2001:db8::13", port: 8080}
    min_healthy: 2
  register: pool

- name: Show the median latency of each server
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ (item.latency_ms.median ~ ' ms') if item.latency_ms else item.top_failure }}"
  loop: "{{ pool.servers }}"
  loop_control:
    label: "{{ item.name }}"

- name: The application answers with its page on a virtual host, 8 of 10 probes at least
  halb.loadbalancer.backend_verify:
    servers: "{{ lb_backend_servers }}"
    path: /
    host_header: www.example.com
    body_contains: Welcome
    probes: 10
    interval: 0.2
    min_success_ratio: 0.8

- name: Something listens on the database port
  halb.loadbalancer.backend_verify:
    servers:
      - {address: db1.example.com, port: 5432}
    mode: tcp
    probes: 3
    timeout: 1.0
"""

RETURN = r"""
servers:
  description: One entry per server, in the order of O(servers).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the server; C(address:port) when none was given.
      type: str
      sample: web3
    address:
      description: Address probed, without brackets.
      type: str
      sample: 192.0.2.13
    port:
      description: Port probed.
      type: int
      sample: 8080
    healthy:
      description: Whether at least O(min_success_ratio) of the probes succeeded.
      type: bool
      sample: false
    successes:
      description: Number of probes that succeeded.
      type: int
      sample: 0
    probes:
      description: Number of probes sent.
      type: int
      sample: 5
    latency_ms:
      description:
        - Latency of the successful probes in milliseconds; null when none succeeded.
        - C(p95) is the 95th percentile by the nearest-rank method.
      type: dict
      sample: {min: 1.204, median: 1.532, p95: 2.871, max: 2.871}
    failures:
      description:
        - The failed probes grouped by reason and detail, most frequent first; empty when every probe succeeded.
        - C(reason) is one of C(refused), C(timeout), C(unreachable), C(wrong_status), C(body_mismatch), C(protocol).
      type: list
      elements: dict
      sample: [{reason: refused, detail: connection refused, count: 5}]
    top_failure:
      description: The reason behind the most failed probes; null when none failed.
      type: str
      sample: refused
healthy:
  description: Number of healthy servers.
  returned: always
  type: int
  sample: 2
unhealthy:
  description: Names of the servers that are not healthy.
  returned: always
  type: list
  elements: str
  sample: [web3]
total:
  description: Number of servers probed.
  returned: always
  type: int
  sample: 3
msg:
  description: Summary for people.
  returned: always
  type: str
  sample: "2 of 3 backends healthy; web3 (192.0.2.13:8080): refused x5 (connection refused)"
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.halb.loadbalancer.plugins.module_utils.backend_probe import (
    ProbeSettings,
    probe_servers,
    summary_message,
)

# \Z, not "$": "$" also matches before a trailing newline, which would end
# the request line or header early.
# RFC 9110 token characters; anything else would break the request line.
METHOD_RE = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+\Z")
# Printable ASCII without spaces: the path goes into the request line as it is.
PATH_RE = re.compile(r"/[!-~]*\Z")
HOST_RE = re.compile(r"[!-~]+\Z")


def option_errors(params):
    """Messages for option values the argument spec cannot check; empty when all is well."""
    errors = []
    servers = params["servers"]
    if not servers:
        errors.append("servers is empty. List at least one backend, each with address and port.")
    for index, server in enumerate(servers):
        label = "servers[%d]" % index
        if not (server["address"] or "").strip():
            errors.append("%s.address is empty. Set it to the IP address or DNS name of the backend." % label)
        if not 1 <= server["port"] <= 65535:
            errors.append(
                "%s.port: %d (%s) is outside 1-65535. Set it to the TCP port the backend listens on."
                % (label, server["port"], server["name"] or server["address"])
            )
    if params["probes"] < 1:
        errors.append("probes: %d is less than 1. Send at least one probe per server." % params["probes"])
    if params["timeout"] <= 0:
        errors.append("timeout: %s must be more than 0 seconds, e.g. 2.0." % params["timeout"])
    if params["interval"] < 0:
        errors.append("interval: %s is negative. Use 0 for no pause between probes." % params["interval"])
    if not 0 <= params["min_success_ratio"] <= 1:
        errors.append(
            "min_success_ratio: %s is outside 0-1. Use 1.0 to require every probe to succeed, 0.8 to allow "
            "one failure in 5 probes." % params["min_success_ratio"]
        )
    min_healthy = params["min_healthy"]
    if min_healthy is not None and min_healthy < 0:
        errors.append("min_healthy: %d is negative. Use 0 to only report, or leave it unset." % min_healthy)
    if servers and min_healthy is not None and min_healthy > len(servers):
        errors.append(
            "min_healthy: %d is more than the %d servers listed. Lower it to %d at most, or list more servers."
            % (min_healthy, len(servers), len(servers))
        )
    if params["workers"] < 1:
        errors.append("workers: %d is less than 1. Use at least 1 (default 16)." % params["workers"])
    if params["mode"] == "http":
        errors.extend(_http_option_errors(params))
    return errors


def _http_option_errors(params):
    errors = []
    statuses = params["expected_status"]
    if not statuses:
        errors.append("expected_status is empty. List the statuses of a healthy answer, e.g. [200].")
    bad = [status for status in statuses if not 100 <= status <= 599]
    if bad:
        errors.append(
            "expected_status: %s is not an HTTP status. Use statuses within 100-599, e.g. [200]."
            % ", ".join(str(status) for status in bad)
        )
    if not PATH_RE.match(params["path"]):
        errors.append(
            "path: %r must start with / and hold no spaces or non-ASCII characters. Percent-encode them, "
            "e.g. /health%%20check." % params["path"]
        )
    if not METHOD_RE.match(params["method"]):
        errors.append("method: %r is not an HTTP method. Use e.g. GET or HEAD." % params["method"])
    if params["host_header"] is not None and not HOST_RE.match(params["host_header"]):
        errors.append(
            "host_header: %r must be a host name, optionally with :port, without spaces or non-ASCII "
            "characters. Use e.g. www.example.com (punycode for international names)." % params["host_header"]
        )
    return errors


def main():
    module = AnsibleModule(
        argument_spec=dict(
            servers=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    address=dict(type="str", required=True),
                    port=dict(type="int", required=True),
                    name=dict(type="str"),
                    weight=dict(type="int"),
                    backup=dict(type="bool"),
                    drain=dict(type="bool"),
                    max_fails=dict(type="int"),
                    fail_timeout=dict(type="str"),
                ),
            ),
            mode=dict(type="str", choices=["http", "tcp"], default="http"),
            path=dict(type="str", default="/health"),
            method=dict(type="str", default="GET"),
            expected_status=dict(type="list", elements="int", default=[200]),
            body_contains=dict(type="str"),
            host_header=dict(type="str"),
            timeout=dict(type="float", default=2.0),
            probes=dict(type="int", default=5),
            interval=dict(type="float", default=0.0),
            min_success_ratio=dict(type="float", default=1.0),
            min_healthy=dict(type="int"),
            workers=dict(type="int", default=16),
        ),
        supports_check_mode=True,
    )
    params = module.params

    errors = option_errors(params)
    if errors:
        module.fail_json(msg=" ".join(errors))
    if params["mode"] == "tcp":
        for option in ("body_contains", "host_header"):
            if params[option] is not None:
                module.warn("%s is ignored in mode tcp: a TCP probe sends no request." % option)

    settings = ProbeSettings(
        mode=params["mode"],
        timeout=params["timeout"],
        method=params["method"],
        path=params["path"],
        expected_status=params["expected_status"],
        body_contains=params["body_contains"],
        host_header=params["host_header"],
        probes=params["probes"],
        interval=params["interval"],
        min_success_ratio=params["min_success_ratio"],
    )
    servers = [{"address": s["address"], "port": s["port"], "name": s["name"]} for s in params["servers"]]
    results = probe_servers(servers, settings, workers=params["workers"])

    healthy = sum(1 for result in results if result["healthy"])
    min_healthy = len(results) if params["min_healthy"] is None else params["min_healthy"]
    report = dict(
        changed=False,
        servers=results,
        healthy=healthy,
        unhealthy=[result["name"] for result in results if not result["healthy"]],
        total=len(results),
        msg=summary_message(results, min_healthy),
    )
    if healthy < min_healthy:
        module.fail_json(**report)
    module.exit_json(**report)


if __name__ == "__main__":
    main()

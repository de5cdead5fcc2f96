#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: halb.loadbalancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: lb_status
short_description: Report what a load balancer node or backend host is doing, changing nothing
version_added: 0.2.0
author: halb.loadbalancer contributors (!UNKNOWN)
description:
  - On a load balancer node (O(engine) set) reports whether the engine and keepalived run, the checksum and age of
    the engine's config, which of O(vips) the node holds, the host's load and memory, and every backend server as
    the engine sees it.
  - HAProxy servers come from its runtime API (C(show stat)) - state (UP, DOWN, DRAIN, MAINT), current sessions,
    new sessions in the last second, average response time of the last 1024 requests, last check.
  - nginx open source keeps no counters per server. Its servers are probed once from the node (the pool's health
    path) - state and response time are that probe's; sessions and rate are null. The engine's own connection and
    request counters come from C(stub_status) on O(health_listen).
  - Without O(engine) (a backend host) it reports only the host's load and memory.
  - Reads only; runs the same in check mode. The C(halb.loadbalancer.status) playbook runs it everywhere and prints
    one table.
options:
  engine:
    description: The node's engine. Omit on a backend host.
    type: str
    choices: [haproxy, nginx]
  unit:
    description: The engine's systemd unit.
    type: str
  keepalived_unit:
    description: keepalived's systemd unit.
    type: str
    default: keepalived.service
  config:
    description: The engine's config file, whose checksum and age are reported.
    type: path
  vips:
    description: The VIP addresses of the node's group; the result says which of them this node holds.
    type: list
    elements: str
    default: []
  runtime_socket:
    description: HAProxy's runtime API socket.
    type: path
    default: /run/haproxy/admin.sock
  health_listen:
    description:
      - The address and port of the engine's local health listener (the lb role's C(lb_health_listen)), where nginx
        also serves C(stub_status) at C(/halb-status). Empty - no nginx counters.
    type: str
    default: 127.0.0.1:8901
  pools:
    description:
      - The pools of the spec (the C(pools) of the fact C(lb_service) the lb role publishes), for nginx, whose
        servers are probed at their pool's health path.
    type: list
    elements: dict
    default: []
  probe_timeout:
    description: Seconds each nginx server probe may take.
    type: float
    default: 1.0
notes:
  - Supports check mode (it only reads).
"""

EXAMPLES = r"""
- name: What this node is doing
  halb.loadbalancer.lb_status:
    engine: "{{ lb_engine }}"
    unit: "{{ lb_service.unit }}"
    config: /etc/haproxy/haproxy.cfg
    vips: ["{{ keepalived_vip }}"]
    pools: "{{ lb_service.pools }}"
  register: node_status
"""

RETURN = r"""
engine:
  description: The engine, or null on a backend host.
  returned: always
  type: str
engine_active:
  description: Whether the engine's unit is active.
  returned: when engine is set
  type: bool
keepalived_active:
  description: Whether keepalived's unit is active.
  returned: when engine is set
  type: bool
config:
  description: C(sha256) and C(age_s) (seconds since it was written) of the config; null when it is missing.
  returned: when engine is set
  type: dict
vips:
  description: O(vips), as given.
  returned: when engine is set
  type: list
  elements: str
vips_held:
  description: The addresses of O(vips) this node holds now.
  returned: when engine is set
  type: list
  elements: str
host:
  description: C(load) (1, 5, 15 minutes), C(mem_total_mb), C(mem_available_mb).
  returned: always
  type: dict
servers:
  description:
    - One per backend server - C(pool), C(server), C(state), C(sessions) (open now), C(rate) (new in the last
      second), C(total) (since the engine started; HTTP - requests), C(response_ms), C(check), C(weight); null where
      the engine keeps no such number.
  returned: when engine is set
  type: list
  elements: dict
engine_stats:
  description: nginx's C(stub_status) counters (C(active), C(accepted), C(handled), C(requests), ...); HAProxy - {}.
  returned: when engine is set
  type: dict
errors:
  description: What could not be read (the runtime socket, nginx's counters), each as one line; the rest is reported.
  returned: always
  type: list
  elements: str
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

from ansible_collections.halb.loadbalancer.plugins.module_utils import (
    backend_probe,
    engine_facts,
    haproxy_runtime,
    lb_status,
)


def _read(path):
    with open(path) as handle:
        return handle.read()


def _active(module, unit):
    rc, _out, _err = module.run_command(["systemctl", "is-active", "--quiet", unit])
    return rc == 0


def _nginx(module, result):
    params = module.params
    if params["health_listen"]:
        url = "http://%s%s" % (params["health_listen"], engine_facts.STATUS_PATH)
        try:
            page = open_url(url, timeout=5).read().decode("utf-8", "replace")
            result["engine_stats"] = lb_status.parse_stub_status(page)
        except (OSError, ValueError) as exc:  # reported; the rest still is
            result["errors"].append("nginx counters at %s: %s" % (url, exc))
    probes = []
    for pool in params["pools"]:
        settings = backend_probe.ProbeSettings(
            mode=pool.get("mode", "http"),
            timeout=params["probe_timeout"],
            path=(pool.get("health_check") or {}).get("path", "/health"),
            expected_status=(pool.get("health_check") or {}).get("expected_status", 200),
            probes=1,
        )
        probes += backend_probe.probe_servers(pool.get("servers", []), settings)
    result["servers"] = lb_status.nginx_servers(params["pools"], probes)


def _haproxy(module, result):
    try:
        rows = haproxy_runtime.RuntimeClient(module.params["runtime_socket"]).show_stat()
        result["servers"] = lb_status.haproxy_servers(rows)
    except haproxy_runtime.RuntimeApiError as exc:
        result["errors"].append("runtime API %s: %s" % (module.params["runtime_socket"], exc))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            engine=dict(type="str", choices=["haproxy", "nginx"]),
            unit=dict(type="str"),
            keepalived_unit=dict(type="str", default="keepalived.service"),
            config=dict(type="path"),
            vips=dict(type="list", elements="str", default=[]),
            runtime_socket=dict(type="path", default="/run/haproxy/admin.sock"),
            health_listen=dict(type="str", default="127.0.0.1:8901"),
            pools=dict(type="list", elements="dict", default=[]),
            probe_timeout=dict(type="float", default=1.0),
        ),
        required_if=[("engine", "haproxy", ("unit", "config")), ("engine", "nginx", ("unit", "config"))],
        supports_check_mode=True,
    )
    params = module.params
    result = dict(changed=False, engine=params["engine"], errors=[])
    result["host"] = lb_status.host_load(_read("/proc/loadavg"), _read("/proc/meminfo"))
    if params["engine"]:
        result["engine_active"] = _active(module, params["unit"])
        result["keepalived_active"] = _active(module, params["keepalived_unit"])
        result["config"] = lb_status.file_summary(params["config"], time.time())
        rc, out, err = module.run_command(["ip", "-o", "addr", "show"])
        if rc:
            module.fail_json(msg="ip -o addr show failed: %s" % err.strip(), **result)
        held = lb_status.held_addresses(out)
        result["vips"] = params["vips"]
        result["vips_held"] = [vip for vip in params["vips"] if vip.split("/")[0] in held]
        result["servers"], result["engine_stats"] = [], {}
        if params["engine"] == "haproxy":
            _haproxy(module, result)
        else:
            _nginx(module, result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

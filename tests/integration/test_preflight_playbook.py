"""Bad inventories stop halb.loadbalancer.preflight (the first play of
site.yml) with one clear message, before any host is changed.

The "hosts" are this machine over a local connection, and the VIP sits in
the loopback subnet, so the facts are real and nothing leaves the machine.
Only the pre-flight playbook runs: it changes nothing.
"""

import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

GOOD_LB_VARS = {
    "keepalived_vip": "127.0.0.100",
    "keepalived_interface": "lo",
    "keepalived_advert_int": 0.1,
    "lb_backend_servers": [
        {"name": "be1", "address": "127.0.0.21", "port": 8080},
        {"name": "be2", "address": "127.0.0.22", "port": 8080},
    ],
}


def run_preflight(tmp_path, lb_vars=None, lb1=None, lb2=None):
    hosts = {
        "lb1": {"keepalived_priority": 150, **(lb1 or {})},
        "lb2": {"keepalived_priority": 100, **(lb2 or {})},
    }
    inventory = {
        "all": {
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
            "children": {"lb": {"hosts": hosts, "vars": {**GOOD_LB_VARS, **(lb_vars or {})}}},
        }
    }
    inv = tmp_path / "hosts.yml"
    inv.write_text(yaml.safe_dump(inventory))
    env = dict(
        os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_CALLBACK_RESULT_FORMAT="json"
    )
    return subprocess.run(
        ["ansible-playbook", "-i", str(inv), os.path.join(ROOT, "playbooks", "preflight.yml")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "lb_vars",
    [
        {},
        {"lb_engine": "nginx"},
        # Templating often yields numbers as strings: they are numbers.
        {"lb_frontend_port": "8080", "lb_maxconn": "2048"},
        # Active-active: one VRRP instance per VIP, MASTERs spread over the nodes.
        {
            "keepalived_vip": "",
            "keepalived_vips": [
                {"address": "127.0.0.101", "virtual_router_id": 61},
                {"address": "127.0.0.102", "virtual_router_id": 62},
            ],
        },
    ],
    ids=["haproxy", "nginx", "numeric-strings", "active-active"],
)
def test_good_inventory_passes(tmp_path, lb_vars):
    result = run_preflight(tmp_path, lb_vars=lb_vars)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (
            {"lb_vars": {"keepalived_vip": "10.99.0.100"}},
            "keepalived_vip: 10.99.0.100 is not inside the subnet of lo on lb1 (127.0.0.0/8)",
        ),
        (
            {"lb2": {"keepalived_priority": 150}},
            "keepalived_priority: lb1 and lb2 both have priority 150 in VRRP instance 51",
        ),
        (
            {
                "lb_vars": {
                    "lb_backend_servers": [
                        {"name": "be1", "address": "127.0.0.21", "port": 8080},
                        {"name": "be2", "address": "127.0.0.21", "port": 8080},
                    ]
                }
            },
            "lb_backend_servers[1]: 127.0.0.21 port 8080 is already listed at servers[0]",
        ),
        ({"lb_vars": {"lb_backend_servers": []}}, "lb_backend_servers: the pool is empty"),
        ({"lb_vars": {"keepalived_interface": "nope0"}}, "keepalived_interface: nope0 does not exist on lb1"),
        (
            {"lb_vars": {"keepalived_vips": [{"address": "127.0.0.101", "virtual_router_id": 61}]}},
            "keepalived_vip and keepalived_vips are both set on lb1",
        ),
        (
            {
                "lb_vars": {
                    "keepalived_vip": "",
                    "keepalived_vips": [
                        {"address": "127.0.0.101", "virtual_router_id": 61, "priorities": {"lb2": 200}},
                    ],
                }
            },
            "keepalived_vips[0].priorities: lb1 and lb2 both have priority 200 in VRRP instance 61",
        ),
        (
            {
                "lb_vars": {
                    "keepalived_vip": "",
                    "keepalived_vips": [{"address": "127.0.0.101", "virtual_router_id": "x"}],
                }
            },
            # Ansible's own argument spec check, which names the entry's field and the list.
            "found in 'keepalived_vips'. and we were unable to convert to int",
        ),
        ({"lb_vars": {"keepalived_auth_pass": "secret"}}, "VRRPv3 has no authentication (RFC 5798)"),
        ({"lb_vars": {"lb_strategy": "fastest"}}, "value of lb_strategy must be one of"),
        ({"lb_vars": {"lb_engine": "traefik"}}, "value of lb_engine must be one of: haproxy, nginx"),
        ({"lb_vars": {"keepalived_vip": "", "lb_strategy": "round_robin"}}, "keepalived_vip is not set for lb1"),
        ({"lb_vars": {"lb_timeout_connect": "5 seconds"}}, "lb_timeout_connect: '5 seconds' is not a duration"),
        (
            {
                "lb_vars": {
                    "lb_engine": "nginx",
                    "lb_backend_servers": [{"name": "be1", "address": "127.0.0.21", "port": 8080, "weight": 0}],
                }
            },
            "lb_backend_servers[0].weight: 0 is out of range for nginx (1-1000)",
        ),
        (
            {
                "lb_vars": {
                    "lb_spec": {
                        "pools": [{"name": "shop", "servers": [{"address": "127.0.0.21", "port": 70000}]}],
                        "frontends": [{"port": 80, "pool": "shop"}],
                    }
                }
            },
            "lb_spec.pools[0].servers[0].port: 70000 is not a TCP port (1-65535)",
        ),
        (
            {
                "lb_vars": {
                    "lb_spec": {
                        "pools": [
                            {
                                "name": "shop",
                                "strategy": "fastest_response",
                                "fastest_response": {"half_life": "5ms"},
                                "servers": [{"address": "127.0.0.21", "port": 8080}],
                            }
                        ],
                        "frontends": [{"port": 80, "pool": "shop"}],
                    }
                }
            },
            "lb_spec.pools[0].fastest_response.half_life: 5ms is out of range (10ms-60s)",
        ),
        (
            {"lb_vars": {"lb_health_listen": "127.0.0.1:8901 ssl crt /etc/passwd"}},
            "lb_health_listen: '127.0.0.1:8901 ssl crt /etc/passwd' is not an IP address and port",
        ),
        (
            {"lb_vars": {"keepalived_realtime_priority": 120}},
            "keepalived_realtime_priority: 120 on lb1 is outside 0-99",
        ),
        (
            {"lb_vars": {"keepalived_instance_name": "vip }\nvrrp_instance evil {"}},
            # The task result is JSON: the repr's backslash comes out doubled.
            "keepalived_instance_name: 'vip }\\\\nvrrp_instance evil {' on lb1 is not a name keepalived.conf can take",
        ),
    ],
    ids=[
        "vip-outside-subnet",
        "same-priority",
        "duplicate-backend",
        "empty-pool",
        "unknown-interface",
        "vip-and-vips",
        "vips-priorities-tie",
        "vips-router-id-not-a-number",
        "vrrpv3-with-password",
        "unknown-strategy",
        "unknown-engine",
        "missing-vip",
        "timeout-not-duration",
        "nginx-weight-zero",
        "full-spec-bad-port",
        "agent-not-on-loopback",
        "health-listen-injection",
        "realtime-priority-out-of-range",
        "keepalived-instance-name-injection",
    ],
)
def test_bad_inventory_stops_with_clear_message(tmp_path, case, expected):
    result = run_preflight(tmp_path, **case)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert expected in output, output

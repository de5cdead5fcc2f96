"""Table-driven tests of the inventory pre-flight checks."""

import pytest

from ansible_collections.halb.loadbalancer.plugins.module_utils import preflight

# ansible_facts as the setup module reports them for a node on 172.29.10.0/24.
FACTS = {
    "interfaces": ["lo", "eth0"],
    "eth0": {
        "ipv4": {"address": "172.29.10.11", "netmask": "255.255.255.0", "network": "172.29.10.0"},
        "ipv6": [
            {"address": "fe80::1", "prefix": "64", "scope": "link"},
            {"address": "fd00:10::11", "prefix": "64", "scope": "global"},
        ],
    },
    "eth1_100": {"ipv4": {"address": "198.51.100.5", "netmask": "255.255.255.0"}},
}


@pytest.mark.parametrize(
    ("vip", "interface", "expected"),
    [
        ("172.29.10.100", "eth0", None),
        ("fd00:10::100", "eth0", None),
        ("198.51.100.9", "eth1.100", None),  # facts key has dots turned into underscores
        ("172.30.0.100", "eth0", "is not inside the subnet of eth0 on lb1 (172.29.10.0/24)"),
        ("fd00:99::1", "eth0", "is not inside the subnet of eth0 on lb1 (fd00:10::/64)"),
        ("172.29.10.11", "eth0", "is the address of lb1 itself"),
        ("172.29.10.300", "eth0", "is not an IP address"),
        ("", "eth0", "keepalived_vip is not set for lb1. Set it to a spare address in the subnet of eth0"),
        ("172.29.10.100", "eth9", "keepalived_interface: eth9 does not exist on lb1 (it has: eth0)"),
    ],
)
def test_vip_errors(vip, interface, expected):
    errors = preflight.vip_errors("lb1", vip, interface, FACTS)
    if expected is None:
        assert errors == []
    else:
        assert len(errors) == 1
        assert expected in errors[0]
        assert errors[0].startswith(("keepalived_vip", "keepalived_interface:"))


def test_vip_held_right_now_by_this_node_passes():
    facts = {
        "interfaces": ["eth0"],
        "eth0": {
            "ipv4": {"address": "172.29.10.11", "netmask": "255.255.255.0"},
            "ipv4_secondaries": [{"address": "172.29.10.100", "netmask": "255.255.255.255"}],
        },
    }
    assert preflight.vip_errors("lb1", "172.29.10.100", "eth0", facts) == []


def test_vip_in_interface_without_that_family():
    facts = {"interfaces": ["eth0"], "eth0": {"ipv4": {"address": "172.29.10.11", "netmask": "255.255.255.0"}}}
    (error,) = preflight.vip_errors("lb1", "fd00::5", "eth0", facts)
    assert "no IPv6 address" in error


def test_priorities_distinct_pass():
    nodes = [
        {"host": "lb1", "virtual_router_id": 51, "priority": 150},
        {"host": "lb2", "virtual_router_id": 51, "priority": 100},
        {"host": "lb3", "virtual_router_id": 52, "priority": 150},  # another instance may reuse 150
    ]
    assert preflight.priority_errors(nodes) == []


def test_priorities_clash_names_both_hosts():
    nodes = [
        {"host": "lb1", "virtual_router_id": "51", "priority": "100"},  # hostvars give strings
        {"host": "lb2", "virtual_router_id": 51, "priority": 100},
    ]
    (error,) = preflight.priority_errors(nodes)
    assert error.startswith("keepalived_priority: lb1 and lb2 both have priority 100 in VRRP instance 51")
    assert "distinct priority" in error


def server(name, address="192.0.2.11", port=8080, **extra):
    return {"name": name, "address": address, "port": port, **extra}


@pytest.mark.parametrize(
    ("servers", "expected"),
    [
        ([], "haproxy_backend_servers: the backend pool is empty"),
        (
            [server("a"), server("b", address="192.0.2.11")],
            "haproxy_backend_servers[1] (b): 192.0.2.11 port 8080 is already listed at haproxy_backend_servers[0]",
        ),
        (
            [server("a", address="[2001:db8::1]"), server("b", address="2001:DB8::1")],
            "2001:db8::1 port 8080 is already listed",
        ),
        ([server("a"), server("a", address="192.0.2.12")], "server name 'a' is already used"),
        ([server("a", backup=True), server("b", address="192.0.2.12", backup=True)], "every server is marked backup"),
        ([server("a", port=70000)], "haproxy_backend_servers[0] (a): port 70000 is not a TCP port (1-65535)"),
        ([server("a", port=0)], "port 0 is not a TCP port"),
        ([server("a", weight=257)], "weight 257 is out of range for HAProxy (0-256)"),
    ],
)
def test_backend_pool_errors(servers, expected):
    errors = preflight.backend_pool_errors(servers)
    assert any(expected in e for e in errors), errors


def test_backend_pool_sound():
    pool = [server("a"), server("b", address="192.0.2.12", weight=3), server("c", port=8081, backup=True)]
    assert preflight.backend_pool_errors(pool) == []


def test_backend_pool_engine_range_is_named():
    (error,) = preflight.backend_pool_errors([server("a", weight=0)], "nginx_servers", (1, 1000), "nginx")
    assert error == "nginx_servers[0] (a): weight 0 is out of range for nginx (1-1000)."


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"virtual_router_id": 0}, "keepalived_virtual_router_id: 0 on lb1 is outside 1-255."),
        ({"virtual_router_id": 256}, "keepalived_virtual_router_id: 256 on lb1 is outside 1-255."),
        ({"priority": 255}, "keepalived_priority: 255 on lb1 is outside 1-254"),
        ({"advert_int": 0.001}, "keepalived_advert_int: 0.001 s on lb1 is outside 0.01-40.95 s for VRRPv3."),
        ({"version": 2, "advert_int": 0.5}, "keepalived_advert_int: 0.5 s on lb1 is outside 1-255 s for VRRPv2."),
        ({"version": 2, "advert_int": 1.5}, "needs keepalived_vrrp_version: 3"),
        ({"auth_pass": "secret"}, "VRRPv3 has no authentication (RFC 5798)"),
        ({"version": 2, "advert_int": 1, "auth_pass": "123456789"}, "at most 8 characters (9 given on lb1)"),
    ],
)
def test_vrrp_errors(settings, expected):
    args = {"version": 3, "advert_int": 0.1, "priority": 100, "virtual_router_id": 51, "auth_pass": ""}
    args.update(settings)
    errors = preflight.vrrp_errors("lb1", **args)
    assert len(errors) == 1, errors
    assert expected in errors[0]


def test_vrrp_sound_settings():
    assert preflight.vrrp_errors("lb1", 3, 0.1, 150, 51) == []
    assert preflight.vrrp_errors("lb1", "2", "1", "150", "51", "s3cret") == []

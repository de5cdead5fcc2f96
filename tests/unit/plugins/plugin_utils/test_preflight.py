"""Table-driven tests of the inventory pre-flight checks."""

import pytest

from ansible_collections.halb.loadbalancer.plugins.plugin_utils import preflight

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
        (
            "172.29.10.0",
            "eth0",
            "keepalived_vip: 172.29.10.0 on lb1 is the network address of 172.29.10.0/24 on eth0; no host can "
            "hold it. Pick a free address between 172.29.10.1 and 172.29.10.254.",
        ),
        ("172.29.10.255", "eth0", "is the broadcast address of 172.29.10.0/24 on eth0"),
        (
            "fd00:10::",
            "eth0",
            "keepalived_vip: fd00:10:: on lb1 is the subnet-router anycast address of fd00:10::/64 on eth0; "
            "every router on the link answers it (RFC 4291). Pick a free address between fd00:10::1 and "
            "fd00:10::ffff:ffff:ffff:ffff.",
        ),
        ("fd00:10::ffff:ffff:ffff:ffff", "eth0", None),  # IPv6 has no broadcast address
        ("172.29.10.254", "eth0", None),
        ("172.29.10.1", "eth0", None),
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
        assert "lb1" in errors[0]


@pytest.mark.parametrize(
    ("addresses", "vip", "expected"),
    [
        # /31 and /127 point-to-point subnets have no network or broadcast address (RFC 3021, RFC 6164).
        ({"ipv4": {"address": "192.0.2.1", "netmask": "255.255.255.254"}}, "192.0.2.0", []),
        ({"ipv6": [{"address": "2001:db8::1", "prefix": "127", "scope": "global"}]}, "2001:db8::", []),
        # The most specific subnet decides: .255 of the /24 is its broadcast address, though the /16 holds it too.
        (
            {
                "ipv4": {"address": "10.1.0.5", "netmask": "255.255.0.0"},
                "ipv4_secondaries": [{"address": "10.1.2.5", "netmask": "255.255.255.0"}],
            },
            "10.1.2.255",
            ["is the broadcast address of 10.1.2.0/24"],
        ),
    ],
)
def test_vip_reserved_addresses_edge_cases(addresses, vip, expected):
    errors = preflight.vip_errors("lb1", vip, "eth0", {"interfaces": ["eth0"], "eth0": addresses})
    assert len(errors) == len(expected), errors
    for error, text in zip(errors, expected):
        assert text in error


@pytest.mark.parametrize(
    ("vip", "interface", "expected"),
    [
        ("172.29.10.100", "eth0", "172.29.10.0/24"),
        ("fd00:10::100", "eth0", "fd00:10::/64"),
        ("198.51.100.9", "eth1.100", "198.51.100.0/24"),
        ("172.30.0.100", "eth0", ""),  # outside every subnet: vip_errors reports it
        ("not-an-ip", "eth0", ""),
        ("", "eth0", ""),
        ("172.29.10.100", "eth9", ""),
    ],
)
def test_vip_segment(vip, interface, expected):
    assert preflight.vip_segment(vip, interface, FACTS) == expected


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


def test_priorities_clash_only_within_one_segment_and_vip():
    nodes = [
        {"host": "lb1", "virtual_router_id": 51, "priority": 150, "vip": "172.29.10.100", "segment": "172.29.10.0/24"},
        {"host": "lb2", "virtual_router_id": 51, "priority": 100, "vip": "172.29.10.100", "segment": "172.29.10.0/24"},
        # Another LB pair on another segment may reuse router id 51 and priority 150.
        {"host": "lb3", "virtual_router_id": 51, "priority": 150, "vip": "172.29.20.100", "segment": "172.29.20.0/24"},
        {"host": "lb4", "virtual_router_id": 51, "priority": 150, "vip": "172.29.20.100", "segment": "172.29.20.0/24"},
    ]
    (error,) = preflight.priority_errors(nodes)
    assert error.startswith("keepalived_priority: lb3 and lb4 both have priority 150 in VRRP instance 51")


def test_priorities_skip_values_that_are_not_numbers():
    """The per-host check names those; the play-wide one must not crash on them."""
    nodes = [
        {"host": "lb1", "virtual_router_id": "abc", "priority": 150},
        {"host": "lb2", "virtual_router_id": 51, "priority": "abc"},
        {"host": "lb3", "virtual_router_id": 51, "priority": "100"},
    ]
    assert preflight.priority_errors(nodes) == []


def node(host, vip, segment="172.29.10.0/24", virtual_router_id=51, priority=100):
    return {"host": host, "virtual_router_id": virtual_router_id, "priority": priority, "vip": vip, "segment": segment}


@pytest.mark.parametrize(
    ("nodes", "expected"),
    [
        # One pair, one VIP: fine, also with router ids given as strings (hostvars).
        ([node("lb1", "172.29.10.100", virtual_router_id="51"), node("lb2", "172.29.10.100")], []),
        # Two pairs on one segment with distinct router ids: fine.
        (
            [
                node("lb1", "172.29.10.100"),
                node("lb2", "172.29.10.100"),
                node("lb3", "172.29.10.200", virtual_router_id=52),
                node("lb4", "172.29.10.200", virtual_router_id=52),
            ],
            [],
        ),
        # Two pairs with router id 51 on two segments: fine.
        ([node("lb1", "172.29.10.100"), node("lb3", "172.29.20.100", segment="172.29.20.0/24")], []),
        # The same VIP spelled two ways is one VIP.
        ([node("lb1", "fd00:10::100", "fd00:10::/64"), node("lb2", "FD00:10:0::100", "fd00:10::/64")], []),
        # Two pairs share router id 51 on one segment.
        (
            [
                node("lb1", "172.29.10.100"),
                node("lb2", "172.29.10.100"),
                node("lb3", "172.29.10.200"),
                node("lb4", "172.29.10.200"),
            ],
            [
                "keepalived_virtual_router_id: 51 is used on segment 172.29.10.0/24 by lb1 with VIP 172.29.10.100 "
                "and by lb3 with VIP 172.29.10.200. Nodes with one router id on one L2 segment are one VRRP "
                "instance and must share one VIP. Give each LB pair a distinct router id (e.g. "
                "keepalived_virtual_router_id: 52 for the group of lb3), or the same keepalived_vip if they are "
                "one group."
            ],
        ),
        # One group with a mistyped VIP; the suggestion skips ids already in use on the segment.
        (
            [
                node("lb1", "172.29.10.100", virtual_router_id=1),
                node("lb2", "172.29.10.101", virtual_router_id=1),
                node("lb3", "172.29.10.200", virtual_router_id=2),
            ],
            [
                "by lb1 with VIP 172.29.10.100 and by lb2 with VIP 172.29.10.101",
                "(e.g. keepalived_virtual_router_id: 3 for the group of lb2)",
            ],
        ),
        # Nodes whose VIP check failed (no segment) or whose router id is not a number are left out.
        (
            [
                node("lb1", "172.29.10.100"),
                node("lb2", "10.9.9.9", segment=""),
                node("lb3", "x", virtual_router_id="x"),
            ],
            [],
        ),
    ],
)
def test_router_id_errors(nodes, expected):
    errors = preflight.router_id_errors(nodes)
    if not expected:
        assert errors == []
        return
    assert len(errors) == 1, errors
    for text in expected:
        assert text in errors[0]


def test_router_id_errors_three_vips_get_distinct_suggestions():
    nodes = [node("lb1", "172.29.10.100"), node("lb3", "172.29.10.200"), node("lb5", "172.29.10.250")]
    errors = preflight.router_id_errors(nodes)
    assert [e.split("(e.g. ")[1].split(")")[0] for e in errors] == [
        "keepalived_virtual_router_id: 52 for the group of lb3",
        "keepalived_virtual_router_id: 53 for the group of lb5",
    ]
    assert all("by lb1 with VIP 172.29.10.100" in e for e in errors)


def test_priorities_clash_names_both_hosts():
    nodes = [
        {"host": "lb1", "virtual_router_id": "51", "priority": "100"},  # hostvars give strings
        {"host": "lb2", "virtual_router_id": 51, "priority": 100},
    ]
    (error,) = preflight.priority_errors(nodes)
    assert error.startswith("keepalived_priority: lb1 and lb2 both have priority 100 in VRRP instance 51")
    assert "distinct priority" in error


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
        (
            {"version": 2, "advert_int": 1, "vip": "fd00:10::100"},
            "keepalived_vip: fd00:10::100 on lb1 is an IPv6 address, but keepalived_vrrp_version is 2 and VRRPv2 "
            "carries IPv4 addresses only (RFC 3768). Set keepalived_vrrp_version: 3.",
        ),
        (
            {"version": "2", "advert_int": 1, "vip": "fd00:10::100", "auth_pass": "pw"},
            "3 and remove keepalived_auth_pass",
        ),
        (
            {"priority": "abc"},
            "keepalived_priority: 'abc' on lb1 must be a number. Set it to a whole number in 1-254, e.g. 150 on "
            "the preferred MASTER and 100 on the BACKUP.",
        ),
        ({"priority": "150.5"}, "keepalived_priority: '150.5' on lb1 must be a whole number."),
        ({"priority": True}, "keepalived_priority: True on lb1 must be a number."),
        ({"priority": None}, "keepalived_priority: None on lb1 must be a number."),
        ({"priority": "nan"}, "keepalived_priority: 'nan' on lb1 must be a number."),
        (
            {"virtual_router_id": "abc"},
            "keepalived_virtual_router_id: 'abc' on lb1 must be a number. Set it to a whole number in 1-255",
        ),
        ({"virtual_router_id": "300"}, "keepalived_virtual_router_id: 300 on lb1 is outside 1-255."),
        (
            {"advert_int": "abc"},
            "keepalived_advert_int: 'abc' on lb1 must be a number. Set it to the seconds between adverts, e.g. 1.",
        ),
        ({"advert_int": []}, "keepalived_advert_int: [] on lb1 must be a number."),
        ({"version": 4}, "keepalived_vrrp_version: 4 on lb1 is not a VRRP version keepalived speaks. Set it to 3"),
        ({"version": "abc"}, "keepalived_vrrp_version: 'abc' on lb1 is not a VRRP version"),
        (
            {"realtime_priority": 100},
            "keepalived_realtime_priority: 100 on lb1 is outside 0-99. Set it to a real-time priority in 1-99 "
            "(e.g. 50), or 0 for the normal scheduler.",
        ),
        ({"realtime_priority": -1}, "keepalived_realtime_priority: -1 on lb1 is outside 0-99."),
        ({"realtime_priority": "high"}, "keepalived_realtime_priority: 'high' on lb1 must be a number."),
        ({"realtime_priority": 2.5}, "keepalived_realtime_priority: 2.5 on lb1 must be a whole number."),
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
    assert preflight.vrrp_errors("lb1", 3, 1.0, 150, 51, "", "fd00:10::100") == []
    assert preflight.vrrp_errors("lb1", 3, 0.05, 150, 51, "", "", "50") == []
    assert preflight.vrrp_errors("lb1", 2, 1, 150, 51, "", "172.29.10.100") == []
    assert preflight.vrrp_errors("lb1", 2, 1, 150, 51, "", "not-an-ip") == []  # vip_errors names that one


@pytest.mark.parametrize(
    ("priority", "virtual_router_id", "advert_int"),
    [("150", "51", "0.1"), (" 150 ", "51", ".1"), ("150.0", 51.0, 0.1), (150, 51, "1e-1")],
)
def test_vrrp_numeric_strings_are_numbers(priority, virtual_router_id, advert_int):
    assert preflight.vrrp_errors("lb1", "3", advert_int, priority, virtual_router_id) == []


def test_vrrp_not_a_number_is_never_out_of_range():
    errors = preflight.vrrp_errors("lb1", 3, "abc", "abc", "abc")
    assert len(errors) == 3, errors
    assert all("must be a number" in e and "outside" not in e for e in errors)


SOUND_SETTINGS = {
    "instance_name": "halb_vip",
    "unicast_peers": ["172.29.10.12", "fd00:10::12"],
    "unicast_src_ip": "172.29.10.11",
    "track_units": ["haproxy", "nginx@shop.service", "halb-response-agent.service"],
    "track_urls": ["http://127.0.0.1:8901/halb-health", "https://[::1]:8443/ready", "http://lb1.example.com/"],
    "script_user": "keepalived_script",
    "auth_pass": "",
}


def setting_errors(**changed):
    return preflight.setting_errors("lb1", **dict(SOUND_SETTINGS, **changed))


def test_sound_keepalived_settings_pass():
    assert setting_errors() == []
    sparse = {"unicast_peers": [], "unicast_src_ip": "", "track_units": [], "track_urls": [], "auth_pass": "s3cr3t"}
    assert setting_errors(**sparse) == []


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"instance_name": "vip\n}\nvrrp_instance evil {"},
            "keepalived_instance_name: 'vip\\n}\\nvrrp_instance evil {' on lb1 is not a name keepalived.conf can take.",
        ),
        ({"instance_name": "halb_vip\n"}, "keepalived_instance_name: 'halb_vip\\n' on lb1 is not a name"),
        (
            {"unicast_peers": ["172.29.10.12", "172.29.10.13 }"]},
            "keepalived_unicast_peers[1]: '172.29.10.13 }' on lb1 is not an IP address.",
        ),
        ({"unicast_peers": ["fe80::1%eth0"]}, "keepalived_unicast_peers[0]: 'fe80::1%eth0' on lb1 is not an IP"),
        ({"unicast_src_ip": "lb1"}, "keepalived_unicast_src_ip: 'lb1' on lb1 is not an IP address."),
        ({"track_units": ["haproxy; reboot"]}, "keepalived_track_units[0]: 'haproxy; reboot' on lb1 is not a systemd"),
        ({"track_units": ["haproxy\n"]}, "keepalived_track_units[0]: 'haproxy\\n' on lb1 is not a systemd unit name"),
        (
            {"track_urls": ['http://127.0.0.1:8901/x" \n}']},
            "keepalived_track_urls[0]: 'http://127.0.0.1:8901/x\" \\n}' on lb1 has a path with characters a script "
            "line cannot take",
        ),
        ({"track_urls": ["ftp://127.0.0.1/"]}, "keepalived_track_urls[0]: 'ftp://127.0.0.1/' on lb1 is not an http(s)"),
        ({"track_urls": ["http://127.0.0.1:99999/"]}, "has port 99999, outside 1-65535"),
        ({"track_urls": ["http://[::g]:80/"]}, "has [::g], which is not an IPv6 address"),
        ({"track_urls": ['http://[fe80::1%x" }]/']}, "which is not an IPv6 address"),
        ({"track_urls": ["http://-bad-/"]}, "has host -bad-, which is neither an IP address nor a DNS name"),
        ({"track_urls": ["http://127.0.0.1/a?b"]}, "has a path with characters a script line cannot take"),
        ({"script_user": "root; rm"}, "keepalived_script_user: 'root; rm' on lb1 is not a user name."),
        (
            {"auth_pass": "pa ss#"},
            "keepalived_auth_pass: on lb1 it has characters keepalived.conf cannot take (whitespace, quotes, '#', "
            "'!', '{', '}'). Use letters, digits and . _ ~ @ % ^ * + = , : / - only.",
        ),
        ({"metrics_dir": "/run/halb metrics"}, "keepalived_metrics_dir: "),
        ({"metrics_dir": "run/halb\n"}, "keepalived_metrics_dir: "),
    ],
)
def test_keepalived_settings_that_would_inject_are_named(settings, expected):
    (error,) = setting_errors(**settings)
    assert expected in error, error
    assert "pa ss#" not in error  # a password is never echoed


def test_a_vip_with_a_zone_index_is_not_an_address():
    """ipaddress would take 'fe80::5%lo\n}' whole; it must never reach keepalived.conf."""
    facts = {"lo": {"ipv6": [{"address": "fe80::1", "prefix": "64"}]}, "interfaces": ["lo"]}
    (error,) = preflight.vip_errors("lb1", "fe80::5%lo\n}", "lo", facts)
    assert error.startswith("keepalived_vip: 'fe80::5%lo\\n}' on lb1 is not an IP address."), error
